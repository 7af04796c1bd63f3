// The send loop against in-memory ports: the built-in guest answers what is sent and --expect
// sees it; a full device holds the schedule back and loses nothing; a refused frame is counted
// under its errno; a vnet header goes before every frame on a port that has one; and every frame
// planned or read back is accounted for.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { constants, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test, vi } from 'vitest';
import { describe as describeFrame } from '../../../src/frame/describe.js';
import { parseMac } from '../../../src/mac.js';
import { GuestPort } from '../../../src/port/guest.js';
import { MemoryPort } from '../../../src/port/memory.js';
import { openCaptureFile } from '../../../src/send/capture-file.js';
import { frameBytes, readFrameSpec } from '../../../src/send/frame-spec.js';
import { readMatch } from '../../../src/send/match.js';
import { runSend, type SendEvents } from '../../../src/send/sender.js';

const GUEST_MAC = parseMac('02:00:00:00:00:02')!;
const ME = parseMac('02:00:00:00:00:01')!;
const never = new Promise<void>(() => {});

function recorder() {
  const lines: string[] = [];
  const events: SendEvents = {
    sent: (b, i) => lines.push(`sent ${i} ${describeFrame(b, 0, b.length)}`),
    refused: (_b, i, reason) => lines.push(`refused ${i} ${reason}`),
    matched: (f) => lines.push(`matched ${describeFrame(f.bytes, f.offset, f.length)}`),
  };
  return { lines, events };
}

const udp = (dport: number) =>
  frameBytes(
    readFrameSpec(
      `eth dst=02:00:00:00:00:02 / ipv4 src=10.0.0.1 dst=10.0.0.2 / udp sport=4000 dport=${dport} / text hi`,
    ),
    ME,
  );

function guest(): GuestPort {
  return new GuestPort(
    { kind: 'guest', name: 'vm', ipv4: 0x0a000002, prefix: 24, mac: GUEST_MAC, ipv6: null, udpEcho: 7 },
    64,
  );
}

describe('send and expect against the built-in guest', () => {
  test('every echo comes back and matches; the gratuitous ARP is read and counted, not matched', async () => {
    const { lines, events } = recorder();
    const port = guest();
    const o = await runSend(port, { frames: [udp(7)], times: null, interval: 0, count: 3 }, events, {
      expect: readMatch('udp sport=7 dport=4000 / text hi'),
      timeoutS: 5,
      stop: never,
    });
    expect(o).toMatchObject({ planned: 3, sent: 3, matched: 3, received: 4, expectationMet: true, fatal: null });
    expect(o.drops).toEqual({ 'not-expected': 1 });
    expect(lines.filter((l) => l.startsWith('sent'))).toHaveLength(3);
    expect(lines.find((l) => l.startsWith('matched'))).toBe(
      'matched 02:00:00:00:00:02 > 02:00:00:00:00:01 IPv4 10.0.0.2.7 > 10.0.0.1.4000 UDP len 2',
    );
    expect(port.counts.udp).toBe(3);
  });

  test('no echo from a port nobody listens on: the wait ends at the timeout, not met', async () => {
    const { events } = recorder();
    const started = Date.now();
    const o = await runSend(guest(), { frames: [udp(9)], times: null, interval: 0, count: 1 }, events, {
      expect: readMatch('udp sport=9'),
      timeoutS: 0.3,
      stop: never,
    });
    expect(o.expectationMet).toBe(false);
    expect(o.matched).toBe(0);
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
  });

  test('with fewer matches than frames the wait runs to the timeout, and one match meets it', async () => {
    const started = Date.now();
    const o = await runSend(
      guest(),
      { frames: [udp(7), udp(9)], times: null, interval: 0, count: 1 },
      recorder().events,
      {
        expect: readMatch('udp sport=7'),
        timeoutS: 0.3,
        stop: never,
      },
    );
    expect(o).toMatchObject({ sent: 2, matched: 1, expectationMet: true });
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
  });

  test('a stop ends the run and the frames not yet sent are counted', async () => {
    const { events } = recorder();
    let stop: () => void = () => {};
    const stopped = new Promise<void>((resolve) => {
      stop = resolve;
    });
    setTimeout(stop, 150);
    const o = await runSend(guest(), { frames: [udp(7)], times: null, interval: 0.05, count: 1000 }, events, {
      expect: null,
      timeoutS: 1,
      stop: stopped,
    });
    expect(o.sent).toBeGreaterThan(0);
    expect(o.sent).toBeLessThan(1000);
    expect(o.drops['unsent-at-stop']).toBe(1000 - o.sent);
  });
});

describe('the schedule and the device', () => {
  test('a full device holds the frames back until it drains: all arrive, in order, none dropped', async () => {
    const port = new MemoryPort('m', { capacity: 2, budget: 4 });
    const frames = [0, 1, 2, 3, 4].map((i) => Uint8Array.from([...new Uint8Array(13), i]));
    const timer = setInterval(() => port.drain(1), 5);
    const { events } = recorder();
    const o = await runSend(port, { frames, times: null, interval: 0, count: 2 }, events, {
      expect: null,
      timeoutS: 1,
      stop: never,
    });
    clearInterval(timer);
    expect(o.sent).toBe(10);
    expect(port.sent.map((b) => b[13])).toEqual([0, 1, 2, 3, 4, 0, 1, 2, 3, 4]);
    expect(o.drops).toEqual({});
  });

  test('a refused frame is counted under its errno and the rest go on', async () => {
    const port = new MemoryPort('m');
    port.refuseNext(constants.errno.EINVAL);
    const { lines, events } = recorder();
    const o = await runSend(port, { frames: [udp(7)], times: null, interval: 0, count: 3 }, events, {
      expect: null,
      timeoutS: 1,
      stop: never,
    });
    expect(o.sent).toBe(2);
    expect(o.drops).toEqual({ 'tx-EINVAL': 1 });
    expect(lines[0]).toBe('refused 0 tx-EINVAL');
  });

  test('on a port with a vnet header every frame goes behind ten zero bytes', async () => {
    const port = new MemoryPort('m', { hdrLen: 10 });
    const frame = udp(7);
    await runSend(port, { frames: [frame], times: null, interval: 0, count: 2 }, recorder().events, {
      expect: null,
      timeoutS: 1,
      stop: never,
    });
    expect(port.sent).toHaveLength(2);
    for (const written of port.sent) {
      expect([...written.subarray(0, 10)]).toEqual(new Array(10).fill(0));
      expect(Buffer.from(written.subarray(10)).equals(Buffer.from(frame))).toBe(true);
    }
  });

  test('a capture replays with its own spacing, round after round', async () => {
    const port = new MemoryPort('m');
    const at: number[] = [];
    const frames = [1, 2, 3].map((i) => Uint8Array.from([...new Uint8Array(13), i]));
    await runSend(
      port,
      { frames, times: [0, 0.1, 0.2], interval: 0, count: 2 },
      {
        sent: (_b, _i, t) => at.push(t),
        refused: () => {},
        matched: () => {},
      },
      { expect: null, timeoutS: 1, stop: never },
    );
    expect(port.sent.map((b) => b[13])).toEqual([1, 2, 3, 1, 2, 3]);
    // Never early; the machine is shared, so late is allowed.
    [0, 0.1, 0.2, 0.2, 0.3, 0.4].forEach((due, i) => {
      expect(at[i]).toBeGreaterThanOrEqual(due - 0.001);
    });
  });
});

describe('a capture file is read as it is sent', () => {
  test('through a full device, behind a vnet header, round after round: in order, with its spacing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ty-send-stream-'));
    try {
      // A classic pcap of 9 frames, 10 ms apart (more than one batch of the port's budget of 4).
      const head = Buffer.alloc(24);
      head.writeUInt32LE(0xa1b2c3d4, 0);
      head.writeUInt32LE(65535, 16);
      head.writeUInt32LE(1, 20);
      const records = Array.from({ length: 9 }, (_, i) => {
        const r = Buffer.alloc(16 + 14);
        r.writeUInt32LE(1_700_000_000, 0);
        r.writeUInt32LE(i * 10_000, 4);
        r.writeUInt32LE(14, 8);
        r.writeUInt32LE(14, 12);
        r[16 + 13] = i;
        return r;
      });
      const path = join(dir, 'nine.pcap');
      writeFileSync(path, Buffer.concat([head, ...records]));
      const capture = openCaptureFile(path);
      const port = new MemoryPort('m', { capacity: 2, budget: 4, hdrLen: 10 });
      const timer = setInterval(() => port.drain(1), 2);
      const at: number[] = [];
      const o = await runSend(
        port,
        { frames: capture, times: 'captured', interval: 0, count: 3 },
        { sent: (_b, _i, t) => at.push(t), refused: () => {}, matched: () => {} },
        { expect: null, timeoutS: 1, stop: never },
      );
      clearInterval(timer);
      capture.close();
      expect(o).toMatchObject({ planned: 27, sent: 27, fatal: null });
      expect(o.drops).toEqual({});
      const order = Array.from({ length: 27 }, (_, k) => k % 9);
      expect(port.sent.map((b) => b[10 + 13])).toEqual(order);
      for (const written of port.sent) expect([...written.subarray(0, 10)]).toEqual(new Array(10).fill(0));
      // The next round starts when the last frame of this one is sent: 80 ms a round.
      at.forEach((t, k) => {
        expect(t).toBeGreaterThanOrEqual(Math.floor(k / 9) * 0.08 + (k % 9) * 0.01 - 0.001);
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('a gap longer than a Node timer holds', () => {
  test('a frame 30 days after the first is waited for, not sent at once (and no timer warning)', async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.name);
    process.on('warning', onWarning);
    const port = new MemoryPort('m');
    const { lines, events } = recorder();
    const frames = [0, 1].map((i) => Uint8Array.from([...new Uint8Array(13), i]));
    let stop: () => void = () => {};
    const stopped = new Promise<void>((resolve) => {
      stop = resolve;
    });
    const run = runSend(port, { frames, times: [0, 30 * 86_400], interval: 0, count: 1 }, events, {
      expect: null,
      timeoutS: 1,
      stop: stopped,
    });
    await new Promise((r) => setTimeout(r, 300));
    stop();
    const o = await run;
    process.off('warning', onWarning);
    expect(o).toMatchObject({ planned: 2, sent: 1 });
    expect(lines).toHaveLength(1);
    expect(warnings).not.toContain('TimeoutOverflowWarning');
  });

  test('on a faked clock: the frame 30 days on goes out once the gap has passed, not before', async () => {
    // Node's own timers and clock, faked: 30 days pass as the test says, and every timer the
    // sender sets is seen (one above 2^31-1 ms would fire at once, with a TimeoutOverflowWarning).
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setImmediate', 'clearImmediate', 'hrtime', 'Date'] });
    const timers = vi.spyOn(globalThis, 'setTimeout');
    try {
      const port = new MemoryPort('m');
      const sentAt: [number, number][] = [];
      const events: SendEvents = { sent: (_b, i, at) => sentAt.push([i, at]), refused: () => {}, matched: () => {} };
      const frames = [0, 1].map((i) => Uint8Array.from([...new Uint8Array(13), i]));
      const gapMs = 30 * 86_400_000;
      const run = runSend(port, { frames, times: [0, gapMs / 1000], interval: 0, count: 1 }, events, {
        expect: null,
        timeoutS: 1,
        stop: never,
      });
      await vi.advanceTimersByTimeAsync(0);
      expect(port.sent.map((b) => b[13])).toEqual([0]);
      // The wait is set, and no timer is longer than a Node timer holds.
      const delays = () => timers.mock.calls.map((c) => c[1] ?? 0);
      expect(delays().length).toBeGreaterThan(0);
      expect(Math.max(...delays())).toBeLessThanOrEqual(2 ** 31 - 1);
      await vi.advanceTimersByTimeAsync(gapMs - 1000);
      expect(port.sent.map((b) => b[13])).toEqual([0]);
      await vi.advanceTimersByTimeAsync(2000);
      expect(port.sent.map((b) => b[13])).toEqual([0, 1]);
      const o = await run;
      expect(o).toMatchObject({ planned: 2, sent: 2 });
      expect(o.drops).toEqual({});
      expect(sentAt[1]![0]).toBe(1);
      expect(sentAt[1]![1]).toBeGreaterThanOrEqual(gapMs / 1000);
      expect(sentAt[1]![1]).toBeLessThan(gapMs / 1000 + 1);
      expect(Math.max(...delays())).toBeLessThanOrEqual(2 ** 31 - 1);
    } finally {
      timers.mockRestore(); // back to the fake one, which useRealTimers then takes away
      vi.useRealTimers();
    }
  });
});
