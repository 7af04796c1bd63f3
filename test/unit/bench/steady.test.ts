// steadyCount (bench/vm/steady.ts): a flood's count is taken when the path has drained, not at a
// fixed time: a path still delivering is waited for; one that never stops is given up on.

import { describe, expect, it } from 'vitest';
import { steadyCount } from '../../../bench/vm/steady.js';

/** A count that grows by `step` on each of its first `moving` reads, then stays. */
function draining(moving: number, step = 1000) {
  let reads = 0;
  return {
    read: async () => step * Math.min(++reads, moving),
    reads: () => reads,
  };
}

describe('a count read once the path has drained', () => {
  it('a path that has already drained costs two reads', async () => {
    const c = draining(1);
    expect(await steadyCount(c.read, { stepMs: 1, maxMs: 1000 })).toBe(1000);
    expect(c.reads()).toBe(2);
  });

  it('a path still delivering is waited for: the count includes its backlog', async () => {
    const c = draining(6);
    expect(await steadyCount(c.read, { stepMs: 1, maxMs: 1000 })).toBe(6000);
    expect(c.reads()).toBe(7);
  });

  it('a count that never stops moving is given up on after maxMs, with its last read', async () => {
    const c = draining(Number.POSITIVE_INFINITY);
    const got = await steadyCount(c.read, { stepMs: 5, maxMs: 40 });
    expect(got).toBe(1000 * c.reads());
    expect(c.reads()).toBeLessThan(12);
  });
});
