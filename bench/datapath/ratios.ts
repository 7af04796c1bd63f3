// tapyard against the C loop on the same path. Each repetition measures both in the same
// minutes, so the ratio is taken per repetition (paired) and its spread gives a 95 % interval;
// a goal is called met or missed only when that whole interval lies on one side of it. The
// goals are what the project aims for; the report states them and never fails because of them.

import { FORWARDER_LABS } from './paths.js';
import { FIXED_RATE_PER_SECOND } from './rate.js';
import type { FrameSize, RateSample, Ratio, Report, Verdict } from './report-schema.js';
import { confidence, median } from './stats.js';

/** A metric's value per repetition on one path. */
type PerRep = (report: Report, path: string) => Map<number, number>;

interface Goal {
  metric: string;
  unit: string;
  /** ratio must be >= goal (throughput-like) or <= goal (cost- and latency-like). */
  higherIsBetter: boolean;
  goal: number | null;
  perRep: PerRep;
}

const byRep = (samples: readonly { rep: number }[], value: (s: never) => number | null) =>
  new Map(
    samples.flatMap((s) => {
      const v = value(s as never);
      return v === null || !Number.isFinite(v) ? [] : [[s.rep, v] as [number, number]];
    }),
  );

const ndrOf =
  (size: FrameSize): PerRep =>
  (r, path) =>
    byRep(
      r.ndr.find((x) => x.path === path && x.frameSize === size)?.samples ?? [],
      (s: { ndrPerSecond: number }) => s.ndrPerSecond,
    );

const cpuOf =
  (size: FrameSize): PerRep =>
  (r, path) =>
    byRep(
      r.rate.find((x) => x.path === path && x.frameSize === size)?.samples ?? [],
      (s: { forwarderNsPerFrame: number | null }) => s.forwarderNsPerFrame,
    );

const fixedCpuOf =
  (size: FrameSize): PerRep =>
  (r, path) =>
    byRep(
      r.rate.find((x) => x.path === path && x.frameSize === size)?.samples ?? [],
      (s: RateSample) => s.fixedRate?.forwarderNsPerFrame ?? null,
    );

const tcpOf =
  (direction: string): PerRep =>
  (r, path) =>
    byRep(
      r.tcp.find((x) => x.path === path && x.offload === true && x.direction === direction)?.samples ?? [],
      (s: { bitsPerSecond: number }) => s.bitsPerSecond,
    );

const latencyOf =
  (load: number | null, pick: 'p50Ns' | 'p99Ns'): PerRep =>
  (r, path) =>
    byRep(
      r.latency.find((x) => x.path === path && x.loadFraction === load)?.samples ?? [],
      (s: { percentiles: Record<string, number> }) => s.percentiles[pick]!,
    );

const SIZE_NAME: Record<FrameSize, string> = { '64': '64 B', '512': '512 B', '1518': '1518 B', imix: 'IMIX' };

function goals(r: Report): Goal[] {
  const sizes = r.options.frameSizes;
  return [
    ...sizes.map((s) => ({
      metric: `no-drop rate, ${SIZE_NAME[s]}`,
      unit: 'frames/s',
      higherIsBetter: true,
      goal: 1.0,
      perRep: ndrOf(s),
    })),
    // The goal is judged where neither forwarder is saturated; at full load each uses its whole
    // core and the ratio is only the inverse of the rate ratio above.
    ...sizes.map((s) => ({
      metric: `forwarder CPU per frame at ${FIXED_RATE_PER_SECOND / 1000} k frames/s, ${SIZE_NAME[s]}`,
      unit: 'ns',
      higherIsBetter: false,
      goal: 1.05,
      perRep: fixedCpuOf(s),
    })),
    ...sizes.map((s) => ({
      metric: `forwarder CPU per frame at full load, ${SIZE_NAME[s]}`,
      unit: 'ns',
      higherIsBetter: false,
      goal: null,
      perRep: cpuOf(s),
    })),
    {
      metric: 'TCP ext→guest, offloads on',
      unit: 'bit/s',
      higherIsBetter: true,
      goal: 0.9,
      perRep: tcpOf('ext-to-guest'),
    },
    {
      metric: 'TCP guest→ext, offloads on',
      unit: 'bit/s',
      higherIsBetter: true,
      goal: 0.9,
      perRep: tcpOf('guest-to-ext'),
    },
    { metric: 'RTT p50, idle', unit: 'ns', higherIsBetter: false, goal: 1.2, perRep: latencyOf(null, 'p50Ns') },
    { metric: 'RTT p99, idle', unit: 'ns', higherIsBetter: false, goal: 1.3, perRep: latencyOf(null, 'p99Ns') },
    ...r.options.loadFractions.map((f) => ({
      metric: `RTT p99 at ${f * 100}% of NDR`,
      unit: 'ns',
      higherIsBetter: false,
      goal: 1.3,
      perRep: latencyOf(f, 'p99Ns'),
    })),
  ];
}

export function judge(
  ratios: readonly number[],
  goal: number | null,
  higherIsBetter: boolean,
): { verdict: Verdict; ci: { low: number; high: number } | null } {
  const ci = confidence(ratios);
  if (ratios.length === 0) return { verdict: 'not-measured', ci };
  if (goal === null) return { verdict: 'no-goal', ci };
  if (ci === null) return { verdict: 'one-repetition', ci };
  const good = higherIsBetter ? ci.low >= goal : ci.high <= goal;
  const bad = higherIsBetter ? ci.high < goal : ci.low > goal;
  return { verdict: good ? 'met' : bad ? 'missed' : 'within-noise', ci };
}

/** Per-repetition ratios a/b of two paths' values, for the repetitions that measured both. */
export function paired(a: Map<number, number>, b: Map<number, number>): number[] {
  return [...a].flatMap(([rep, v]) => {
    const w = b.get(rep);
    return w !== undefined && w > 0 ? [v / w] : [];
  });
}

export function computeRatios(report: Report): Ratio[] {
  const out: Ratio[] = [];
  for (const lab of FORWARDER_LABS)
    for (const g of goals(report)) {
      const t = g.perRep(report, `${lab}/tapyard`);
      const c = g.perRep(report, `${lab}/c`);
      if (t.size === 0 && c.size === 0) continue;
      const ratios = paired(t, c);
      const { verdict, ci } = judge(ratios, g.goal, g.higherIsBetter);
      out.push({
        metric: g.metric,
        unit: g.unit,
        path: lab,
        tapyard: t.size ? median([...t.values()]) : null,
        c: c.size ? median([...c.values()]) : null,
        ratio: ratios.length ? median(ratios) : null,
        ciLow: ci?.low ?? null,
        ciHigh: ci?.high ?? null,
        higherIsBetter: g.higherIsBetter,
        goal: g.goal,
        verdict,
      });
    }
  return out;
}

export const PER_REP = { ndrOf, cpuOf, fixedCpuOf, tcpOf, latencyOf };
export { SIZE_NAME };
