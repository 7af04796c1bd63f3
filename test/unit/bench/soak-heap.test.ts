// The soak's heap judgement (bench/soak/heap.ts) on the samples of a real soak: a sawtooth judged
// by the floors full collections return to, not by where the teeth fall.

import { describe, expect, it } from 'vitest';
import { judgeHeap } from '../../../bench/soak/heap.js';

/**
 * The macvtap forwarder's JS heap (KiB, every 10 s) in a 20-minute soak on 7 December 2026: it
 * rises from 7.8 to 14.2 MiB, one full collection brings it back to 7.6 at 640 s, and it rises
 * again to 14.5. The old rule (the lowest of the last third against the middle third's) called it
 * "grew", because no collection fell in the last third.
 */
const SOAK_20_MIN: number[] = [
  8850, 7951, 7936, 7797, 8017, 8119, 7978, 7830, 9268, 8474, 8459, 8634, 8421, 9267, 10348, 9454, 10653, 10707, 9534,
  10237, 10312, 10249, 9940, 10218, 10656, 10493, 10603, 10649, 10597, 10581, 11086, 11300, 11218, 11788, 11753, 11176,
  11165, 11624, 11651, 12591, 11985, 12685, 12551, 12688, 12258, 12244, 12641, 12502, 13047, 13334, 13255, 13034, 13185,
  13651, 13582, 13807, 13922, 14190, 14555, 14212, 14398, 14538, 14193, 7798, 8972, 8556, 9396, 8892, 8545, 8454, 8463,
  8680, 8934, 9129, 9035, 9064, 9145, 9595, 9662, 9836, 10204, 10476, 10788, 11117, 10746, 10231, 10927, 11589, 11849,
  11670, 11418, 12393, 11540, 11408, 11247, 11960, 11649, 11670, 11657, 13085, 12313, 12107, 12136, 12346, 13014, 13467,
  12820, 13941, 12808, 13070, 13244, 13755, 13947, 14080, 14027, 13762, 14044, 14145, 14298, 14735, 14886,
];

/** A heap that leaks: each collection returns to a floor `step` KiB higher than the last. */
function leaking(cycles: number, step: number): number[] {
  const out: number[] = [];
  for (let c = 0; c < cycles; c++) for (let i = 0; i < 60; i++) out.push(7800 + c * step + i * 110);
  return out;
}

describe('judgeHeap', () => {
  it('calls the recorded 20-minute sawtooth flat: its one collection came back to the floor it started from', () => {
    const j = judgeHeap(SOAK_20_MIN);
    expect(j.collections).toBe(1);
    expect(j.verdict).toBe('flat');
    expect(j.floorsKiB.map((k) => Math.round(k / 102.4) / 10)).toEqual([7.6, 7.6]);
  });

  it('does not judge a run with no full collection: a tooth rises, leak or not', () => {
    const firstTooth = SOAK_20_MIN.slice(0, 60);
    expect(judgeHeap(firstTooth)).toMatchObject({ verdict: 'not-judged', collections: 0 });
    expect(judgeHeap([])).toMatchObject({ verdict: 'not-judged', collections: 0, floorsKiB: [] });
  });

  it('calls rising floors growth, from the first collection on', () => {
    expect(judgeHeap(leaking(2, 1500)).verdict).toBe('grew');
    expect(judgeHeap(leaking(6, 400)).verdict).toBe('grew'); // 400 KiB a cycle: 2 MiB over five
    expect(judgeHeap(leaking(6, 0)).verdict).toBe('flat');
  });

  it('lets a floor wander within 10 % or 1 MiB of the lowest before it', () => {
    expect(judgeHeap(leaking(2, 1000)).verdict).toBe('flat'); // +1000 KiB on 7.6 MiB: inside 1 MiB
    expect(judgeHeap(leaking(2, 1100)).verdict).toBe('grew');
    // Against the lowest floor before it, not the one just before: a slow leak cannot creep.
    expect(judgeHeap([...leaking(2, 900), ...leaking(1, 0).map((k) => k + 1800)]).verdict).toBe('grew');
    const big = leaking(2, 700).map((k) => k * 2); // +1.4 MiB on 15.2: inside 10 %, over 1 MiB
    expect(judgeHeap(big).verdict).toBe('flat');
  });

  it('takes a scavenge (a drop under a quarter) for noise, not a collection', () => {
    const j = judgeHeap([8000, 9000, 10000, 8200, 9000, 10000]);
    expect(j.collections).toBe(0);
  });
});
