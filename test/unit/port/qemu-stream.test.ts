import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Port, RxBatch } from '../../../src/port/port.js';
import { openQemu } from '../../../src/port/qemu.js';
import { NET_BUFSIZE, StreamDeframer } from '../../../src/port/qemu-stream.js';

const hex = (s: string) => Uint8Array.from(Buffer.from(s.replace(/\s/g, ''), 'hex'));

function deframe(chunks: Uint8Array[]): { frames: string[]; error: string | null } {
  const d = new StreamDeframer();
  const frames: string[] = [];
  for (const chunk of chunks) {
    const r = d.push(chunk, 0, (b, s, e) => frames.push(Buffer.from(b.subarray(s, e)).toString('hex')) > 0);
    if (typeof r === 'string') return { frames, error: r };
  }
  return { frames, error: null };
}

describe('QEMU stream framing (4-byte big-endian length, then the frame)', () => {
  it('splits two frames in one chunk', () => {
    expect(deframe([hex('00000003 aabbcc 00000002 ddee')]).frames).toEqual(['aabbcc', 'ddee']);
  });

  it('assembles a frame and a length cut across chunks', () => {
    const chunks = [hex('0000'), hex('0004 aa'), hex('bbcc'), hex('dd 00'), hex('000001ff')];
    expect(deframe(chunks).frames).toEqual(['aabbccdd', 'ff']);
  });

  it('refuses a length larger than QEMU itself would read', () => {
    const big = NET_BUFSIZE + 1;
    const r = deframe([hex('00000001 01'), Uint8Array.from([0, big >> 16, (big >> 8) & 0xff, big & 0xff])]);
    expect(r.frames).toEqual(['01']);
    expect(r.error).toBe(`the peer sent a frame length of ${big} bytes (at most ${NET_BUFSIZE})`);
  });

  it('stops where the reader pauses and resumes from there', () => {
    const d = new StreamDeframer();
    const chunk = hex('00000001 01 00000001 02');
    const seen: number[] = [];
    const stop = d.push(chunk, 0, (b, s) => seen.push(b[s]!) === 0);
    expect(stop).toBe(5);
    d.push(chunk, stop as number, (b, s) => seen.push(b[s]!) > 0);
    expect(seen).toEqual([1, 2]);
  });
});

describe('qemu port on a real unix socket', () => {
  const frame = (n: number) => Buffer.concat([Buffer.from([0, 0, 0, 60]), Buffer.alloc(60, n)]);
  const body = (n: number) => Buffer.alloc(60, n).toString('hex');

  async function open() {
    const path = join(tmpdir(), `ty-qemu-${process.pid}-${Math.random().toString(36).slice(2, 8)}.sock`);
    const warnings: string[] = [];
    const port = openQemu(
      { kind: 'qemu', name: 'vm', path, tcp: null, protocol: 'stream', connect: false, peer: null },
      64,
      (s) => warnings.push(s),
    );
    const got: string[] = [];
    port.start({
      onBatch: (_p: Port, b: RxBatch) => {
        for (let i = 0; i < b.count; i++) {
          const start = b.offsets[i]!;
          got.push(Buffer.from(b.buf.subarray(start, start + b.lengths[i]!)).toString('hex'));
        }
      },
      onWritable: () => undefined,
      onFatal: () => undefined,
    });
    await port.ready;
    return { port, path, warnings, got };
  }
  const dial = (path: string) =>
    new Promise<Socket>((resolve) => {
      const s = connect(path, () => resolve(s));
    });
  const until = async (cond: () => boolean) => {
    for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
  };

  it('reads frames, writes framed ones, counts a peer that leaves and accepts the next', async () => {
    const { port, path, got } = await open();
    const a = await dial(path);
    a.write(Buffer.concat([frame(1), frame(2)]));
    await until(() => got.length === 2);
    expect(got).toEqual([body(1), body(2)]);
    const echoed = new Promise<Buffer>((resolve) => a.once('data', resolve));
    const out = Buffer.alloc(60, 7);
    expect(port.send(out, Uint32Array.of(0), Uint32Array.of(60), 1, new Int32Array(1))).toBe(1);
    expect((await echoed).equals(frame(7))).toBe(true);
    a.destroy();
    await until(() => port.peer.disconnects === 1);
    const status = new Int32Array(1);
    expect(port.send(out, Uint32Array.of(0), Uint32Array.of(60), 1, status)).toBe(1);
    expect(status[0]).not.toBe(0); // no VM: refused, so the loop counts it
    const b = await dial(path);
    b.write(frame(3));
    await until(() => got.length === 3);
    expect(got[2]).toBe(body(3));
    expect(port.peer).toMatchObject({ connections: 2, disconnects: 1, malformed: 0 });
    b.destroy();
    port.close();
  });

  it('closes a connection that sends a bad length, with one sentence, and keeps listening', async () => {
    const { port, path, warnings, got } = await open();
    const a = await dial(path);
    const closed = new Promise((r) => a.on('close', r));
    a.write(Buffer.from([0xff, 0xff, 0xff, 0xff, 1, 2, 3]));
    await closed;
    expect(warnings).toEqual([
      'port vm: the peer sent a frame length of 4294967295 bytes (at most 69632); ' +
        'that connection is closed, the port waits for the next',
    ]);
    const b = await dial(path);
    b.write(frame(9));
    await until(() => got.length === 1);
    expect(got).toEqual([body(9)]);
    expect(port.peer).toMatchObject({ connections: 2, malformed: 1 });
    b.destroy();
    port.close();
  });
});
