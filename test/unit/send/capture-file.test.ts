// Replaying a capture: pcapng as tapyard's own --capture writes it, classic pcap in both byte
// orders and both resolutions, and the files that must not be replayed, each in one sentence.

import { appendFileSync, mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { PcapngWriter } from '../../../src/capture/pcapng-writer.js';
import { MAX_BLOCK, openCaptureFile, readCaptureFile } from '../../../src/send/capture-file.js';

const dir = mkdtempSync(join(tmpdir(), 'ty-send-unit-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const frameOf = (n: number, length = 60) => Uint8Array.from({ length }, (_, i) => (i === 0 ? n : (i * 7) & 0xff));

/** A classic pcap: little- or big-endian, micro- or nanosecond stamps. */
function pcap(frames: Array<[Uint8Array, number]>, le: boolean, nanos: boolean, link = 1, cut = 0): Buffer {
  const w32 = (b: Buffer, v: number, at: number) => (le ? b.writeUInt32LE(v, at) : b.writeUInt32BE(v, at));
  const head = Buffer.alloc(24);
  w32(head, nanos ? 0xa1b23c4d : 0xa1b2c3d4, 0);
  (le ? head.writeUInt16LE.bind(head) : head.writeUInt16BE.bind(head))(2, 4);
  (le ? head.writeUInt16LE.bind(head) : head.writeUInt16BE.bind(head))(4, 6);
  w32(head, 65535, 16);
  w32(head, link, 20);
  const records = frames.map(([bytes, seconds]) => {
    const r = Buffer.alloc(16);
    w32(r, 1_700_000_000 + Math.floor(seconds), 0);
    const frac = seconds - Math.floor(seconds);
    w32(r, Math.round(frac * (nanos ? 1e9 : 1e6)), 4);
    w32(r, bytes.length - cut, 8);
    w32(r, bytes.length, 12);
    return Buffer.concat([r, bytes.subarray(0, bytes.length - cut)]);
  });
  return Buffer.concat([head, ...records]);
}

function file(name: string, data: Uint8Array): string {
  const path = join(dir, name);
  writeFileSync(path, data);
  return path;
}

describe('frames and their spacing come back from every format', () => {
  test('pcapng written by tapyard --capture', () => {
    const path = join(dir, 'run.pcapng');
    const w = new PcapngWriter(path, ['a', 'b']);
    const start = 1_700_000_000_000_000;
    for (let i = 0; i < 5; i++) {
      const f = frameOf(i, 60 + i);
      w.frame(i % 2, start + i * 25_000, f, 0, f.length);
    }
    w.close();
    const r = readCaptureFile(path);
    expect(r.format).toBe('pcapng');
    expect(r.frames.map((f) => [f[0], f.length])).toEqual([0, 1, 2, 3, 4].map((i) => [i, 60 + i]));
    r.times.forEach((t, i) => {
      expect(t).toBeCloseTo(i * 0.025, 6);
    });
  });

  test.each([
    [true, false],
    [false, false],
    [true, true],
    [false, true],
  ])('pcap, little-endian %s, nanoseconds %s', (le, nanos) => {
    const path = file(
      `c-${le}-${nanos}.pcap`,
      pcap(
        [
          [frameOf(1), 0.5],
          [frameOf(2), 0.75],
          [frameOf(3), 0.7],
        ],
        le,
        nanos,
      ),
    );
    const r = readCaptureFile(path);
    expect(r.format).toBe('pcap');
    expect(r.frames.map((f) => f[0])).toEqual([1, 2, 3]);
    // A frame stamped before the one ahead of it goes right after it.
    expect(r.times[0]).toBe(0);
    expect(r.times[1]).toBeCloseTo(0.25, 6);
    expect(r.times[2]).toBeCloseTo(0.25, 6);
  });
});

describe('a file that must not be replayed is refused in one sentence', () => {
  test.each([
    ['missing', () => join(dir, 'nope.pcap'), /^cannot read --pcap '.*nope.pcap': ENOENT$/],
    [
      'not a capture',
      () => file('x.txt', Buffer.from('hello world')),
      /: neither pcap nor pcapng \(it begins with 68656c6c\)$/,
    ],
    ['no frames', () => file('empty.pcap', pcap([], true, false)), /: holds no frames$/],
    [
      'not Ethernet',
      () => file('raw.pcap', pcap([[frameOf(1), 0]], true, false, 101)),
      /: its link type is 101, not Ethernet \(1\)$/,
    ],
    [
      'a frame cut by the snaplen',
      () => file('cut.pcap', pcap([[frameOf(1), 0]], true, false, 1, 10)),
      /: frame 1 was captured cut short \(50 of 60 bytes\); only whole frames are sent$/,
    ],
    [
      'cut off at the end',
      () => file('short.pcap', pcap([[frameOf(1), 0]], true, false).subarray(0, 70)),
      /: frame 1 is cut short by the end of the file$/,
    ],
    [
      'an empty record',
      () => file('zero.pcap', pcap([[new Uint8Array(0), 0]], true, false)),
      /: frame 1 is empty \(0 bytes\): there is nothing to send$/,
    ],
    [
      'a device',
      () => '/dev/zero',
      /^--pcap '\/dev\/zero': is not a regular file \(a character device\); send replays/,
    ],
    ['a directory', () => dir, /: is not a regular file \(a directory\); send replays a capture file$/],
  ])('%s', (_name, make, message) => {
    expect(() => readCaptureFile(make())).toThrow(message);
  });

  test('a record longer than the bound is refused, not read', () => {
    const path = join(dir, 'long-record.pcap');
    const data = pcap([[frameOf(1), 0]], true, false);
    data.writeUInt32LE(MAX_BLOCK + 1, 24 + 8);
    writeFileSync(path, data);
    truncateSync(path, MAX_BLOCK * 2);
    expect(() => readCaptureFile(path)).toThrow(
      /: frame 1 is 16777217 bytes long; send holds at most 16777216 at once \(is the file damaged\?\)$/,
    );
  });
});

describe('a capture is streamed, never held whole', () => {
  test('a 96 MiB file is checked and replayed twice holding a few MiB at most', () => {
    const path = join(dir, 'big.pcap');
    // 1000 frames of 1514 bytes (1.5 MB), written 66 times over.
    const block = pcap(
      Array.from({ length: 1000 }, (_, i): [Uint8Array, number] => [frameOf(i & 0xff, 1514), i / 1000]),
      true,
      false,
    );
    writeFileSync(path, block);
    const records = block.subarray(24);
    for (let i = 1; i < 66; i++) appendFileSync(path, records);
    const fileBytes = 24 + 66 * records.length;
    expect(fileBytes).toBeGreaterThan(96 * 1024 * 1024);
    const before = process.memoryUsage().arrayBuffers;
    let peak = 0;
    const stream = openCaptureFile(path);
    try {
      expect(stream.count).toBe(66_000);
      expect(stream.longest).toEqual({ length: 1514, n: 1 });
      for (let round = 0; round < 2; round++) {
        let n = 0;
        let last = -1;
        for (const f of stream.replay()) {
          expect(f.time).toBeGreaterThanOrEqual(last);
          last = f.time;
          if (n++ % 4000 === 0) peak = Math.max(peak, process.memoryUsage().arrayBuffers - before);
        }
        expect(n).toBe(66_000);
      }
    } finally {
      stream.close();
    }
    // Garbage not yet collected counts too: the bound is well under the file, not exact.
    expect(peak).toBeLessThan(fileBytes / 4);
  });
});
