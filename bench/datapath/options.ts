// What a run measures and for how long. The defaults answer the question on this kind of
// machine in about twenty minutes: ten rounds of short paired trials (six are the fewest whose
// paired ratios can reach a 95 % interval at all, paired.ts; at eight, a full run in a quiet hour
// still left 16 of its 30 goals undecided, most of them within a few % of the goal); --quick gives
// directions in a few minutes.

import { TapyardError } from '../../src/error.js';
import { pathName, VM_PATHS, VM_PATHS_ALL } from '../vm/measure.js';
import { coreCount } from './cpu.js';
import { PATHS } from './paths.js';
import type { BenchOptions } from './report-schema.js';

export const MEASUREMENTS = ['tcp', 'rate', 'latency', 'foreign', 'vm', 'queues'] as const;

export interface OptionInput {
  quick?: boolean;
  rounds?: number;
  /** Rounds of the VM rows (default 6, --quick 2). */
  vmRounds?: number;
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
  // --paths names namespace paths and VM paths in one list; naming no VM path keeps the default ones.
  const named = list('paths', input.paths, [...PATHS.map((p) => p.id), ...VM_PATHS_ALL.map(pathName)]);
  const namedVm = input.paths === undefined ? [] : VM_PATHS_ALL.filter((p) => named.includes(pathName(p)));
  return {
    quick,
    rounds: input.rounds ?? (quick ? 3 : 10),
    referenceRounds: quick ? 1 : 2,
    measurements: list('only', input.only, MEASUREMENTS),
    paths: named.filter((id) => PATHS.some((p) => p.id === id)),
    tcpSeconds: 1,
    rateSeconds: 0.25,
    // A round's p99 is its 1 % slowest round trips: two thousand give it twenty to stand on, where
    // a thousand left the per-round ratios of p99 too scattered to judge against a goal (8 rounds,
    // 2026-12-06: 6 of the 8 RTT p99 goal rows undecided). One every 500 µs is still an idle path.
    latencyCount: quick ? 300 : 2000,
    latencyIntervalUs: quick ? 1000 : 500,
    // p99.9 needs well over a thousand round trips per load level: the rounds' are pooled.
    loadedLatencyCount: quick ? 700 : 3000,
    loadedLatencyIntervalUs: 200,
    // Loaded, tapyard and the C loop alternate in sub-blocks of 100 ms; idle, probe by probe (latency.ts).
    loadedLatencySubBlocks: quick ? 2 : 6,
    loadFractions: [0.1, 0.5, 0.9],
    // Short trials, several per load (search.ts): a hiccup spoils one trial, not the load.
    ndrTrialSeconds: 0.2,
    ndrMaxTrials: quick ? 12 : 16,
    ndrResolutionFraction: quick ? 0.05 : 0.03,
    ndrLossFraction: 0.001,
    pdrLossFraction: 0.005,
    ndrTimeBoundSeconds: quick ? 5 : 10,
    // The CPU-per-frame goal rows rest on this one trial per round: at 0.2 s (20 k frames) their
    // per-round ratios scattered by ±10 % and 5 of 8 rows stayed undecided within a few % of the
    // goal (two full runs, 2026-12-07); at 0.8 s their intervals were half as wide (four full runs).
    fixedRateSeconds: quick ? 0.2 : 0.8,
    // Rounds for the goal rows ten rounds left undecided (follow-up.ts): on a quiet 2-core machine 7-11
    // of 30 were (six full runs, 2026-12-07), most within a few % of their goal. A quick run's
    // three rounds give no interval to follow up.
    followUpSeconds: quick ? 0 : 60,
    foreignSeconds: 1,
    // Six rounds, the fewest with a 95 % interval: its comparison (60-65 % apart) needs no more, and
    // the time goes to the fixed-rate trial above.
    foreignRounds: quick ? 3 : 6,
    // 50 k frames/s, shown only, gave its 43 s to the follow-up rounds above.
    foreignRatesPerSecond: quick ? [100_000] : [100_000, 200_000],
    frameSizes: quick ? ['64', '1518'] : ['64', '512', '1518', 'imix'],
    generatorCpu: 0,
    forwarderCpu: cores > 1 ? 1 : 0,
    // A VM under emulation is slow to measure: one boot per path, then short rounds.
    vmAccel: input.vmAccel ?? 'tcg',
    // The quick run's VM rows answer "QEMU's tap backend or tapyard's vhost-user port?"; the
    // socket netdev path, which vhost-user replaces, is measured in the full run only.
    vmPaths: namedVm.length > 0 ? namedVm : VM_PATHS.filter((p) => !quick || p.backend !== 'tapyard'),
    vmRounds: input.vmRounds ?? (quick ? 2 : 6),
    vmTcpSeconds: quick ? 1 : 2,
    vmRateSeconds: 1,
    vmPings: quick ? 25 : 50,
    // One second idle and one flooded per VM path: its figure is shown, not compared.
    vmForeignSeconds: 1,
    // forward --queues N: one full-load run per N, a few seconds each.
    queuesSeconds: quick ? 1 : 3,
    outDir: input.outDir ?? 'report',
  };
}
