// Is the JS heap leaking? V8's heap is a sawtooth: it fills with short-lived objects until a full
// collection empties it (about every ten minutes here, in docs/soak.md), so any stretch of samples
// between two collections rises, leak or not. What a leak raises is the floor each collection
// comes back to. So the heap is judged on those floors, never on a stretch of the tooth: it needs
// at least one full collection in the run, and without one it is not judged at all (a 20-minute
// soak judged by the lowest sample of its last third against its middle third's called a flat
// heap "grew", 8.6 -> 14.1 MiB, because no collection fell in the last third).

/** A sample this much below the one before it is a full collection (a scavenge moves one by < 10 % here). */
const COLLECTION_DROP = 0.25;

/** A floor may sit this much above the lowest before it, or 1 MiB, whichever is more, and still be flat. */
export const HEAP_FLAT = 0.1;
const HEAP_SLACK_KIB = 1024;

export interface HeapJudgement {
  /** flat / grew: by the floors; not-judged: no full collection in the run. */
  verdict: 'flat' | 'grew' | 'not-judged';
  /** The lowest sample before the first collection, then after each collection. */
  floorsKiB: number[];
  collections: number;
}

/** The heap samples (KiB, in time order) judged by the floors full collections return to. */
export function judgeHeap(samplesKiB: readonly number[]): HeapJudgement {
  const floorsKiB: number[] = [];
  let floor = Number.POSITIVE_INFINITY;
  for (const [i, kib] of samplesKiB.entries()) {
    const before = samplesKiB[i - 1];
    if (before !== undefined && kib < before * (1 - COLLECTION_DROP)) {
      floorsKiB.push(floor);
      floor = kib;
    } else floor = Math.min(floor, kib);
  }
  if (Number.isFinite(floor)) floorsKiB.push(floor);
  const collections = Math.max(0, floorsKiB.length - 1);
  if (collections === 0) return { verdict: 'not-judged', floorsKiB, collections };
  const last = floorsKiB.at(-1) as number;
  const lowest = Math.min(...floorsKiB.slice(0, -1));
  const flat = last <= Math.max(lowest * (1 + HEAP_FLAT), lowest + HEAP_SLACK_KIB);
  return { verdict: flat ? 'flat' : 'grew', floorsKiB, collections };
}
