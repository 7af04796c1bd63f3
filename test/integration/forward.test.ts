// tapyard forward in both labs: a macvtap on the "eth0", and a tap on a Linux bridge with it.
// The kernel is the oracle: ping and TCP must work through tapyard, and the kernel's own device
// counters must agree with tapyard's.

import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { parseMac } from '../../src/mac.js';
import { markedFrames, sendFrames } from '../helpers/frames.js';
import { CLI, finalReport, forwardArgs, type Lab, labUp, port, ROOT, startTapyard } from '../helpers/lab.js';
import { ForwardOutputSchema } from '../schema/forward-output.js';

const STREAM = join(ROOT, 'dist', 'test', 'helpers', 'stream.js');
const FOREIGN_MAC = 0x02_de_ad_be_ef_01;

/** The frames in a pcapng file tapyard wrote: the port each arrived on, and its ethertype. */
function capturedFrames(file: string): { port: number; etherType: number }[] {
  const bytes = readFileSync(file);
  const frames: { port: number; etherType: number }[] = [];
  for (let at = 0; at < bytes.length; at += bytes.readUInt32LE(at + 4)) {
    // Enhanced Packet Block: type 6; interface id at +8; packet data from +28.
    if (bytes.readUInt32LE(at) === 6)
      frames.push({ port: bytes.readUInt32LE(at + 8), etherType: bytes.readUInt16BE(at + 28 + 12) });
  }
  return frames;
}

/** Run a process inside a namespace and collect its stdout. */
function inNs(ns: string, cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('ip', ['netns', 'exec', ns, cmd, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
    });
    child.on('close', (code) =>
      code === 0 ? resolve(out) : reject(new Error(`${cmd} ${args.join(' ')} exited ${code}: ${err}`)),
    );
  });
}

describe.each(['macvtap', 'bridge'])('tapyard forward on the %s path', (kind) => {
  let lab: Lab;
  const wireRole = 'hv' as const;

  beforeAll(async () => {
    lab = await labUp(kind);
  });
  afterAll(() => lab?.down());

  test('ping crosses tapyard both ways and every frame is counted, as the kernel counts it', async () => {
    const e = lab.env;
    const before = {
      wireRx: lab.stat(wireRole, e.WIRE_IF!, 'rx_packets'),
      wireTx: lab.stat(wireRole, e.WIRE_IF!, 'tx_packets'),
      guestRx: lab.stat('gst', e.GUEST_IF!, 'rx_packets'),
      guestTx: lab.stat('gst', e.GUEST_IF!, 'tx_packets'),
    };
    const t = startTapyard(lab, forwardArgs(lab, '--json'));
    await t.waitFor(/forwarding/);
    const out = lab.run('ext', 'ping', '-c', '5', '-i', '0.2', '-W', '2', e.GUEST_IP!);
    expect(out).toMatch(/5 received/);
    const back = lab.run('gst', 'ping', '-c', '3', '-i', '0.2', '-W', '2', e.EXT_IP!);
    expect(back).toMatch(/3 received/);
    const stop = await t.stop();
    expect(stop.code).toBe(0);

    const r = finalReport(t);
    const wire = port(r, 'wire');
    const guest = port(r, 'guest');
    expect(r.balanced).toBe(true);
    // Nothing was dropped, so every frame read on one side was written on the other.
    expect(r.ledger.drops).toBe(0);
    expect(wire.rxFrames).toBe(guest.txFrames);
    expect(guest.rxFrames).toBe(wire.txFrames);
    // 8 echo requests and 8 replies at least, plus ARP.
    expect(wire.rxFrames).toBeGreaterThanOrEqual(8);
    expect(guest.rxFrames).toBeGreaterThanOrEqual(8);
    // The kernel saw the same frames: what the guest's tap sent is what tapyard read from it, what
    // tapyard wrote is what the tap received; the same for the wire device.
    expect(lab.stat('gst', e.GUEST_IF!, 'tx_packets') - before.guestTx).toBe(guest.rxFrames);
    expect(lab.stat('gst', e.GUEST_IF!, 'rx_packets') - before.guestRx).toBe(guest.txFrames);
    expect(lab.stat(wireRole, e.WIRE_IF!, 'tx_packets') - before.wireTx).toBe(
      kind === 'macvtap' ? wire.txFrames : wire.rxFrames,
    );
    expect(lab.stat(wireRole, e.WIRE_IF!, 'rx_packets') - before.wireRx).toBe(
      kind === 'macvtap' ? wire.rxFrames : wire.txFrames,
    );
  });

  test('with --busy-poll, ping crosses and the ledger balances', async () => {
    const t = startTapyard(lab, forwardArgs(lab, '--json', '--busy-poll'));
    await t.waitFor(/forwarding/);
    expect(lab.run('ext', 'ping', '-c', '3', '-i', '0.2', '-W', '2', lab.env.GUEST_IP!)).toMatch(/3 received/);
    const stop = await t.stop();
    expect(stop.code).toBe(0);
    const r = finalReport(t);
    expect(r.balanced).toBe(true);
    expect(port(r, 'guest').txFrames).toBeGreaterThanOrEqual(3);
  });

  test('--capture writes every frame read to a pcapng file that tcpdump reads, one interface per port', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tapyard-capture-'));
    try {
      const file = join(dir, 'run.pcapng');
      const t = startTapyard(lab, forwardArgs(lab, '--json', '--capture', file));
      await t.waitFor(/forwarding/);
      lab.run('ext', 'ping', '-c', '3', '-i', '0.2', '-W', '2', lab.env.GUEST_IP!);
      await t.stop();
      const r = finalReport(t);
      const decoded = execFileSync('tcpdump', ['-r', file, '-n', '-e'], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
      })
        .trim()
        .split('\n');
      expect(decoded).toHaveLength(r.ledger.rx);
      expect(decoded.filter((l) => /ICMP echo request/.test(l))).toHaveLength(3);
      expect(decoded.filter((l) => /ICMP echo reply/.test(l))).toHaveLength(3);
      // Each Enhanced Packet Block names the port it arrived on: requests on wire, replies on guest.
      const frames = capturedFrames(file);
      expect([0, 1].map((p) => frames.filter((f) => f.port === p).length)).toEqual([
        port(r, 'wire').rxFrames,
        port(r, 'guest').rxFrames,
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('--stats --json prints objects that follow the published schema, per second and final', async () => {
    const t = startTapyard(lab, forwardArgs(lab, '--json', '--stats'));
    await t.waitFor(/forwarding/);
    lab.run('ext', 'ping', '-c', '12', '-i', '0.2', '-W', '2', lab.env.GUEST_IP!);
    await t.stop();
    const objects = t
      .stdout()
      .trim()
      .split('\n')
      .map((line) => ForwardOutputSchema.parse(JSON.parse(line)));
    expect(objects.filter((o) => o.type === 'interval').length).toBeGreaterThanOrEqual(2);
    expect(objects.at(-1)!.type).toBe('final');
    expect(objects.some((o) => o.type === 'interval' && o.ports[0]!.rate.rxPps > 0)).toBe(true);
  });

  test('--capture - writes the pcapng to standard output (a pipe into tcpdump), the counters to stderr', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tapyard-capture-'));
    try {
      const args = forwardArgs(lab, '--json', '--duration', '3', '--capture', '-').map((a) => `'${a}'`);
      const pipeline = `node '${CLI}' ${args.join(' ')} 2>'${dir}/err' | tcpdump -r - -n -e >'${dir}/out' 2>/dev/null`;
      const run = inNs(lab.ns('hv'), 'bash', ['-c', pipeline]);
      await new Promise((r) => setTimeout(r, 1000));
      lab.run('ext', 'ping', '-c', '3', '-i', '0.2', '-W', '2', lab.env.GUEST_IP!);
      await run;
      const decoded = readFileSync(join(dir, 'out'), 'utf8').trim().split('\n');
      expect(decoded.filter((l) => /ICMP echo request/.test(l))).toHaveLength(3);
      expect(decoded.filter((l) => /ICMP echo reply/.test(l))).toHaveLength(3);
      const report = JSON.parse(readFileSync(join(dir, 'err'), 'utf8').trim().split('\n').at(-1)!);
      expect(report.type).toBe('final');
      expect(report.ledger.rx).toBe(decoded.length);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a 100 MB TCP transfer arrives intact', async () => {
    const e = lab.env;
    const t = startTapyard(lab, forwardArgs(lab, '--json'));
    await t.waitFor(/forwarding/);
    const server = inNs(lab.ns('gst'), 'node', [STREAM, 'serve', '5201']);
    await new Promise((r) => setTimeout(r, 300));
    const sent = await inNs(lab.ns('ext'), 'node', [STREAM, 'send', e.GUEST_IP!, '5201', String(100 * 1024 * 1024)]);
    const received = await server;
    expect(received.trim().split('\n').pop()).toBe(sent.trim());
    expect(sent).toMatch(/^104857600 [0-9a-f]{64}/);
    await t.stop();
    const r = finalReport(t);
    expect(r.balanced).toBe(true);
    expect(r.ledger.drops).toBe(0);
    expect(port(r, 'wire').rxBytes).toBeGreaterThan(100 * 1024 * 1024);
  });

  test('frames to a foreign MAC reach tapyard only through the bridge', async () => {
    const e = lab.env;
    const stat = () => ({
      lowerRx: lab.stat('hv', e.LOWER_IF!, 'rx_packets'),
      wireTxDropped: lab.stat('hv', e.WIRE_IF!, 'tx_dropped'),
    });
    const dir = mkdtempSync(join(tmpdir(), 'tapyard-flood-'));
    const file = join(dir, 'flood.pcapng');
    const t = startTapyard(lab, forwardArgs(lab, '--json', '--capture', file));
    await t.waitFor(/forwarding/);
    const before = stat();
    const count = 2000;
    await sendFrames(lab.ns('ext'), e.EXT_IF!, markedFrames(FOREIGN_MAC, parseMac(e.EXT_MAC!)!, count), count, 60);
    await new Promise((r) => setTimeout(r, 300));
    await t.stop();
    const after = stat();
    const r = finalReport(t);
    const wire = port(r, 'wire');
    // The marked frames tapyard read on its wire port, from its own capture: a bridge also sends
    // a frame of its own now and then (an IGMPv3 report for 224.0.0.106 after it comes up).
    const flood = capturedFrames(file).filter((f) => f.port === 0 && f.etherType === 0x88b5).length;
    rmSync(dir, { recursive: true, force: true });
    expect(r.balanced).toBe(true);
    // Every frame reached the hypervisor's "eth0".
    expect(after.lowerRx - before.lowerRx).toBe(count);
    if (kind === 'macvtap') {
      // macvlan's hash lookup misses: the frames go to the host stack, never to the macvtap.
      expect(wire.rxFrames).toBe(0);
    } else {
      // The bridge has not learned the MAC, so it floods every frame to the tap. A burst is
      // faster than any reader: the tap's queue (500 frames) drops what does not fit, and the
      // kernel counts that as tx_dropped. Everything the tap did pass, tapyard read, counted
      // and handed to the guest, whose kernel drops it as not its own.
      expect(flood + (after.wireTxDropped - before.wireTxDropped)).toBe(count);
      expect(flood).toBeGreaterThan(0);
      expect(port(r, 'guest').txFrames).toBe(wire.rxFrames);
    }
  });
});

describe("the bridge path with the guest NIC's receive filter on (rx-filter=on)", () => {
  let lab: Lab;
  beforeAll(async () => {
    lab = await labUp('bridge');
  });
  afterAll(() => lab?.down());

  test('tapyard drops the flood before the guest and says why', async () => {
    const e = lab.env;
    const t = startTapyard(
      lab,
      forwardArgs(lab, '--json').map((a) => (a.startsWith('guest=') ? `${a},rx-filter=on` : a)),
    );
    await t.waitFor(/forwarding/);
    const before = lab.stat('gst', e.GUEST_IF!, 'rx_packets');
    const count = 300; // below the tap's queue: every frame reaches tapyard
    await sendFrames(lab.ns('ext'), e.EXT_IF!, markedFrames(FOREIGN_MAC, parseMac(e.EXT_MAC!)!, count), count, 60);
    // Known traffic still passes the filter: the guest's own MAC, and ARP broadcasts.
    expect(lab.run('ext', 'ping', '-c', '2', '-i', '0.2', '-W', '2', e.GUEST_IP!)).toMatch(/2 received/);
    await t.stop();
    const r = finalReport(t);
    const guest = port(r, 'guest');
    expect(port(r, 'wire').rxFrames).toBeGreaterThanOrEqual(count);
    expect(guest.drops['rx-filter-unicast']).toBe(count);
    // A new lab's bridge sends an IGMPv3 report (from 0.0.0.0 to 224.0.0.22) at a moment of its
    // choosing; the filter refuses that too. Nothing else.
    for (const reason of Object.keys(guest.drops)) {
      expect(['rx-filter-unicast', 'rx-filter-multicast']).toContain(reason);
    }
    // What the guest's kernel received is exactly what the filter let through.
    expect(lab.stat('gst', e.GUEST_IF!, 'rx_packets') - before).toBe(guest.txFrames);
    expect(r.balanced).toBe(true);
    // The filter went with the splice: the frames to the guest's own MAC went fd to fd in C, the
    // flood to the loop, which named every one above.
    expect(port(r, 'wire').splicedFrames).toBeGreaterThanOrEqual(2);
  });
});

describe('a multi-queue guest tap (mq=on)', () => {
  let lab: Lab;
  beforeAll(async () => {
    lab = await labUp('macvtap');
    // Replace the guest's tap with a multi-queue one: same name, MAC and address.
    const gst = lab.ns('gst');
    const e = lab.env;
    execFileSync('ip', ['-n', gst, 'link', 'del', e.GUEST_IF!]);
    execFileSync('ip', ['-n', gst, 'tuntap', 'add', 'dev', e.GUEST_IF!, 'mode', 'tap', 'multi_queue']);
    execFileSync('ip', ['-n', gst, 'link', 'set', e.GUEST_IF!, 'address', e.GUEST_MAC!, 'up']);
    execFileSync('ip', ['-n', gst, 'addr', 'add', `${e.GUEST_IP}/24`, 'dev', e.GUEST_IF!]);
  });
  afterAll(() => lab?.down());

  test('tapyard attaches one queue and ping crosses it', async () => {
    const t = startTapyard(
      lab,
      forwardArgs(lab, '--json').map((a) => (a.startsWith('guest=') ? `${a},mq=on` : a)),
    );
    await t.waitFor(/forwarding/);
    expect(lab.run('ext', 'ping', '-c', '3', '-i', '0.2', '-W', '2', lab.env.GUEST_IP!)).toMatch(/3 received/);
    expect((await t.stop()).code).toBe(0);
    const r = finalReport(t);
    expect(r.balanced).toBe(true);
    expect(port(r, 'guest').txFrames).toBeGreaterThanOrEqual(3);
  });
});
