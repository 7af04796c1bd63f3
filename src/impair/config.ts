// What a port's impairments are, typed: src/config/impair.ts reads them from a port spec.
// They apply to the frames tapyard writes to the port, as VDE's wirefilter does to one
// direction of its wire.

export interface ImpairConfig {
  /** Share of frames lost, 0 to 1. */
  readonly loss: number;
  /** Milliseconds each frame is held before it is written. */
  readonly delayMs: number;
  /** Each delay is delayMs ± up to this many milliseconds, uniformly (at most delayMs). */
  readonly jitterMs: number;
  /** Share of frames written twice. */
  readonly dup: number;
  /** Share of frames held back until the next frame to the port has gone (they swap places). */
  readonly reorder: number;
  /** Share of frames with one random bit flipped. */
  readonly corrupt: number;
  /** A token bucket's rate in Mbit/s; null: no limit. */
  readonly rateMbit: number | null;
  /** The most frames held for delay, and the most waiting for the token bucket. */
  readonly limit: number;
  /** The random generator's seed: the same seed and the same frames give the same run. */
  readonly seed: number;
}

/** What `limit=` is when not given: netem's default queue. */
export const DEFAULT_LIMIT = 1000;

/** Whether the config changes anything: a port whose impairments are all zero gets none. */
export function impairs(c: Omit<ImpairConfig, 'seed' | 'limit'>): boolean {
  return c.loss > 0 || c.delayMs > 0 || c.dup > 0 || c.reorder > 0 || c.corrupt > 0 || c.rateMbit !== null;
}

/** `loss=30%,delay=20,seed=1`: the keys that make this config, to paste into a port spec. */
export function describeImpairments(c: ImpairConfig): string {
  const pct = (f: number) => `${Math.round(f * 1e4) / 100}%`;
  const parts: string[] = [];
  if (c.loss > 0) parts.push(`loss=${pct(c.loss)}`);
  if (c.delayMs > 0) parts.push(`delay=${c.delayMs}`);
  if (c.jitterMs > 0) parts.push(`jitter=${c.jitterMs}`);
  if (c.dup > 0) parts.push(`dup=${pct(c.dup)}`);
  if (c.reorder > 0) parts.push(`reorder=${pct(c.reorder)}`);
  if (c.corrupt > 0) parts.push(`corrupt=${pct(c.corrupt)}`);
  if (c.rateMbit !== null) parts.push(`rate=${c.rateMbit}`);
  if (c.limit !== DEFAULT_LIMIT) parts.push(`limit=${c.limit}`);
  parts.push(`seed=${c.seed}`);
  return parts.join(',');
}
