// tapyard against the C loop on the same path. Both run in every round, in alternating order, so
// the ratio is taken per round (paired) and a goal is judged on those ratios: met or missed only
// when their 95 % signed-rank interval lies on one side of the goal (paired.ts). The figures shown
// beside each ratio are the ones every table and chart shows (one source per number); the ratio
// cell is computed from them. Each row names the block that measures it, so a run can give a row
// its planned rounds leave undecided a few more (follow-up.ts). The goals are what the project
// aims for; the report states them and never fails because of them.

import { BLOCK_LABEL } from './blocks.js';
import { type ByRound, comparePaired, decide, median, type Paired } from './paired.js';
import { FORWARDER_LABS } from './paths.js';
import { FIXED_RATE_PER_SECOND } from './rate.js';
import type { Direction, FrameSize, RateSample, Ratio, Report, Summary } from './report-schema.js';

/** What the goal rows are computed from: the namespace paths' results (a run's, also before it ends). */
export type Measured = Pick<Report, 'options' | 'tcp' | 'rate' | 'ndr' | 'latency' | 'foreign'>;

/** A metric's value per round on one path. */
type PerRound = (report: Measured, path: string) => ByRound;
/** The figure the report shows for a path: a median over rounds, or latency's pooled percentile. */
type Shown = (report: Measured, path: string) => number | null;

interface Goal {
  metric: string;
  unit: string;
  /** ratio must be >= goal (throughput-like) or <= goal (cost- and latency-like). */
  higherIsBetter: boolean;
  goal: number | null;
  perRound: PerRound;
  shown: Shown;
  /** The block whose rounds measure it (blocks.ts): another round of it adds a pair. */
  block: string;
}

const byRound = <S extends { round: number }>(samples: readonly S[], value: (s: S) => number | null): ByRound =>
  new Map(
    samples.flatMap((s) => {
      const v = value(s);
      return v === null || !Number.isFinite(v) ? [] : [[s.round, v] as [number, number]];
    }),
  );

const mid = (s: Summary | null | undefined) => s?.median ?? null;

const ndrOf = (size: FrameSize) => (r: Measured, path: string) =>
  r.ndr.find((x) => x.path === path && x.frameSize === size);
const rateOf = (size: FrameSize) => (r: Measured, path: string) =>
  r.rate.find((x) => x.path === path && x.frameSize === size);
const tcpOf = (direction: Direction) => (r: Measured, path: string) =>
  r.tcp.find((x) => x.path === path && x.offload === true && x.direction === direction);
const latencyOf = (load: number | null) => (r: Measured, path: string) =>
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
    (direction: Direction): PerRound =>
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

function goals(r: Measured): Goal[] {
  const sizes = r.options.frameSizes;
  return [
    ...sizes.map((s) => ({
      metric: `no-drop rate, ${SIZE_NAME[s]}`,
      unit: 'frames/s',
      higherIsBetter: true,
      goal: 1.0,
      perRound: PER_ROUND.ndr(s),
      shown: (x: Measured, path: string) => mid(ndrOf(s)(x, path)?.ndrPerSecond),
      block: BLOCK_LABEL.rate(s),
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
      block: BLOCK_LABEL.rate(s),
    })),
    ...sizes.map((s) => ({
      metric: `forwarder CPU per frame at full load, ${SIZE_NAME[s]}`,
      unit: 'ns',
      higherIsBetter: false,
      goal: null,
      perRound: PER_ROUND.cpu(s),
      shown: (x: Measured, path: string) => mid(rateOf(s)(x, path)?.forwarderNsPerFrame),
      block: BLOCK_LABEL.rate(s),
    })),
    ...(['ext-to-guest', 'guest-to-ext'] as const).map((d) => ({
      metric: `TCP ${d === 'ext-to-guest' ? 'ext→guest' : 'guest→ext'}, offloads on`,
      unit: 'bit/s',
      higherIsBetter: true,
      goal: 0.9,
      perRound: PER_ROUND.tcp(d),
      shown: (x: Measured, path: string) => mid(tcpOf(d)(x, path)?.bitsPerSecond),
      block: BLOCK_LABEL.tcp(true, d),
    })),
    ...([null, ...r.options.loadFractions] as (number | null)[]).flatMap((f) =>
      (f === null ? (['p50Ns', 'p99Ns'] as const) : (['p99Ns'] as const)).map((pick) => ({
        metric: `RTT ${pick === 'p50Ns' ? 'p50' : 'p99'}, ${f === null ? 'idle' : `at ${f * 100}% load`}`,
        unit: 'ns',
        higherIsBetter: false,
        goal: pick === 'p50Ns' ? 1.2 : 1.3,
        perRound: PER_ROUND.latency(f, pick),
        shown: (x: Measured, path: string) => latencyOf(f)(x, path)?.pooled?.[pick] ?? null,
        block: BLOCK_LABEL.latency(f),
      })),
    ),
  ];
}

/** A goal row judged, with the block that measures it and its paired comparison. */
interface Judged {
  ratio: Ratio;
  block: string;
  paired: Paired | null;
}

/** Rounds both forwarders measured after the planned ones: the follow-up's (run.ts). */
const addedPairs = (a: ByRound, b: ByRound, planned: number) =>
  [...a.keys()].filter((round) => round > planned && b.has(round)).length;

const plannedOnly = (rounds: ByRound, planned: number): ByRound =>
  new Map([...rounds].filter(([round]) => round <= planned));

function verdictOf(paired: Paired | null, g: Goal): Ratio['verdict'] {
  if (paired === null) return 'not-measured';
  return g.goal === null ? 'no-goal' : decide(paired, g.goal, g.higherIsBetter);
}

function judge(report: Measured): Judged[] {
  const out: Judged[] = [];
  for (const lab of FORWARDER_LABS)
    for (const g of goals(report)) {
      const t = `${lab}/tapyard`;
      const c = `${lab}/c`;
      const tapyard = g.shown(report, t);
      const cLoop = g.shown(report, c);
      if (tapyard === null && cLoop === null) continue;
      const [tRounds, cRounds] = [g.perRound(report, t), g.perRound(report, c)];
      const paired = comparePaired(tRounds, cRounds, g.higherIsBetter);
      const verdict = verdictOf(paired, g);
      const planned = report.options.rounds;
      const followUpPairs = addedPairs(tRounds, cRounds, planned);
      const plannedVerdict = followUpPairs
        ? verdictOf(comparePaired(plannedOnly(tRounds, planned), plannedOnly(cRounds, planned), g.higherIsBetter), g)
        : verdict;
      const ratio: Ratio = {
        metric: g.metric,
        unit: g.unit,
        path: lab,
        tapyard,
        c: cLoop,
        ratio: tapyard !== null && cLoop !== null && cLoop > 0 ? tapyard / cLoop : null,
        pairs: paired?.pairs ?? 0,
        followUpPairs,
        wins: paired?.wins ?? 0,
        losses: paired?.losses ?? 0,
        pairedRatio: paired?.ratio ?? null,
        ciLow: paired?.interval?.low ?? null,
        ciHigh: paired?.interval?.high ?? null,
        higherIsBetter: g.higherIsBetter,
        goal: g.goal,
        verdict,
        plannedVerdict,
      };
      out.push({ ratio, block: g.block, paired });
    }
  return out;
}

export const computeRatios = (report: Measured): Ratio[] => judge(report).map((j) => j.ratio);

/** A goal row whose interval still straddles its goal: what another round of `block` on `lab` could decide. */
export interface OpenGoal {
  metric: string;
  lab: string;
  block: string;
  paired: Paired;
  goal: number;
}

export const openGoals = (report: Measured): OpenGoal[] =>
  judge(report).flatMap(({ ratio, block, paired }) =>
    ratio.verdict === 'undecided' && paired !== null && ratio.goal !== null
      ? [{ metric: ratio.metric, lab: ratio.path, block, paired, goal: ratio.goal }]
      : [],
  );

export { SIZE_NAME };
