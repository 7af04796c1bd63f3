// tapyard against the C loop on the same path in the same run. The goals are what the
// project aims for; the report states whether a run met them and never fails because of it.

import { FORWARDER_LABS } from './paths.js';
import type { Ratio, Report, Summary } from './report-schema.js';
import { summarize } from './stats.js';

interface Goal {
  metric: string;
  /** ratio must be >= target (throughput-like) or <= target (latency-like). */
  higherIsBetter: boolean;
  /** null: no goal, the ratio is shown for reading the others. */
  target: number | null;
  pick: (report: Report, path: string) => Summary | null;
}

/** Forwarder CPU per 64-byte frame over the repetitions: it hardly moves when a neighbour steals the cores. */
const cpuPerFrame = (r: Report, path: string): Summary | null =>
  summarize(
    (r.rate.find((x) => x.path === path && x.frameSize === 60)?.samples ?? [])
      .map((s) => s.forwarderNsPerFrame)
      .filter((v): v is number => v !== null),
  );

const GOALS: readonly Goal[] = [
  {
    metric: 'packet rate, 64 B frames',
    higherIsBetter: true,
    target: 1.0,
    pick: (r, p) => r.rate.find((x) => x.path === p && x.frameSize === 60)?.summary ?? null,
  },
  {
    metric: 'TCP ext→guest, offloads on',
    higherIsBetter: true,
    target: 0.9,
    pick: (r, p) =>
      r.tcp.find((x) => x.path === p && x.offload === true && x.direction === 'ext-to-guest')?.summary ?? null,
  },
  {
    metric: 'TCP guest→ext, offloads on',
    higherIsBetter: true,
    target: 0.9,
    pick: (r, p) =>
      r.tcp.find((x) => x.path === p && x.offload === true && x.direction === 'guest-to-ext')?.summary ?? null,
  },
  {
    metric: 'latency p50',
    higherIsBetter: false,
    target: 1.2,
    pick: (r, p) => r.latency.find((x) => x.path === p)?.p50 ?? null,
  },
  {
    metric: 'latency p99',
    higherIsBetter: false,
    target: 2.0,
    pick: (r, p) => r.latency.find((x) => x.path === p)?.p99 ?? null,
  },
  { metric: 'forwarder CPU per 64 B frame', higherIsBetter: false, target: null, pick: cpuPerFrame },
];

export function computeRatios(report: Report): Ratio[] {
  const ratios: Ratio[] = [];
  for (const lab of FORWARDER_LABS) {
    for (const goal of GOALS) {
      const t = goal.pick(report, `${lab}/tapyard`)?.median ?? null;
      const c = goal.pick(report, `${lab}/c`)?.median ?? null;
      if (t === null && c === null) continue;
      const ratio = t !== null && c !== null && c > 0 ? t / c : null;
      ratios.push({
        metric: goal.metric,
        path: lab,
        tapyard: t,
        c,
        ratio,
        goal: goal.target === null ? '—' : `${goal.higherIsBetter ? '>=' : '<='} ${goal.target.toFixed(1)}x`,
        met:
          ratio === null || goal.target === null
            ? null
            : goal.higherIsBetter
              ? ratio >= goal.target
              : ratio <= goal.target,
      });
    }
  }
  return ratios;
}
