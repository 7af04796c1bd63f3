// The statistics the verdict stands on (bench/datapath/paired.ts): order-statistic intervals,
// the sign test, paired decisions, and the alternating order of paths in a round.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  binomialHalfCdf,
  comparePaired,
  decide,
  medianInterval,
  pairedRatios,
  pairsForLevel,
  pairsToResolve,
  roundOrder,
  signedRankCdf,
  walshInterval,
} from '../../../bench/datapath/paired.js';
import { summarize } from '../../../bench/datapath/stats.js';

const rounds = (values: number[]) => new Map(values.map((v, i) => [i + 1, v]));

describe('order-statistic interval of a median', () => {
  it('is the binomial one: [min, max] covers 96.9 % at n = 6, and n = 5 reaches no 95 %', () => {
    expect(binomialHalfCdf(0, 6)).toBeCloseTo(1 / 64, 12);
    expect(binomialHalfCdf(3, 6)).toBeCloseTo(42 / 64, 12);
    expect(medianInterval([5, 1, 4, 2, 3])).toBeNull();
    const six = medianInterval([6, 1, 5, 2, 4, 3]);
    expect(six).toEqual({ low: 1, high: 6, level: 1 - 2 / 64 });
    expect(pairsForLevel(0.95)).toBe(6);
    // n = 12: the 3rd and 10th order statistics cover 96.1 %; the 4th and 9th would not reach 95 %.
    const twelve = medianInterval(Array.from({ length: 12 }, (_, i) => i + 1));
    expect(twelve?.low).toBe(3);
    expect(twelve?.high).toBe(10);
    expect(twelve?.level).toBeGreaterThanOrEqual(0.95);
  });

  it('never holds a value that was not measured: a rate or a time never gets a negative bound', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: 0, max: 1e9, noNaN: true }), { minLength: 1, maxLength: 40 }), (xs) => {
        const ci = medianInterval(xs);
        if (ci === null) return xs.length < 6;
        const s = summarize(xs);
        return (
          xs.includes(ci.low) &&
          xs.includes(ci.high) &&
          ci.low >= 0 &&
          ci.low <= ci.high &&
          s !== null &&
          s.ciLow !== null &&
          s.ciLow >= 0 &&
          s.ciLow <= s.median &&
          (s.ciHigh as number) >= s.median
        );
      }),
    );
  });
});

describe('signed-rank interval of paired ratios', () => {
  it('has the exact signed-rank distribution: P(T <= 3) = 5/256 at n = 8', () => {
    expect(signedRankCdf(0, 6)).toBeCloseTo(1 / 64, 12);
    expect(signedRankCdf(3, 8)).toBeCloseTo(5 / 256, 12);
    expect(signedRankCdf(4, 8)).toBeCloseTo(7 / 256, 12);
    expect(signedRankCdf(36, 8)).toBe(1);
  });

  it('one wild round moves it less than half as far as it moves [min, max]', () => {
    const calm = [0.95, 0.96, 0.97, 0.955, 0.965, 0.958, 0.962, 0.968];
    const wild = [...calm.slice(0, 7), 5];
    const a = walshInterval(calm)!;
    const b = walshInterval(wild)!;
    expect(b.high).toBeLessThan(Math.max(...wild) / 2);
    expect(b.low).toBeGreaterThan(0.95);
    expect(a.high).toBeLessThan(1);
    expect(walshInterval(calm.slice(0, 5))).toBeNull();
    // a zero (a search that found nothing) falls back to the order statistics
    expect(walshInterval([...calm.slice(0, 5), 0])).toBeNull();
    expect(comparePaired(rounds([...calm.slice(0, 5), 0]), rounds(Array(6).fill(1)), true)?.interval?.low).toBe(0);
  });
});

describe('paired comparison', () => {
  it('a ratio is what its inputs give, pair by pair, and its interval holds only possible values', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.double({ min: 1, max: 1e6, noNaN: true }), fc.double({ min: 1, max: 1e6, noNaN: true })), {
          minLength: 1,
          maxLength: 20,
        }),
        (pairs) => {
          const a = rounds(pairs.map(([x]) => x));
          const b = rounds(pairs.map(([, y]) => y));
          const ratios = pairedRatios(a, b);
          const p = comparePaired(a, b, true);
          return (
            ratios.every((r, i) => r === (pairs[i] as [number, number])[0] / (pairs[i] as [number, number])[1]) &&
            p !== null &&
            p.pairs === pairs.length &&
            p.wins === ratios.filter((r) => r > 1).length &&
            p.ratio >= Math.min(...ratios) * (1 - 1e-12) &&
            p.ratio <= Math.max(...ratios) * (1 + 1e-12) &&
            (p.interval === null ||
              (p.interval.low > 0 &&
                p.interval.low <= p.ratio * (1 + 1e-12) &&
                p.interval.high >= p.ratio * (1 - 1e-12) &&
                p.interval.level >= 0.95))
          );
        },
      ),
    );
  });

  it('pairs only the rounds both measured', () => {
    const a = new Map([
      [1, 10],
      [2, 20],
      [4, 40],
    ]);
    const b = new Map([
      [2, 10],
      [3, 10],
      [4, 20],
    ]);
    expect(pairedRatios(a, b)).toEqual([2, 2]);
  });

  it('decides a goal only when the interval is on one side of it', () => {
    const ahead = comparePaired(rounds([1.1, 1.2, 1.15, 1.3, 1.12, 1.25]), rounds([1, 1, 1, 1, 1, 1]), true);
    expect(ahead && decide(ahead, 1, true)).toBe('met');
    expect(ahead && decide(ahead, 1.4, true)).toBe('missed');
    expect(ahead && decide(ahead, 1.2, true)).toBe('undecided');
    const three = comparePaired(rounds([2, 3, 4]), rounds([1, 1, 1]), true);
    expect(three && decide(three, 1, true)).toBe('too-few-pairs');
    // A cost: lower is better, so a ratio interval wholly under the goal meets it.
    const cheaper = comparePaired(rounds([90, 95, 92, 91, 94, 93]), rounds([100, 100, 100, 100, 100, 100]), false);
    expect(cheaper && decide(cheaper, 1.05, false)).toBe('met');
    expect(cheaper?.wins).toBe(6);
  });

  it('says how many rounds would tell a small effect apart', () => {
    const p = comparePaired(rounds([1.3, 0.8, 1.1, 0.95, 1.25, 0.9, 1.05, 1.2]), rounds(Array(8).fill(1)), true);
    const more = p && pairsToResolve(p);
    expect(more).toBeGreaterThan(8);
  });
});

describe('round order', () => {
  it('alternates, so each pair runs A B B A and neither always goes first', () => {
    const order = [1, 2, 3, 4].flatMap((r) => roundOrder(['A', 'B'], r));
    expect(order.join('')).toBe('ABBAABBA');
  });
});
