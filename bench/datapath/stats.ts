// Order statistics, summaries and latency histograms. Nearest-rank percentiles, so every
// reported value is one that was measured (or, from a histogram, its bucket's top); a summary's
// interval is that of its median, from two order statistics (paired.ts).

import { median, medianInterval } from './paired.js';
import type { Histogram, Percentiles, Summary } from './report-schema.js';

/** Nearest-rank percentile (p in 0..100) of unsorted values; NaN for no values. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(rank, sorted.length) - 1]!;
}

export function summarize(values: readonly number[]): Summary | null {
  const finite = values.filter(Number.isFinite);
  if (finite.length === 0) return null;
  const med = median(finite);
  const min = Math.min(...finite);
  const max = Math.max(...finite);
  const ci = medianInterval(finite);
  return {
    n: finite.length,
    median: med,
    min,
    max,
    spread: med > 0 ? (max - min) / med : 0,
    ciLow: ci?.low ?? null,
    ciHigh: ci?.high ?? null,
  };
}

/** Spread beyond which a summary is flagged: the machine is shared, and this says how much it showed. */
export const WIDE_SPREAD = 0.25;

/** Bucket width of latency histograms: 1 %, finer than any difference the report calls real. */
export const HISTOGRAM_STEP = 0.01;
const LOG_STEP = Math.log1p(HISTOGRAM_STEP);
const bucketOf = (ns: number) => Math.floor(Math.log(Math.max(ns, 1)) / LOG_STEP);
const lowOf = (bucket: number) => Math.round(Math.exp(bucket * LOG_STEP));

export function histogram(rttNs: readonly number[]): Histogram {
  const counts = new Map<number, number>();
  for (const ns of rttNs) {
    const b = bucketOf(ns);
    counts.set(b, (counts.get(b) ?? 0) + 1);
  }
  const buckets = [...counts.keys()].sort((a, b) => a - b);
  return { stepFraction: HISTOGRAM_STEP, lowNs: buckets.map(lowOf), counts: buckets.map((b) => counts.get(b)!) };
}

/** Several histograms as one (rounds pooled). */
export function mergeHistograms(hs: readonly Histogram[]): Histogram {
  const counts = new Map<number, number>();
  for (const h of hs)
    h.lowNs.forEach((low, i) => {
      counts.set(low, (counts.get(low) ?? 0) + h.counts[i]!);
    });
  const lows = [...counts.keys()].sort((a, b) => a - b);
  return { stepFraction: HISTOGRAM_STEP, lowNs: lows, counts: lows.map((l) => counts.get(l)!) };
}

/** Nearest-rank percentile from a histogram: the top of the bucket holding that rank. */
export function histogramPercentile(h: Histogram, p: number): number {
  const total = h.counts.reduce((a, b) => a + b, 0);
  if (total === 0) return Number.NaN;
  const rank = Math.max(1, Math.ceil((p / 100) * total));
  let seen = 0;
  for (let i = 0; i < h.counts.length; i++) {
    seen += h.counts[i]!;
    if (seen >= rank) return Math.round(h.lowNs[i]! * (1 + h.stepFraction));
  }
  return Math.round(h.lowNs[h.lowNs.length - 1]! * (1 + h.stepFraction));
}

export const percentilesOf = (h: Histogram): Percentiles => ({
  p50Ns: histogramPercentile(h, 50),
  p99Ns: histogramPercentile(h, 99),
  p999Ns: histogramPercentile(h, 99.9),
});
