// Each impairment on memory ports, through the real Forwarder, with a fixed seed: what arrives,
// what is counted, and that the ledger balances at every moment, while frames are held too.

import { describe, expect, test } from 'vitest';
import { fateComment } from '../../../src/capture/fate-comment.js';
import { Forwarder, type FrameFate, type FrameObserver } from '../../../src/engine/forwarder.js';
import { EtherType, emitEthernet } from '../../../src/frame/ethernet.js';
import { DEFAULT_LIMIT, type ImpairConfig } from '../../../src/impair/config.js';
import { REORDER_WAIT_MS } from '../../../src/impair/impairment.js';
import { MemoryPort } from '../../../src/port/memory.js';
import { CrossConnect } from '../../../src/switch/cross-connect.js';

const NONE: ImpairConfig = {
  loss: 0,
  delayMs: 0,
  jitterMs: 0,
  dup: 0,
  reorder: 0,
  corrupt: 0,
  rateMbit: null,
  limit: DEFAULT_LIMIT,
  seed: 1,
};
const impair = (c: Partial<ImpairConfig>): ImpairConfig => ({ ...NONE, ...c });

function frame(seq: number, length = 64): Uint8Array {
  const bytes = new Uint8Array(length);
  const at = emitEthernet(
    { dst: 0x02_00_00_00_00_02, src: 0x02_00_00_00_00_01, tags: [], etherType: EtherType.EXPERIMENTAL },
    bytes,
    0,
  );
  new DataView(bytes.buffer).setUint32(at, seq);
  return bytes;
}
const seqOf = (bytes: Uint8Array) => new DataView(bytes.buffer, bytes.byteOffset).getUint32(14);

/** A memory port that notes when each frame was written. */
class TimedPort extends MemoryPort {
  readonly at: number[] = [];
  override send(buf: Uint8Array, offsets: Uint32Array, lengths: Uint32Array, count: number, status: Int32Array) {
    const n = super.send(buf, offsets, lengths, count, status);
    for (let i = 0; i < n; i++) this.at.push(performance.now());
    return n;
  }
}

interface Run {
  a: MemoryPort;
  b: TimedPort;
  fwd: Forwarder;
  /** Every ledger seen while waiting: each must balance. */
  ledgers: ReturnType<Forwarder['ledger']>[];
}

function run(config: ImpairConfig, observer?: FrameObserver, budget?: number): Run {
  const a = new MemoryPort('a', { budget });
  const b = new TimedPort('b');
  const fwd = new Forwarder([a, b], new CrossConnect(), { impairments: [null, config], observer });
  fwd.start();
  return { a, b, fwd, ledgers: [] };
}

/** Wait until nothing is left to read and nothing is held, looking at the ledger every turn. */
async function settle(r: Run, timeoutMs = 20_000): Promise<void> {
  const end = performance.now() + timeoutMs;
  let quiet = 0;
  while (quiet < 20) {
    if (performance.now() > end) throw new Error(`still held: ${JSON.stringify(r.fwd.ledger())}`);
    await new Promise((resolve) => setImmediate(resolve));
    const l = r.fwd.ledger();
    r.ledgers.push(l);
    quiet = l.queued === 0 && r.a.backlog === 0 ? quiet + 1 : 0;
  }
}

const balanced = (l: ReturnType<Forwarder['ledger']>) => l.rx + l.clones === l.tx + l.drops + l.queued;

async function send(config: ImpairConfig, n: number, observer?: FrameObserver): Promise<Run> {
  const r = run(config, observer);
  r.a.inject(...Array.from({ length: n }, (_, i) => frame(i)));
  await settle(r);
  for (const l of r.ledgers) expect(balanced(l)).toBe(true);
  return r;
}

// Timings are real: on a machine shared by many runs a test may take seconds; none depends on it.
describe('impairments on the frames written to a port', { timeout: 30_000 }, () => {
  test('loss=30% loses about 30%, counted as impair-loss; the same seed loses the same frames', async () => {
    const first = await send(impair({ loss: 0.3, seed: 1 }), 2000);
    const lost = 2000 - first.b.sent.length;
    expect(lost).toBeGreaterThan(500);
    expect(lost).toBeLessThan(700);
    expect(first.b.counters.drops).toEqual({ 'impair-loss': lost });
    const kept = first.b.sent.map(seqOf);
    expect(kept).toEqual([...kept].sort((x, y) => x - y)); // order kept
    const again = await send(impair({ loss: 0.3, seed: 1 }), 2000);
    expect(again.b.sent.map(seqOf)).toEqual(kept);
    const other = await send(impair({ loss: 0.3, seed: 2 }), 2000);
    expect(other.b.sent.map(seqOf)).not.toEqual(kept);
  });

  test('dup=25% writes a quarter twice, right after the first copy, each extra one a clone', async () => {
    const r = await send(impair({ dup: 0.25, seed: 5 }), 1000);
    const seqs = r.b.sent.map(seqOf);
    const twice = seqs.length - 1000;
    expect(twice).toBeGreaterThan(200);
    expect(twice).toBeLessThan(300);
    expect(new Set(seqs).size).toBe(1000);
    expect(seqs).toEqual([...seqs].sort((x, y) => x - y));
    expect(r.fwd.ledger()).toEqual({ rx: 1000, clones: twice, tx: 1000 + twice, drops: 0, queued: 0 });
    expect(r.fwd.impairment(1)!.duplicated).toBe(twice);
  });

  test('corrupt=10% flips exactly one bit in a tenth of the frames, and writes the rest untouched', async () => {
    const r = await send(impair({ corrupt: 0.1, seed: 9 }), 1000);
    expect(r.b.sent).toHaveLength(1000);
    let flipped = 0;
    r.b.sent.forEach((got, i) => {
      const want = frame(i);
      let bits = 0;
      for (let k = 0; k < want.length; k++) {
        let x = got[k]! ^ want[k]!;
        for (; x !== 0; x &= x - 1) bits++;
      }
      expect(bits).toBeLessThanOrEqual(1);
      flipped += bits;
    });
    expect(flipped).toBeGreaterThan(60);
    expect(flipped).toBeLessThan(140);
    expect(r.fwd.impairment(1)!.corrupted).toBe(flipped);
  });

  test('delay=30 holds every frame 30 ms (never less), as queued, then writes it in order', async () => {
    const r = run(impair({ delayMs: 30 }));
    const sentAt = performance.now();
    r.a.inject(...Array.from({ length: 50 }, (_, i) => frame(i)));
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(r.b.sent).toHaveLength(0);
    expect(r.fwd.ledger()).toEqual({ rx: 50, clones: 0, tx: 0, drops: 0, queued: 50 });
    await settle(r);
    expect(r.b.sent.map(seqOf)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    for (const at of r.b.at) {
      expect(at - sentAt).toBeGreaterThanOrEqual(30);
      expect(at - sentAt).toBeLessThan(5000); // a loaded machine may be late; never early
    }
    for (const l of r.ledgers) expect(balanced(l)).toBe(true);
  });

  test('jitter=10 spreads delay=20 over 10..30 ms, and lets frames overtake each other', async () => {
    const r = run(impair({ delayMs: 20, jitterMs: 10, seed: 4 }));
    const sentAt = performance.now();
    r.a.inject(...Array.from({ length: 64 }, (_, i) => frame(i)));
    await settle(r);
    expect(Math.min(...r.b.at) - sentAt).toBeGreaterThanOrEqual(10);
    // Written in the order of their delays (a late timer may write them all at once, still in order).
    const seqs = r.b.sent.map(seqOf);
    expect(seqs).not.toEqual([...seqs].sort((x, y) => x - y));
    expect(new Set(seqs).size).toBe(64);
  });

  test('reorder=20% swaps a frame with the one behind it; nothing is lost or written twice', async () => {
    const r = await send(impair({ reorder: 0.2, seed: 3 }), 1000);
    const seqs = r.b.sent.map(seqOf);
    expect([...seqs].sort((x, y) => x - y)).toEqual(Array.from({ length: 1000 }, (_, i) => i));
    let swaps = 0;
    for (let i = 0; i + 1 < seqs.length; i++) {
      if (seqs[i]! > seqs[i + 1]!) {
        swaps++;
        expect(seqs[i]! - seqs[i + 1]!).toBe(1); // a swap with its neighbour, no further
      }
    }
    expect(swaps).toBe(r.fwd.impairment(1)!.reordered);
    expect(swaps).toBeGreaterThan(100);
    expect(swaps).toBeLessThan(250);
  });

  test('a frame held back with nothing behind it goes on alone after REORDER_WAIT_MS', async () => {
    const r = run(impair({ reorder: 1 }));
    const sentAt = performance.now();
    r.a.inject(frame(1));
    await settle(r);
    expect(r.b.sent.map(seqOf)).toEqual([1]);
    expect(r.b.at[0]! - sentAt).toBeGreaterThanOrEqual(REORDER_WAIT_MS);
    expect(r.fwd.impairment(1)!.reordered).toBe(0);
  });

  test('rate=8 lets about 1000 bytes per ms through after its burst; frames over limit= are impair-rate', async () => {
    // 300 frames of 1000 bytes at 8 Mbit/s: 10 in the burst, then one per ms (~290 ms).
    const r = run(impair({ rateMbit: 8, limit: 1000 }));
    const sentAt = performance.now();
    r.a.inject(...Array.from({ length: 300 }, (_, i) => frame(i, 1000)));
    await settle(r);
    expect(r.b.sent.map(seqOf)).toEqual(Array.from({ length: 300 }, (_, i) => i));
    const took = r.b.at.at(-1)! - sentAt;
    expect(took).toBeGreaterThanOrEqual(289);
    expect(took).toBeLessThan(1500);
    for (const l of r.ledgers) expect(balanced(l)).toBe(true);

    // One batch of 300: the burst's 10 go at once, 20 wait, the other 270 find the queue full.
    const small = run(impair({ rateMbit: 8, limit: 20 }), undefined, 300);
    small.a.inject(...Array.from({ length: 300 }, (_, i) => frame(i, 1000)));
    await settle(small);
    expect(small.b.counters.drops).toEqual({ 'impair-rate': 270 });
    expect(small.b.sent.map(seqOf)).toEqual(Array.from({ length: 30 }, (_, i) => i));
  });

  test('limit= bounds what delay holds: the rest is impair-limit', async () => {
    const r = run(impair({ delayMs: 5, limit: 100 }), undefined, 300); // one batch of 300
    r.a.inject(...Array.from({ length: 300 }, (_, i) => frame(i)));
    await settle(r);
    expect(r.b.sent.map(seqOf)).toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect(r.b.counters.drops).toEqual({ 'impair-limit': 200 });
  });

  test('at stop, what is still held is counted as impair-shutdown, not written early', async () => {
    const r = run(impair({ delayMs: 10_000 }));
    r.a.inject(...Array.from({ length: 20 }, (_, i) => frame(i)));
    for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
    expect(r.fwd.ledger().queued).toBe(20);
    r.fwd.stop();
    expect(r.b.sent).toHaveLength(0);
    expect(r.b.counters.drops).toEqual({ 'impair-shutdown': 20 });
    expect(r.fwd.ledger()).toEqual({ rx: 20, clones: 0, tx: 0, drops: 20, queued: 0 });
  });

  test('impairments configured at zero write every frame as the plain path does', async () => {
    const r = await send(NONE, 500);
    expect(r.b.sent).toEqual(Array.from({ length: 500 }, (_, i) => frame(i)));
    expect(r.fwd.ledger()).toEqual({ rx: 500, clones: 0, tx: 500, drops: 0, queued: 0 });
  });

  test('a full egress behind an impairment stops the feeder instead of dropping', async () => {
    const r = run(impair({ delayMs: 1 }));
    r.b.capacity = 10;
    // The first 50 fill the egress (10) and its backlog; the delay line itself is no back-pressure.
    r.a.inject(...Array.from({ length: 50 }, (_, i) => frame(i)));
    for (const end = performance.now() + 5000; r.b.sent.length < 10 && performance.now() < end; )
      await new Promise((resolve) => setTimeout(resolve, 5));
    r.a.inject(...Array.from({ length: 350 }, (_, i) => frame(50 + i)));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(r.b.sent).toHaveLength(10);
    expect(r.a.backlog).toBeGreaterThan(200); // one batch read, then the rest wait in the "kernel"
    expect(balanced(r.fwd.ledger())).toBe(true);
    r.b.drain(1000);
    await settle(r);
    expect(r.b.sent.map(seqOf)).toEqual(Array.from({ length: 400 }, (_, i) => i));
    expect(r.b.counters.drops).toEqual({});
  });

  test("each frame's fate names its egress, the switch's reason and what the impairment did", async () => {
    const comments: string[] = [];
    const observer: FrameObserver = {
      frame() {},
      fate(fate: FrameFate) {
        comments.push(fateComment(fate, ['a', 'b']));
      },
    };
    const r = await send(impair({ loss: 0.2, dup: 0.2, delayMs: 2, seed: 11 }), 200, observer);
    expect(comments).toHaveLength(200);
    const lost = comments.filter((c) => c === 'to b (cross-peer) dropped: impair-loss').length;
    const duplicated = comments.filter((c) => /^to b \(cross-peer\) duplicated, delayed 2\.0 ms and 2\.0 ms$/.test(c));
    const delayed = comments.filter((c) => c === 'to b (cross-peer) delayed 2.0 ms').length;
    expect(lost).toBe(r.b.counters.drops['impair-loss']);
    expect(duplicated).toHaveLength(r.fwd.impairment(1)!.duplicated);
    expect(lost + duplicated.length + delayed).toBe(200);
  });
});
