// What a run measures and for how long. The defaults answer the question on this kind of
// machine in about twenty minutes; --quick answers it roughly in a few.

import { TapyardError } from '../../src/error.js';
import { coreCount } from './cpu.js';
import { PATHS } from './paths.js';
import type { BenchOptions } from './report-schema.js';

export const MEASUREMENTS = ['tcp', 'rate', 'latency', 'foreign', 'vm', 'queues'] as const;

export interface OptionInput {
  quick?: boolean;
  reps?: number;
  only?: string;
  paths?: string;
  outDir?: string;
  vmAccel?: 'tcg' | 'kvm' | 'auto';
}

function list(option: string, text: string | undefined, allowed: readonly string[]): string[] {
  if (text === undefined) return [...allowed];
  const items = text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const bad = items.find((i) => !allowed.includes(i));
  if (bad !== undefined || items.length === 0)
    throw new TapyardError(
      'EUSAGE',
      `bench: --${option} takes a comma-separated list of ${allowed.join(', ')}${bad ? `, not '${bad}'` : ''}`,
    );
  return allowed.filter((a) => items.includes(a));
}

export function benchOptions(input: OptionInput): BenchOptions {
  const quick = input.quick === true;
  const cores = coreCount();
  return {
    quick,
    reps: input.reps ?? (quick ? 1 : 3),
    measurements: list('only', input.only, MEASUREMENTS),
    paths: list(
      'paths',
      input.paths,
      PATHS.map((p) => p.id),
    ),
    tcpSeconds: quick ? 1 : 3,
    rateSeconds: quick ? 1 : 2,
    latencyCount: quick ? 500 : 2000,
    latencyIntervalUs: 1000,
    // p99.9 needs well over a thousand round trips per load level.
    loadedLatencyCount: quick ? 2000 : 5000,
    loadedLatencyIntervalUs: 200,
    loadFractions: [0.1, 0.5, 0.9],
    ndrTrialSeconds: quick ? 0.4 : 1,
    ndrMaxTrials: quick ? 6 : 10,
    ndrResolutionFraction: quick ? 0.05 : 0.02,
    ndrLossLimitFraction: 0.001,
    ndrTimeBoundSeconds: quick ? 6 : 30,
    foreignSeconds: quick ? 1 : 2,
    foreignRatesPerSecond: quick ? [100_000] : [50_000, 100_000, 200_000],
    frameSizes: quick ? ['64', '1518'] : ['64', '512', '1518', 'imix'],
    generatorCpu: 0,
    forwarderCpu: cores > 1 ? 1 : 0,
    // A VM under emulation is slow to measure: short windows, one boot per path and repetition.
    vmAccel: input.vmAccel ?? 'tcg',
    vmTcpSeconds: quick ? 2 : 5,
    vmRateSeconds: quick ? 1 : 3,
    vmPings: quick ? 50 : 200,
    vmForeignSeconds: quick ? 1 : 3,
    // forward --queues N: one full-load run per N, a few seconds each.
    queuesSeconds: quick ? 1 : 3,
    outDir: input.outDir ?? 'report',
  };
}
