import { describe, expect, test } from 'vitest';
import { Random } from '../../../src/impair/random.js';

describe('Random', () => {
  test('the same seed gives the same draws; another seed others', () => {
    const draw = (seed: number) => {
      const r = new Random(seed);
      return Array.from({ length: 1000 }, () => r.uint32());
    };
    expect(draw(1)).toEqual(draw(1));
    expect(draw(1)).not.toEqual(draw(2));
    // Neighbouring seeds do not give shifted copies of one stream.
    expect(draw(1).slice(1, 100)).not.toEqual(draw(2).slice(0, 99));
  });

  test('fractions lie in [0, 1) and fill ten bins evenly', () => {
    const r = new Random(7);
    const bins = new Array(10).fill(0);
    let outside = 0;
    for (let i = 0; i < 100_000; i++) {
      const f = r.fraction();
      if (!(f >= 0 && f < 1)) outside++;
      else bins[Math.floor(f * 10)]++;
    }
    expect(outside).toBe(0);
    for (const n of bins) expect(Math.abs(n - 10_000)).toBeLessThan(500); // about 5 standard deviations
  });

  test('below(n) stays below n and reaches every value', () => {
    const r = new Random(3);
    const seen = new Set<number>();
    for (let i = 0; i < 1000; i++) {
      const v = r.below(8);
      expect(v >= 0 && v < 8 && Number.isInteger(v)).toBe(true);
      seen.add(v);
    }
    expect(seen.size).toBe(8);
  });
});
