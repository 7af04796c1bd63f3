// A small seeded generator (mulberry32) for the simulations of the bench's statistics: every seed
// is one repeatable run, so a simulated rate or share is the same on every machine.

/** Uniform numbers in [0, 1) from `seed`. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}
