// Distribution-free statistics for a noisy, shared 2-core machine. Two paths are measured in
// alternating order (A B, then B A, ...) round after round, so both see the same neighbours; a
// comparison is judged on the per-round ratios A/B, never on a t interval over a few points:
// - a figure's interval is that of its median: the pair of order statistics whose binomial
//   coverage reaches the level (no assumption about the noise; both bounds are measured values,
//   so a rate or a time can never have a negative bound);
// - a comparison's interval is the Wilcoxon signed-rank (Hodges-Lehmann) interval of the
//   per-round log ratios: pairwise averages of the logs, cut where the signed-rank distribution
//   puts the level. It assumes only that the log ratios scatter symmetrically about their centre,
//   and one wild round moves it far less than it moves [min, max]; its bounds are geometric means
//   of measured ratios, so always positive;
// - the sign of each pair says who won that round ("ahead in 7 of 8 rounds").
// Below six pairs neither interval reaches 95 %: such a comparison gives a direction ("ahead in 3
// of 3 rounds") and says it is too few to be sure.

export interface Interval {
  low: number;
  high: number;
  /** The coverage the binomial gives these two order statistics (>= the level asked for). */
  level: number;
}

/** P(X <= k) for X ~ Binomial(n, 1/2). */
export function binomialHalfCdf(k: number, n: number): number {
  if (k < 0) return 0;
  if (k >= n) return 1;
  let term = 0.5 ** n; // C(n, 0) / 2^n
  let sum = term;
  for (let i = 1; i <= k; i++) {
    term = (term * (n - i + 1)) / i;
    sum += term;
  }
  return sum;
}

/**
 * The interval [x(k), x(n+1-k)] of sorted values for the median, with the largest k whose
 * coverage 1 - 2 P(X <= k-1) is at least `level`; null when even [min, max] falls short.
 */
export function medianInterval(values: readonly number[], level = 0.95): Interval | null {
  const n = values.length;
  const sorted = [...values].sort((a, b) => a - b);
  let best: Interval | null = null;
  for (let k = 1; 2 * k <= n; k++) {
    const coverage = 1 - 2 * binomialHalfCdf(k - 1, n);
    if (coverage < level) break;
    best = { low: sorted[k - 1] as number, high: sorted[n - k] as number, level: coverage };
  }
  return best;
}

/** P(T <= t) for the Wilcoxon signed-rank statistic of n pairs without ties: counts of rank subsets. */
export function signedRankCdf(t: number, n: number): number {
  if (t < 0) return 0;
  const most = (n * (n + 1)) / 2;
  if (t >= most) return 1;
  // ways[s]: subsets of the ranks 1..i whose sum is s.
  let ways: number[] = [1, ...Array(most).fill(0)];
  for (let rank = 1; rank <= n; rank++) {
    const next = [...ways];
    for (let s = rank; s <= most; s++) next[s] = (next[s] as number) + (ways[s - rank] as number);
    ways = next;
  }
  let below = 0;
  for (let s = 0; s <= t; s++) below += ways[s] as number;
  return below / 2 ** n;
}

/** The Walsh averages (x_i + x_j) / 2, i <= j, of the ratios' logs, sorted; null when a ratio is 0 or unbounded. */
function walshAverages(ratios: readonly number[]): number[] | null {
  if (ratios.some((r) => !(r > 0) || !Number.isFinite(r))) return null;
  const logs = ratios.map(Math.log);
  const walsh: number[] = [];
  for (let i = 0; i < logs.length; i++)
    for (let j = i; j < logs.length; j++) walsh.push(((logs[i] as number) + (logs[j] as number)) / 2);
  return walsh.sort((a, b) => a - b);
}

/**
 * The Hodges-Lehmann interval of per-round ratios: the Walsh averages of their logs cut at the
 * signed-rank distribution's level, back to ratios. null when a ratio is 0 or unbounded (a search
 * that found nothing) or the pairs are too few for the level.
 */
export function walshInterval(ratios: readonly number[], level = 0.95): Interval | null {
  const walsh = walshAverages(ratios);
  if (walsh === null) return null;
  let best: Interval | null = null;
  for (let k = 1; 2 * k <= walsh.length; k++) {
    const coverage = 1 - 2 * signedRankCdf(k - 1, ratios.length);
    if (coverage < level) break;
    best = {
      low: Math.exp(walsh[k - 1] as number),
      high: Math.exp(walsh[walsh.length - k] as number),
      level: coverage,
    };
  }
  return best;
}

/** The Hodges-Lehmann estimate (the median Walsh average, as a ratio), or the plain median. */
export function walshCentre(ratios: readonly number[]): number {
  const walsh = walshAverages(ratios);
  return walsh === null ? median(ratios) : Math.exp(median(walsh));
}

/** The fewest values whose [min, max] reaches `level` as an interval for the median. */
export function pairsForLevel(level = 0.95): number {
  let n = 1;
  while (1 - 2 * binomialHalfCdf(0, n) < level) n++;
  return n;
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** Values of one figure keyed by the round that measured them. */
export type ByRound = ReadonlyMap<number, number>;

/**
 * a/b for every round that measured both, in round order. A zero is a measurement too (a search
 * that found no passing load): x/0 is Infinity and 0/0 a tie (1), so the rounds paired are the
 * same whichever side is a.
 */
export function pairedRatios(a: ByRound, b: ByRound): number[] {
  return [...a]
    .filter(([round, v]) => Number.isFinite(v) && v >= 0 && Number.isFinite(b.get(round) ?? Number.NaN))
    .sort(([x], [y]) => x - y)
    .map(([round, v]) => {
      const w = b.get(round) as number;
      return w > 0 ? v / w : v > 0 ? Number.POSITIVE_INFINITY : 1;
    });
}

export interface Paired {
  /** Rounds that measured both. */
  pairs: number;
  /** Rounds in which the first was better (higher, or lower for a cost), and worse. */
  wins: number;
  losses: number;
  /** The centre of the per-round ratios first/second (Hodges-Lehmann; the median when one is 0 or unbounded). */
  ratio: number;
  /** Its 95 % interval (signed-rank, or order statistics when a ratio is 0 or unbounded); null below six pairs. */
  interval: Interval | null;
}

/** Compares a with b round by round; `higherIsBetter` says which way a win goes. */
export function comparePaired(a: ByRound, b: ByRound, higherIsBetter: boolean): Paired | null {
  const ratios = pairedRatios(a, b);
  if (ratios.length === 0) return null;
  const wins = ratios.filter((r) => (higherIsBetter ? r > 1 : r < 1)).length;
  const losses = ratios.filter((r) => (higherIsBetter ? r < 1 : r > 1)).length;
  return {
    pairs: ratios.length,
    wins,
    losses,
    ratio: walshCentre(ratios),
    interval: walshInterval(ratios) ?? medianInterval(ratios),
  };
}

/** Met, missed, undecided (the interval straddles the goal), or too few pairs for an interval. */
export type Decision = 'met' | 'missed' | 'undecided' | 'too-few-pairs';

export function decide(p: Paired, goal: number, higherIsBetter: boolean): Decision {
  if (p.interval === null) return 'too-few-pairs';
  const { low, high } = p.interval;
  if (higherIsBetter ? low >= goal : high <= goal) return 'met';
  if (higherIsBetter ? high < goal : low > goal) return 'missed';
  return 'undecided';
}

/**
 * Roughly how many pairs would tell the two apart at this spread: the interval's half-width
 * shrinks as 1/sqrt(n), so it must shrink by |effect| / half-width. null when there is no
 * effect to resolve (the median ratio is 1) or no interval yet.
 */
export function pairsToResolve(p: Paired): number | null {
  if (p.interval === null) return pairsForLevel();
  const effect = Math.abs(Math.log(p.ratio));
  const half = (Math.log(p.interval.high) - Math.log(p.interval.low)) / 2;
  if (effect < 1e-3 || !(half > 0)) return null;
  return Math.ceil(p.pairs * (half / effect) ** 2);
}

/**
 * The order of the paths in round `round` (1-based): as given in odd rounds, reversed in even
 * ones, so each pair runs A B B A A B ... and neither always goes first.
 */
export function roundOrder<T>(paths: readonly T[], round: number): T[] {
  return round % 2 === 1 ? [...paths] : [...paths].reverse();
}
