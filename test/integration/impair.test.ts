// Impairments measured by the kernel's own tools: ping from the lab's external namespace to a
// built-in guest behind a macvtap, and iperf3 into the guest namespace's tap. The impairment is
// on one port, on the frames tapyard writes to it.

import { type ChildProcess, spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { finalReport, type Lab, labUp, port, startTapyard } from '../helpers/lab.js';
import { ForwardOutputSchema } from '../schema/forward-output.js';

let lab: Lab;
beforeAll(async () => {
  lab = await labUp('macvtap');
  // The guest answers with the macvtap's MAC; a permanent neighbour entry means no ARP at all,
  // so the frames tapyard writes to the guest are exactly ping's requests, run after run.
  const mac = lab.run('hv', 'cat', `/sys/class/net/${lab.env.WIRE_IF}/address`).trim();
  lab.run(
    'ext',
    'ip',
    'neigh',
    'replace',
    lab.env.GUEST_IP!,
    'lladdr',
    mac,
    'dev',
    lab.env.EXT_IF!,
    'nud',
    'permanent',
  );
});
afterAll(() => lab?.down());

/** tapyard between the macvtap and a built-in guest whose port has these keys. */
function guestForward(keys: string, ...extra: string[]) {
  const e = lab.env;
  return startTapyard(lab, [
    'forward',
    '--port',
    `wire=macvtap:${e.WIRE_IF}`,
    '--port',
    `vm=guest:${e.GUEST_IP}/24${keys}`,
    '--json',
    ...extra,
  ]);
}

/** ping from ext: the sequence numbers that came back, and each round trip in ms. */
function ping(count: number, interval: string): { received: Set<number>; rtts: number[] } {
  let out: string;
  try {
    out = lab.run('ext', 'ping', '-n', '-i', interval, '-c', String(count), '-W', '2', lab.env.GUEST_IP!);
  } catch (err) {
    out = String((err as { stdout?: string }).stdout ?? ''); // ping exits 1 when some were lost
  }
  const received = new Set<number>();
  const rtts: number[] = [];
  for (const m of out.matchAll(/icmp_seq=(\d+) ttl=\d+ time=([\d.]+) ms/g)) {
    received.add(Number(m[1]));
    rtts.push(Number(m[2]));
  }
  return { received, rtts };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

describe('impairments on a port, measured from the outside', () => {
  test('loss=30%,seed=1 loses 25-35 % of 2000 round trips as impair-loss, the same ones twice', async () => {
    const lost: number[][] = [];
    for (let run = 0; run < 2; run++) {
      const t = guestForward(',loss=30%,seed=1');
      let received: Set<number>;
      try {
        await t.waitFor(/tapyard: impairing the frames written to vm: loss=30%,seed=1/);
        received = ping(2000, '0.002').received;
      } finally {
        await t.stop();
      }
      const r = finalReport(t);
      ForwardOutputSchema.parse(r);
      const missing = Array.from({ length: 2000 }, (_, i) => i + 1).filter((seq) => !received.has(seq));
      expect(missing.length / 2000).toBeGreaterThanOrEqual(0.25);
      expect(missing.length / 2000).toBeLessThanOrEqual(0.35);
      // Every round trip ping missed is a request tapyard lost on purpose, and counted so.
      expect(port(r, 'vm').drops).toEqual({ 'impair-loss': missing.length });
      expect(port(r, 'vm').impair?.seed).toBe(1);
      expect(r.balanced).toBe(true);
      lost.push(missing);
    }
    expect(lost[1]).toEqual(lost[0]);
  });

  test('delay=20 raises the round trip by 20 ± 5 ms', async () => {
    const medians: number[] = [];
    for (const keys of ['', ',delay=20']) {
      const t = guestForward(keys);
      let rtts: number[];
      try {
        await t.waitFor(/forwarding/);
        rtts = ping(60, '0.05').rtts;
      } finally {
        await t.stop();
      }
      expect(rtts.length).toBeGreaterThanOrEqual(58);
      expect(finalReport(t).balanced).toBe(true);
      medians.push(median(rtts));
    }
    const raised = medians[1]! - medians[0]!;
    expect(raised).toBeGreaterThanOrEqual(15);
    expect(raised).toBeLessThanOrEqual(25);
  });

  test('rate=10 caps iperf3 into the guest near 10 Mbit/s; held frames are queued in a balanced ledger', async () => {
    const e = lab.env;
    const t = startTapyard(lab, [
      'forward',
      '--port',
      `wire=macvtap:${e.WIRE_IF}`,
      '--port',
      `guest=tap:${e.GUEST_IF},netns=${e.NS_GST},rate=10`,
      '--json',
      '--stats',
    ]);
    let server: ChildProcess | null = null;
    try {
      await t.waitFor(/forwarding/);
      server = spawn('ip', ['netns', 'exec', lab.ns('gst'), 'iperf3', '-s', '-1', '-p', '5299'], { stdio: 'ignore' });
      await new Promise((resolve) => setTimeout(resolve, 500));
      const out = lab.run('ext', 'iperf3', '-c', e.GUEST_IP!, '-p', '5299', '-t', '8', '-J');
      const mbit = (JSON.parse(out) as { end: { sum_received: { bits_per_second: number } } }).end.sum_received
        .bits_per_second;
      // Unlimited, this path carries hundreds of Mbit/s; the bucket holds it to its rate.
      expect(mbit / 1e6).toBeGreaterThan(6);
      expect(mbit / 1e6).toBeLessThan(11);
    } finally {
      server?.kill();
      await t.stop();
    }
    const lines = t
      .stdout()
      .trim()
      .split('\n')
      .map((l) => ForwardOutputSchema.parse(JSON.parse(l)));
    for (const r of lines) expect(r.balanced).toBe(true);
    // Some second caught frames waiting for tokens, as queued (and as the port's held).
    const busy = lines.filter((r) => r.type === 'interval' && r.ledger.queued > 0);
    expect(busy.length).toBeGreaterThan(0);
    for (const r of busy) expect(port(r, 'guest').impair!.held).toBe(r.ledger.queued);
    expect(lines.at(-1)!.ledger.queued).toBe(0);
  });
});
