// forward --queues 2 against the kernel: a macvtap opened twice and a multi-queue tap attached
// twice give two queues, each forwarded on its own thread (on the bridge path: two multi-queue
// taps). The kernel spreads the flows over
// the queues (macvtap by the flow hash, tun by its flow table and the hash); sixteen UDP flows
// each way land on both queues unless all sixteen hash alike (odds 2^-15 per direction).
// At the receivers every datagram of every flow arrives exactly once.

import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { finalReport, type Lab, labUp, port, ROOT, startTapyard } from '../helpers/lab.js';
import type { FlowCount } from '../helpers/udp-flows.js';
import { ForwardOutputSchema } from '../schema/forward-output.js';

const FLOWS_JS = join(ROOT, 'dist', 'test', 'helpers', 'udp-flows.js');
const FLOWS = 16;
const COUNT = 200;

function queueArgs(lab: Lab, ...extra: string[]): string[] {
  const e = lab.env;
  return [
    'forward',
    '--queues',
    '2',
    '--port',
    `wire=${e.WIRE_KIND}:${e.WIRE_IF}${e.WIRE_KIND === 'tap' ? ',mq' : ''}`,
    '--port',
    `guest=tap:${e.GUEST_IF},netns=${e.NS_GST},mq`,
    ...extra,
  ];
}

/**
 * A receiver of FLOWS flows in a namespace: resolves once it listens, with its counts to come
 * (wrapped: an async function returning the promise itself would wait for them).
 */
async function receiver(lab: Lab, role: 'ext' | 'gst', ip: string, basePort: number) {
  const child = spawn(
    'ip',
    [
      'netns',
      'exec',
      lab.ns(role),
      'node',
      FLOWS_JS,
      'serve',
      ip,
      String(basePort),
      String(FLOWS),
      String(COUNT),
      '3000',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  let err = '';
  child.stderr.on('data', (d: Buffer) => {
    err += d.toString();
  });
  const counts = new Promise<FlowCount[]>((resolve, reject) =>
    child.on('close', (code) => {
      const last = out.trim().split('\n').pop() ?? '';
      if (code === 0 && last.startsWith('[')) resolve(JSON.parse(last) as FlowCount[]);
      else reject(new Error(`udp-flows serve exited ${code}: ${err}`));
    }),
  );
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('listening')) resolve();
    });
    child.once('close', () => reject(new Error(`udp-flows serve ended before listening: ${err}`)));
  });
  return { counts };
}

/** Sixteen UDP flows each way through tapyard --queues 2: the test both paths share. */
async function flowsCross(lab: Lab): Promise<void> {
  const e = lab.env;
  const t = startTapyard(lab, queueArgs(lab, '--json'));
  await t.waitFor(/forwarding .* on 2 queues/);
  // Neighbours first, so that the flows' first datagrams do not wait for ARP.
  lab.run('ext', 'ping', '-c', '2', '-i', '0.2', '-W', '2', e.GUEST_IP!);

  const toGuest = await receiver(lab, 'gst', e.GUEST_IP!, 6000);
  lab.run('ext', 'node', FLOWS_JS, 'send', e.GUEST_IP!, '6000', String(FLOWS), String(COUNT));
  const toExt = await receiver(lab, 'ext', e.EXT_IP!, 7000);
  lab.run('gst', 'node', FLOWS_JS, 'send', e.EXT_IP!, '7000', String(FLOWS), String(COUNT));
  const [atGuest, atExt] = await Promise.all([toGuest.counts, toExt.counts]);
  for (const flows of [atGuest, atExt]) {
    expect(flows).toHaveLength(FLOWS);
    for (const f of flows) expect(f).toEqual({ port: f.port, distinct: COUNT, duplicates: 0 });
  }

  const stop = await t.stop();
  expect(t.errors()).toBe('');
  expect(stop.code).toBe(0);
  const r = ForwardOutputSchema.parse(finalReport(t));
  expect(r.balanced).toBe(true);
  expect(r.ledger.drops).toBe(0);
  expect(r.queues).toHaveLength(2);
  for (const q of r.queues!) {
    expect(q.balanced).toBe(true);
    expect(q.ledger.rx + q.ledger.clones).toBe(q.ledger.tx + q.ledger.drops + q.ledger.queued);
    // Both queues carried frames in both directions: the kernel spread the flows.
    const [wire, guest] = q.ports;
    expect(wire!.rxFrames).toBeGreaterThan(0);
    expect(guest!.rxFrames).toBeGreaterThan(0);
    // A cross-connect on one queue: what one side read, the other side of the same queue wrote.
    expect(guest!.txFrames).toBe(wire!.rxFrames);
    expect(wire!.txFrames).toBe(guest!.rxFrames);
  }
  // The rows are the queues' sums, and every datagram (plus ARP and ping) went through.
  const wire = port(r, 'wire');
  const guest = port(r, 'guest');
  expect(wire.rxFrames).toBe(r.queues!.reduce((n, q) => n + q.ports[0]!.rxFrames, 0));
  expect(wire.rxFrames).toBeGreaterThanOrEqual(FLOWS * COUNT);
  expect(guest.rxFrames).toBeGreaterThanOrEqual(FLOWS * COUNT);
  expect(r.ledger.rx).toBe(wire.rxFrames + guest.rxFrames);
}

describe('forward --queues 2 on a macvtap and a multi-queue tap', () => {
  let lab: Lab;
  beforeAll(async () => {
    lab = await labUp('macvtap', '--mq');
  });
  afterAll(() => lab?.down());

  test('flows both ways cross on both queues; nothing lost or duplicated; every ledger balances', () =>
    flowsCross(lab));

  test('a tap that is not multi-queue: one sentence and status 1, no stack trace', async () => {
    const plain = await labUp('macvtap');
    try {
      const t = startTapyard(plain, queueArgs(plain));
      const done = await t.exited();
      expect(done.code).toBe(1);
      const lines = t.stderr().trim().split('\n');
      expect(lines.at(-1)).toMatch(/^tapyard: queue \d: port guest: the tap \S+ is not multi-queue: drop mq=on$/);
      expect(t.stderr()).not.toMatch(/^\s+at /m);
    } finally {
      plain.down();
    }
  });

  test('the macvtap deleted while forwarding ends every queue: one sentence, status 1, final counters', async () => {
    const t = startTapyard(lab, queueArgs(lab, '--json'));
    await t.waitFor(/forwarding .* on 2 queues/);
    lab.run('hv', 'ip', 'link', 'del', lab.env.WIRE_IF!);
    const done = await t.exited();
    expect(done.code).toBe(1);
    expect(t.stderr().trim().split('\n').at(-1)).toMatch(/^tapyard: queue \d: port wire: /);
    expect(t.stderr()).not.toMatch(/^\s+at /m);
    const r = ForwardOutputSchema.parse(finalReport(t));
    expect(r.type).toBe('final');
    expect(r.queues).toHaveLength(2);
    expect(r.balanced).toBe(true);
  });
});

describe('forward --queues 2 on the bridge path: two multi-queue taps', () => {
  let lab: Lab;
  beforeAll(async () => {
    lab = await labUp('bridge', '--mq');
  });
  afterAll(() => lab?.down());

  test('flows both ways cross on both queues; nothing lost or duplicated; every ledger balances', () =>
    flowsCross(lab));
});
