// The final report of forward --queues N: rows and ledger are the queues' sums, each queue keeps
// its own, and "balanced" needs every queue to balance as well as the total.

import { describe, expect, it } from 'vitest';
import { queuesReport } from '../../../src/run/counters-report.js';
import type { QueueSample } from '../../../src/run/queue-protocol.js';
import { ForwardOutputSchema } from '../../schema/forward-output.js';

const NAMES = [
  { name: 'wire', device: 'macvtap ty-1-mvt' },
  { name: 'guest', device: 'tap ty-1-gtp' },
];

function queue(wire: [number, number], guest: [number, number], drops: Record<string, number> = {}): QueueSample {
  const port = ([rx, tx]: [number, number], d: Record<string, number>) => ({
    rxFrames: rx,
    rxBytes: rx * 60,
    txFrames: tx,
    txBytes: tx * 60,
    splicedFrames: 0,
    spoofedSource: 0,
    drops: d,
  });
  const dropped = Object.values(drops).reduce((a, b) => a + b, 0);
  return {
    ports: [port(wire, drops), port(guest, {})],
    kernel: [null, null],
    ledger: { rx: wire[0] + guest[0], clones: 0, tx: wire[1] + guest[1], drops: dropped, queued: 0 },
  };
}

describe('queuesReport', () => {
  it('sums the queues into the port rows and the ledger, and keeps each queue', () => {
    const r = queuesReport({
      type: 'final',
      names: NAMES,
      samples: [queue([10, 7], [7, 9], { 'tx-EIO': 1 }), queue([5, 3], [3, 5])],
      seconds: 2,
      previous: null,
      error: null,
    });
    expect(ForwardOutputSchema.parse(r)).toBeTruthy();
    expect(r.ports.map((p) => [p.name, p.rxFrames, p.txFrames])).toEqual([
      ['wire', 15, 10],
      ['guest', 10, 14],
    ]);
    expect(r.ports[0]!.drops).toEqual({ 'tx-EIO': 1 });
    expect(r.ports[0]!.rate.rxPps).toBe(8); // 15 frames over 2 s, rounded
    expect(r.ledger).toEqual({ rx: 25, clones: 0, tx: 24, drops: 1, queued: 0 });
    expect(r.queues!.map((q) => [q.queue, q.balanced, q.ports[1]!.name, q.ports[1]!.txFrames])).toEqual([
      [0, true, 'guest', 9],
      [1, true, 'guest', 5],
    ]);
    expect(r.balanced).toBe(true);
  });

  it('is not balanced when one queue is off, even if the total happens to balance', () => {
    // Queue 0 wrote one frame more than it read, queue 1 one less: the sums hide it.
    const samples = [queue([10, 10], [10, 11]), queue([5, 5], [5, 4])];
    const r = queuesReport({ type: 'final', names: NAMES, samples, seconds: 1, previous: null, error: null });
    expect(r.ledger.rx + r.ledger.clones).toBe(r.ledger.tx + r.ledger.drops + r.ledger.queued);
    expect(r.queues!.map((q) => q.balanced)).toEqual([false, false]);
    expect(r.balanced).toBe(false);
  });

  it('says the error of a failed run', () => {
    const samples = [queue([1, 1], [1, 1]), queue([0, 0], [0, 0])];
    const r = queuesReport({
      type: 'final',
      names: NAMES,
      samples,
      seconds: 1,
      previous: null,
      error: 'queue 1: gone',
    });
    expect(r.error).toBe('queue 1: gone');
  });
});
