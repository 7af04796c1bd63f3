// The bridge's default clock: performance.now(), read once per turn of the event loop.

import { describe, expect, it } from 'vitest';
import { loopNow } from '../../../src/switch/loop-clock.js';

function busyWait(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until);
}

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('loopNow', () => {
  it('gives every reader in one turn the same reading', async () => {
    await nextTurn();
    const first = loopNow();
    busyWait(5);
    expect(loopNow()).toBe(first);
  });

  it('reads the real clock again in the next turn', async () => {
    await nextTurn();
    const before = performance.now();
    const first = loopNow();
    expect(first).toBeGreaterThanOrEqual(before);
    busyWait(5);
    await nextTurn();
    const second = loopNow();
    expect(second - first).toBeGreaterThanOrEqual(5);
    expect(second).toBeLessThanOrEqual(performance.now());
  });
});
