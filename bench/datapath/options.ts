// What a run measures and for how long. The defaults answer the question on this kind of
// machine in about ten minutes; --quick answers it roughly in under two.

import { TapyardError } from '../../src/error.js';
import { coreCount } from './cpu.js';
import { PATHS } from './paths.js';
import type { BenchOptions } from './report-schema.js';

export const MEASUREMENTS = ['tcp', 'rate', 'latency', 'foreign'] as const;

export interface OptionInput {
  quick?: boolean;
  reps?: number;
  only?: string;
  paths?: string;
  outDir?: string;
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
    latencyCount: quick ? 200 : 1000,
    latencyIntervalUs: 1000,
    foreignSeconds: quick ? 1 : 2,
    foreignRates: quick ? [100_000] : [50_000, 100_000, 200_000],
    frameSizes: [60, 1514],
    generatorCpu: 0,
    forwarderCpu: cores > 1 ? 1 : 0,
    outDir: input.outDir ?? 'report',
  };
}
