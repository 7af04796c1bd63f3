// tapyard against the C loop on the same path. Both run in every round, in alternating order, so
// the ratio is taken per round (paired) and a goal is judged on the median of those ratios: met or
// missed only when its 95 % order-statistic interval lies on one side of the goal (paired.ts). The
// figures shown beside each ratio are the ones every table and chart shows (one source per
// number); the ratio cell is computed from them. The goals are what the project aims for; the
// report states them and never fails because of them.

import { type ByRound, comparePaired, decide, median } from './paired.js';
import { FORWARDER_LABS } from './paths.js';
import { FIXED_RATE_PER_SECOND } from './rate.js';
import type { FrameSize, RateSample, Ratio, Report, Summary } from './report-schema.js';

/** A metric's value per round on one path. */
type PerRound = (report: Report, path: string) => ByRound;
/** The figure the report shows for a path: a median over rounds, or latency's pooled percentile. */
type Shown = (report: Report, path: string) => number | null;

interface Goal {
  metric: string;
  unit: string;
  /** ratio must be >= goal (throughput-like) or <= goal (cost- and latency-like). */
  higherIsBetter: boolean;
  goal: number | null;
  perRound: PerRound;
  shown: Shown;
}

const byRound = <S extends { round: number }>(samples: readonly S[], value: (s: S) => number | null): ByRound =>
  new Map(
    samples.flatMap((s) => {
      const v = value(s);
      return v === null || !Number.isFinite(v) ? [] : [[s.round, v] as [number, number]];
    }),
  );

const mid = (s: Summary | null | undefined) => s?.median ?? null;

const ndrOf = (size: FrameSize) => (r: Report, path: string) =>
  r.ndr.find((x) => x.path === path && x.frameSize === size);
const rateOf = (size: FrameSize) => (r: Report, path: string) =>
  r.rate.find((x) => x.path === path && x.frameSize === size);
const tcpOf = (direction: string) => (r: Report, path: string) =>
  r.tcp.find((x) => x.path === path && x.offload === true && x.direction === direction);
const latencyOf = (load: number | null) => (r: Report, path: string) =>
  r.latency.find((x) => x.path === path && x.loadFraction === load);

export const PER_ROUND = {
  ndr:
    (size: FrameSize): PerRound =>
    (r, path) =>
      byRound(ndrOf(size)(r, path)?.samples ?? [], (s) => s.ndrPerSecond),
  pdr:
    (size: FrameSize): PerRound =>
    (r, path) =>
      byRound(ndrOf(size)(r, path)?.samples ?? [], (s) => s.pdrPerSecond),
  delivered:
    (size: FrameSize): PerRound =>
    (r, path) =>
      byRound(rateOf(size)(r, path)?.samples ?? [], (s) => s.trial.deliveredPerSecond),
  cpu:
    (size: FrameSize): PerRound =>
    (r, path) =>
      byRound(rateOf(size)(r, path)?.samples ?? [], (s) => s.forwarderNsPerFrame),
  fixedCpu:
    (size: FrameSize): PerRound =>
    (r, path) =>
      byRound(rateOf(size)(r, path)?.samples ?? [], (s: RateSample) => s.fixedRate?.forwarderNsPerFrame ?? null),
  tcp:
    (direction: string): PerRound =>
    (r, path) =>
      byRound(tcpOf(direction)(r, path)?.samples ?? [], (s) => s.bitsPerSecond),
  latency:
    (load: number | null, pick: 'p50Ns' | 'p99Ns'): PerRound =>
    (r, path) =>
      byRound(latencyOf(load)(r, path)?.samples ?? [], (s) => s.percentiles[pick]),
  foreignCores:
    (rate: number): PerRound =>
    (r, path) =>
      byRound(
        r.foreign.find((f) => f.path === path && !f.floodOff && f.offeredPerSecond === rate)?.samples ?? [],
        (s) => s.labCores,
      ),
};

/** The median over rounds of a per-round figure (what the tables show for it), or null. */
const medianOf =
  (perRound: PerRound): Shown =>
  (r, path) => {
    const v = [...perRound(r, path).values()];
    return v.length ? median(v) : null;
  };

const SIZE_NAME: Record<FrameSize, string> = { '64': '64 B', '512': '512 B', '1518': '1518 B', imix: 'IMIX' };

function goals(r: Report): Goal[] {
  const sizes = r.options.frameSizes;
  return [
    ...sizes.map((s) => ({
      metric: `no-drop rate, ${SIZE_NAME[s]}`,
      unit: 'frames/s',
      higherIsBetter: true,
      goal: 1.0,
      perRound: PER_ROUND.ndr(s),
      shown: (x: Report, path: string) => mid(ndrOf(s)(x, path)?.ndrPerSecond),
    })),
    // The goal is judged where neither forwarder is saturated; at full load each uses its whole
    // core and the ratio is only the inverse of the rate ratio above.
    ...sizes.map((s) => ({
      metric: `forwarder CPU per frame at ${FIXED_RATE_PER_SECOND / 1000} k frames/s, ${SIZE_NAME[s]}`,
      unit: 'ns',
      higherIsBetter: false,
      goal: 1.05,
      perRound: PER_ROUND.fixedCpu(s),
      shown: medianOf(PER_ROUND.fixedCpu(s)),
    })),
    ...sizes.map((s) => ({
      metric: `forwarder CPU per frame at full load, ${SIZE_NAME[s]}`,
      unit: 'ns',
      higherIsBetter: false,
      goal: null,
      perRound: PER_ROUND.cpu(s),
      shown: (x: Report, path: string) => mid(rateOf(s)(x, path)?.forwarderNsPerFrame),
    })),
    ...(['ext-to-guest', 'guest-to-ext'] as const).map((d) => ({
      metric: `TCP ${d === 'ext-to-guest' ? 'ext→guest' : 'guest→ext'}, offloads on`,
      unit: 'bit/s',
      higherIsBetter: true,
      goal: 0.9,
      perRound: PER_ROUND.tcp(d),
      shown: (x: Report, path: string) => mid(tcpOf(d)(x, path)?.bitsPerSecond),
    })),
    ...([null, ...r.options.loadFractions] as (number | null)[]).flatMap((f) =>
      (f === null ? (['p50Ns', 'p99Ns'] as const) : (['p99Ns'] as const)).map((pick) => ({
        metric: `RTT ${pick === 'p50Ns' ? 'p50' : 'p99'}, ${f === null ? 'idle' : `at ${f * 100}% load`}`,
        unit: 'ns',
        higherIsBetter: false,
        goal: pick === 'p50Ns' ? 1.2 : 1.3,
        perRound: PER_ROUND.latency(f, pick),
        shown: (x: Report, path: string) => latencyOf(f)(x, path)?.pooled?.[pick] ?? null,
      })),
    ),
  ];
}

export function computeRatios(report: Report): Ratio[] {
  const out: Ratio[] = [];
  for (const lab of FORWARDER_LABS)
    for (const g of goals(report)) {
      const t = `${lab}/tapyard`;
      const c = `${lab}/c`;
      const tapyard = g.shown(report, t);
      const cLoop = g.shown(report, c);
      if (tapyard === null && cLoop === null) continue;
      const paired = comparePaired(g.perRound(report, t), g.perRound(report, c), g.higherIsBetter);
      const verdict =
        paired === null ? 'not-measured' : g.goal === null ? 'no-goal' : decide(paired, g.goal, g.higherIsBetter);
      out.push({
        metric: g.metric,
        unit: g.unit,
        path: lab,
        tapyard,
        c: cLoop,
        ratio: tapyard !== null && cLoop !== null && cLoop > 0 ? tapyard / cLoop : null,
        pairs: paired?.pairs ?? 0,
        wins: paired?.wins ?? 0,
        losses: paired?.losses ?? 0,
        pairedRatio: paired?.ratio ?? null,
        ciLow: paired?.interval?.low ?? null,
        ciHigh: paired?.interval?.high ?? null,
        higherIsBetter: g.higherIsBetter,
        goal: g.goal,
        verdict,
      });
    }
  return out;
}

export { SIZE_NAME };
