// The loop tells the capture each frame's fate, and the writer puts it into that frame's
// Enhanced Packet Block as opt_comment: read back here block by block.

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { PcapngWriter } from '../../../src/capture/pcapng-writer.js';
import { Forwarder } from '../../../src/engine/forwarder.js';
import { emitEthernet } from '../../../src/frame/ethernet.js';
import { DEFAULT_LIMIT } from '../../../src/impair/config.js';
import { MemoryPort } from '../../../src/port/memory.js';
import { Hub } from '../../../src/switch/hub.js';

function frame(length = 64): Uint8Array {
  const bytes = new Uint8Array(length);
  emitEthernet({ dst: 0x02_00_00_00_00_02, src: 0x02_00_00_00_00_01, tags: [], etherType: 0x88b5 }, bytes, 0);
  return bytes;
}

/** Each Enhanced Packet Block: interface, captured length and comment (or null). */
function packets(file: string): { port: number; length: number; comment: string | null }[] {
  const b = readFileSync(file);
  const out: { port: number; length: number; comment: string | null }[] = [];
  for (let at = 0; at < b.length; ) {
    const type = b.readUInt32LE(at);
    const total = b.readUInt32LE(at + 4);
    expect(b.readUInt32LE(at + total - 4)).toBe(total); // both lengths agree
    if (type === 6) {
      const length = b.readUInt32LE(at + 20);
      let opt = at + 28 + ((length + 3) & ~3);
      let comment: string | null = null;
      while (opt < at + total - 4) {
        const code = b.readUInt16LE(opt);
        const len = b.readUInt16LE(opt + 2);
        if (code === 0) break;
        if (code === 1) comment = b.toString('utf8', opt + 4, opt + 4 + len);
        opt += 4 + ((len + 3) & ~3);
      }
      out.push({ port: b.readUInt32LE(at + 8), length, comment });
    }
    at += total;
  }
  return out;
}

test("every captured frame carries its fate: egresses with the switch's reasons, drops by name", async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tapyard-unit-'));
  try {
    const file = join(dir, 'fate.pcapng');
    const ports = [new MemoryPort('a'), new MemoryPort('b', { maxFrame: 100 }), new MemoryPort('c')];
    const capture = new PcapngWriter(
      file,
      ports.map((p) => p.name),
    );
    const loseAll = {
      loss: 1,
      delayMs: 0,
      jitterMs: 0,
      dup: 0,
      reorder: 0,
      corrupt: 0,
      rateMbit: null,
      limit: DEFAULT_LIMIT,
      seed: 1,
    };
    const fwd = new Forwarder(ports, new Hub(), { observer: capture, impairments: [null, null, loseAll] });
    fwd.start();
    ports[0]!.inject(frame(), frame(200), new Uint8Array(10));
    for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
    fwd.stop();
    capture.close();
    expect(packets(file)).toEqual([
      { port: 0, length: 64, comment: 'to b (hub-repeat); to c (hub-repeat) dropped: impair-loss' },
      { port: 0, length: 200, comment: 'to b (hub-repeat) dropped: oversize; to c (hub-repeat) dropped: impair-loss' },
      { port: 0, length: 10, comment: 'dropped: runt' },
    ]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a comment longer than 1024 bytes is cut there, and the block stays whole', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tapyard-unit-'));
  try {
    const file = join(dir, 'long.pcapng');
    const capture = new PcapngWriter(file, ['a']);
    capture.frame(0, 0, frame(), 0, 64);
    capture.comment('é'.repeat(600)); // 1200 bytes of UTF-8
    capture.frame(0, 0, frame(), 0, 64);
    capture.close();
    const [first, second] = packets(file);
    expect(first!.comment).toBe('é'.repeat(512));
    expect(second).toEqual({ port: 0, length: 64, comment: null });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
