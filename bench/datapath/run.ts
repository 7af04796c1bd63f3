// One benchmark run: describe the machine, build every lab the chosen paths need, run every
// measurement as blocks of paired rounds, take the labs down whatever happens, and assemble the
// report with summaries, tapyard-to-C ratios and the verdict (blocks.ts: how the rounds are laid
// out). The kernel-only reference paths, and the variants nothing is compared on, run in the first
// rounds only. Before the labs come down, goal rows the planned rounds left undecided may get a few
// more rounds of their block (follow-up.ts). Interrupted, the run stops starting steps, takes its
// labs down and returns what it measured, marked incomplete.

import { randomBytes } from 'node:crypto';
import { TapyardError } from '../../src/error.js';
import { measureQueuesSection, queueSteps } from '../queues/section.js';
import { measureVmSection, vmSteps } from '../vm/section.js';
import { BLOCK_LABEL, type Block, blocksOf, latencyBlocksOf, pathsOfKey, type Step, stepsOf } from './blocks.js';
import { coreCount } from './cpu.js';
import { planFollowUp } from './follow-up.js';
import { measureForeign } from './foreign.js';
import { tapyardUnavailable } from './forwarders.js';
import { type Lab, labDownAll, labUp } from './lab.js';
import { type LatencySetup, measureLatency, measureLatencyGroup } from './latency.js';
import { describeMachine } from './machine.js';
import { runMicro } from './micro.js';
import { median, roundOrder } from './paired.js';
import { FORWARDER_LABS, PATHS, type PathDef } from './paths.js';
import { Progress, type ProgressMode } from './progress.js';
import { measureRate } from './rate.js';
import { computeRatios, openGoals } from './ratios.js';
import {
  type BenchOptions,
  type Direction,
  type ForeignResult,
  type LabKind,
  type LatencyResult,
  type LatencySample,
  type NdrResult,
  type PathInfo,
  type QueuesSection,
  type RateResult,
  REPORT_SCHEMA,
  type Report,
  type TcpResult,
  type VmSection,
} from './report-schema.js';
import { mergeHistograms, percentilesOf, summarize } from './stats.js';
import { measureTcp } from './tcp.js';
import { verdict } from './verdict.js';
import { collectWarnings } from './warnings.js';

export interface RunIo {
  command: string[];
  progress: ProgressMode;
  /** Aborted on SIGINT/SIGTERM: no new step starts, the labs come down, the report says it is incomplete. */
  signal: AbortSignal;
}

const DIRECTIONS: readonly Direction[] = ['ext-to-guest', 'guest-to-ext'];

/** A locally administered unicast MAC, fresh per run, that no lab interface has. */
const foreignMac = (): string => ['02', ...[...randomBytes(5)].map((b) => b.toString(16).padStart(2, '0'))].join(':');

interface Results {
  tcp: TcpResult[];
  rate: RateResult[];
  ndr: NdrResult[];
  latency: LatencyResult[];
  foreign: ForeignResult[];
}

const emptyLatency = () => ({ samples: [], pooled: null, p50Ns: null, p99Ns: null, p999Ns: null });

/** Result slots in a fixed order (path order, then variant), filled round by round. */
function resultSlots(active: readonly PathDef[], opts: BenchOptions): Results {
  const out: Results = { tcp: [], rate: [], ndr: [], latency: [], foreign: [] };
  const wants = (m: string) => opts.measurements.includes(m);
  for (const p of active) {
    if (wants('tcp'))
      for (const offload of p.forwarder ? [false, true] : [null])
        for (const direction of DIRECTIONS)
          out.tcp.push({ path: p.id, offload, direction, samples: [], bitsPerSecond: null });
    if (wants('rate'))
      for (const frameSize of opts.frameSizes) {
        out.rate.push({ path: p.id, frameSize, samples: [], deliveredPerSecond: null, forwarderNsPerFrame: null });
        out.ndr.push({
          path: p.id,
          frameSize,
          ndrLossFraction: opts.ndrLossFraction,
          pdrLossFraction: opts.pdrLossFraction,
          samples: [],
          ndrPerSecond: null,
          pdrPerSecond: null,
        });
      }
    if (wants('latency')) {
      out.latency.push({ path: p.id, loadFraction: null, ...emptyLatency() });
      // Loaded latency needs the lab's 64-byte no-drop rates, measured in the rate blocks before it.
      if (wants('rate') && opts.frameSizes.includes('64'))
        for (const f of opts.loadFractions) out.latency.push({ path: p.id, loadFraction: f, ...emptyLatency() });
    }
    if (wants('foreign') && p.id !== 'ref-veth')
      for (const floodOff of p.lab === 'bridge' || p.lab === 'ref-bridge' ? [false, true] : [false])
        for (const r of opts.foreignRatesPerSecond)
          out.foreign.push({
            path: p.id,
            floodOff,
            offeredPerSecond: r,
            samples: [],
            labCores: null,
            hostExtraCores: null,
          });
  }
  return out;
}

/**
 * A second lab of each forwarder lab whose tapyard and C paths are both measured for latency: the
 * forwarder paths then run side by side, each on a lab of its own (latency.ts).
 */
interface Twins {
  kinds: LabKind[];
  /** The forwarder paths of those kinds, measured together. */
  group: string[];
  labs: Map<LabKind, Lab>;
  /**
   * The lab a path of the group is measured on in a round: of the two of its kind, the first
   * path takes one and the second the other, swapped every round so a difference between the
   * twins cancels out.
   */
  labOf: (path: PathDef, round: number) => Lab;
}

function twinLabs(active: readonly PathDef[], opts: BenchOptions, labs: ReadonlyMap<LabKind, Lab>): Twins {
  const has = (id: string) => active.some((p) => p.id === id);
  const kinds = opts.measurements.includes('latency')
    ? FORWARDER_LABS.filter((k) => has(`${k}/c`) && has(`${k}/tapyard`))
    : [];
  const group = active.filter((p) => kinds.includes(p.lab)).map((p) => p.id);
  const twins = new Map<LabKind, Lab>();
  return {
    kinds,
    group,
    labs: twins,
    labOf: (path, round) => {
      const sameKind = group.filter((id) => id.startsWith(`${path.lab}/`));
      const pick = (sameKind.indexOf(path.id) + round) % 2;
      return (pick === 0 ? labs : twins).get(path.lab) as Lab;
    },
  };
}

/** The median of a path's per-round values so far, or null. */
const medianSoFar = (values: readonly number[]) => (values.length ? median(values) : null);

function planBlocks(
  opts: BenchOptions,
  results: Results,
  pathDef: (id: string) => PathDef,
  lab: (id: string) => Lab,
  twins: Twins,
  foreignMacAddress: string,
): Block[] {
  const isRef = (id: string) => pathDef(id).forwarder === null;
  const roundsOf = (id: string, descriptive = false) =>
    isRef(id) || descriptive ? Math.min(opts.referenceRounds, opts.rounds) : opts.rounds;
  const tcpBlocks = blocksOf(
    results.tcp,
    (t) => BLOCK_LABEL.tcp(t.offload, t.direction),
    // Offloads off is shown, never compared: it runs in the reference rounds only.
    (t) => roundsOf(t.path, t.offload === false),
    async (t, round) => {
      const got = await measureTcp(
        pathDef(t.path),
        lab(t.path),
        t.offload === true,
        t.direction,
        opts.tcpSeconds,
        round,
      );
      t.samples.push(got);
    },
  );
  const rateBlocks = blocksOf(
    results.rate,
    (r) => BLOCK_LABEL.rate(r.frameSize),
    (r) => roundsOf(r.path),
    async (r, round) => {
      const n = results.ndr.find((x) => x.path === r.path && x.frameSize === r.frameSize) as NdrResult;
      const ndr = medianSoFar(n.samples.map((s) => s.ndrPerSecond));
      const pdr = medianSoFar(n.samples.map((s) => s.pdrPerSecond));
      const setup = {
        frameSize: r.frameSize,
        fullLoadSeconds: opts.rateSeconds,
        trialSeconds: opts.ndrTrialSeconds,
        fixedRateSeconds: opts.fixedRateSeconds,
        maxTrials: opts.ndrMaxTrials,
        resolutionFraction: opts.ndrResolutionFraction,
        ndrLossFraction: opts.ndrLossFraction,
        pdrLossFraction: opts.pdrLossFraction,
        timeBoundSeconds: opts.ndrTimeBoundSeconds,
        generatorCpu: opts.generatorCpu,
        forwarderCpu: opts.forwarderCpu,
        prior: ndr !== null && pdr !== null && ndr > 0 ? { ndr, pdr } : null,
      };
      const got = await measureRate(pathDef(r.path), lab(r.path), setup, round);
      r.samples.push(got.rate);
      n.samples.push(got.ndr);
    },
  );
  // Taken once per path: the rounds a follow-up adds after more rate rounds load it as the planned ones did.
  const bases = new Map<string, number>();
  const basisOf = (path: PathDef) => {
    const basis = bases.get(path.id) ?? loadBasis(results, path, pathDef);
    bases.set(path.id, basis);
    return basis;
  };
  const latencySetup = (l: LatencyResult): LatencySetup => {
    const idle = l.loadFraction === null;
    return {
      count: idle ? opts.latencyCount : opts.loadedLatencyCount,
      intervalUs: idle ? opts.latencyIntervalUs : opts.loadedLatencyIntervalUs,
      subBlocks: opts.loadedLatencySubBlocks, // idle paths are probed in turn, a round trip each
      loadPerSecond: idle ? 0 : basisOf(pathDef(l.path)) * (l.loadFraction ?? 0),
      generatorCpu: opts.generatorCpu,
      forwarderCpu: opts.forwarderCpu,
    };
  };
  const latencyBlocks = latencyBlocksOf(results.latency, twins.group, roundsOf, {
    single: async (l, round) => {
      l.samples.push(await measureLatency(pathDef(l.path), lab(l.path), latencySetup(l), round));
    },
    group: async (slots, round) => {
      // Each path keeps its own lab kind's load basis: macvtap and the bridge are loaded differently.
      const members = slots.map((l) => ({
        path: pathDef(l.path),
        lab: twins.labOf(pathDef(l.path), round),
        loadPerSecond: latencySetup(l).loadPerSecond,
      }));
      const got = await measureLatencyGroup(members, latencySetup(slots[0] as LatencyResult), round);
      for (const [i, l] of slots.entries()) l.samples.push(got[i] as LatencySample);
    },
  });
  // The verdict compares the paths at the top rate; the other rates and `flood off` are shown only.
  const topForeign = Math.max(...opts.foreignRatesPerSecond);
  const foreignBlocks = blocksOf(
    results.foreign,
    (f) => `foreign${f.floodOff ? ' flood off' : ''} ${f.offeredPerSecond / 1000}k/s`,
    (f) =>
      f.floodOff || f.offeredPerSecond !== topForeign
        ? roundsOf(f.path, true)
        : Math.min(roundsOf(f.path), opts.foreignRounds),
    async (f, round) => {
      const setup = {
        rate: f.offeredPerSecond,
        seconds: opts.foreignSeconds,
        floodOff: f.floodOff,
        foreignMac: foreignMacAddress,
        generatorCpu: opts.generatorCpu,
        forwarderCpu: opts.forwarderCpu,
      };
      f.samples.push(await measureForeign(pathDef(f.path), lab(f.path), setup, round));
    },
  );
  return [...tcpBlocks, ...rateBlocks, ...latencyBlocks, ...foreignBlocks];
}

/**
 * The rate a lab's latency-under-load rounds are loaded relative to: the lower of its forwarder
 * paths' median 64-byte partial-drop rates (so tapyard and the C loop are offered the same frames
 * per second), or a kernel-only path's own. The partial-drop rate, not the no-drop rate: on a busy
 * host a round's search may find no load without any loss at all, and a basis of 0 loads nothing.
 */
function loadBasis(results: Results, path: PathDef, pathDef: (id: string) => PathDef): number {
  const rates = results.ndr
    .filter((n) => n.frameSize === '64' && n.samples.length > 0)
    .filter((n) => (path.forwarder === null ? n.path === path.id : pathDef(n.path).lab === path.lab))
    .map((n) => median(n.samples.map((s) => s.pdrPerSecond)));
  const basis = rates.length ? Math.min(...rates) : 0;
  if (!(basis > 0)) throw new TapyardError('BENCH_PATH', 'no 64-byte partial-drop rate to load it with');
  return basis;
}

/** Seconds each path's steps took, by block (`block|path`; a step measuring several paths split evenly). */
type StepTimes = Map<string, number[]>;

/** What running steps needs and where it records what happened. */
interface StepRun {
  io: RunIo;
  progress: Progress;
  paths: PathInfo[];
  failures: string[];
  times: StepTimes;
}

/** Runs the steps in order; a failed step is recorded and the run goes on; an abort stops it. */
async function runSteps(steps: readonly Step[], { io, progress, paths, failures, times }: StepRun): Promise<void> {
  for (const step of steps) {
    if (io.signal.aborted) return;
    progress.step(step.label);
    const started = performance.now();
    try {
      await step.run();
      const each = (performance.now() - started) / 1000 / step.paths.length;
      for (const p of step.paths) times.set(`${step.block}|${p}`, [...(times.get(`${step.block}|${p}`) ?? []), each]);
    } catch (err) {
      if (io.signal.aborted) return;
      const message = err instanceof Error ? err.message : String(err);
      failures.push(`${step.label}: ${message}`);
      for (const info of paths.filter((p) => step.paths.includes(p.id))) {
        if (info.status === 'ok') info.status = 'failed';
        if (!info.note.includes(message)) info.note = `failed: ${message}`;
      }
    }
  }
}

/**
 * The keys one more round of `block` runs for a forwarder lab's row: the planned step that measures
 * its two forwarders side by side (latency: with every other path of the group, as planned), else
 * each forwarder's own step.
 */
function labKeys(block: Block, lab: string): string[] {
  const forwarders = [`${lab}/c`, `${lab}/tapyard`];
  const together = [...block.rounds.keys()].find((k) => forwarders.every((p) => pathsOfKey(k).includes(p)));
  return together !== undefined ? [together] : forwarders.filter((p) => block.rounds.has(p));
}

/**
 * Rounds added to the goal rows the planned rounds left undecided (follow-up.ts), while the labs
 * are still up. The plan is costed from the planned rounds' own steps; once its budget is spent
 * (and a little more, for rounds slower than planned) no further round starts.
 */
async function followUp(opts: BenchOptions, results: Results, blocks: readonly Block[], run: StepRun): Promise<void> {
  if (opts.followUpSeconds <= 0 || run.io.signal.aborted) return;
  summarizeAll(results);
  const median0 = (xs: readonly number[] | undefined) => (xs?.length ? median(xs) : 0);
  const costOf = (block: Block, keys: readonly string[]) =>
    keys.flatMap(pathsOfKey).reduce((sum, p) => sum + median0(run.times.get(`${block.label}|${p}`)), 0);
  const blockOf = (label: string) => blocks.find((b) => b.label === label);
  const rows = openGoals({ options: opts, ...results }).flatMap((g) => {
    const block = blockOf(g.block);
    if (block === undefined) return [];
    const keys = labKeys(block, g.lab);
    return [{ ...g, keys, roundSeconds: costOf(block, keys) }];
  });
  const plan = planFollowUp(rows, opts.followUpSeconds);
  const rounds = plan.flatMap((f) => {
    const block = blockOf(f.block) as Block;
    const last = opts.rounds + f.rounds;
    return Array.from({ length: f.rounds }, (_, i) =>
      roundOrder(f.keys, opts.rounds + i + 1).map(
        (key): Step => ({
          label: `follow-up ${block.label} ${key} round ${opts.rounds + i + 1}/${last}`,
          block: block.label,
          key,
          paths: pathsOfKey(key),
          run: () => block.step(key, opts.rounds + i + 1),
        }),
      ),
    );
  });
  run.progress.add(rounds.flat().length);
  // The plan fits the budget by the planned rounds' times; a slower round may overrun it a little.
  const deadline = performance.now() + opts.followUpSeconds * 1.15 * 1000;
  for (const round of rounds) {
    if (performance.now() > deadline) {
      run.progress.add(-round.length);
      continue;
    }
    await runSteps(round, run);
  }
}

function summarizeAll(r: Results): void {
  for (const t of r.tcp) t.bitsPerSecond = summarize(t.samples.map((s) => s.bitsPerSecond));
  for (const x of r.rate) {
    x.deliveredPerSecond = summarize(x.samples.map((s) => s.trial.deliveredPerSecond));
    x.forwarderNsPerFrame = summarize(x.samples.flatMap((s) => s.forwarderNsPerFrame ?? []));
  }
  for (const n of r.ndr) {
    n.ndrPerSecond = summarize(n.samples.map((s) => s.ndrPerSecond));
    n.pdrPerSecond = summarize(n.samples.map((s) => s.pdrPerSecond));
  }
  for (const l of r.latency) {
    if (l.samples.length) l.pooled = percentilesOf(mergeHistograms(l.samples.map((s) => s.histogram)));
    l.p50Ns = summarize(l.samples.map((s) => s.percentiles.p50Ns));
    l.p99Ns = summarize(l.samples.map((s) => s.percentiles.p99Ns));
    l.p999Ns = summarize(l.samples.map((s) => s.percentiles.p999Ns));
  }
  for (const f of r.foreign) {
    f.labCores = summarize(f.samples.map((s) => s.labCores));
    f.hostExtraCores = summarize(f.samples.map((s) => s.hostExtraCores));
  }
}

const notMeasured = (why: string) => ({ status: 'skipped' as const, note: why, rows: [] });

/** The VM and queue sections, each skipped when not asked for or when the run was interrupted. */
async function sections(
  opts: BenchOptions,
  io: RunIo,
  progress: Progress,
  failures: string[],
  mac: string,
): Promise<{ vm: VmSection; queues: QueuesSection }> {
  const wants = (m: string) => opts.measurements.includes(m);
  const skipped = (m: string) =>
    io.signal.aborted ? 'Not measured: the run was interrupted.' : `Not measured in this run (--only ${m}).`;
  const step = (label: string) => progress.step(label);
  // An interrupted section throws; what it measured is lost, the rest of the report stands.
  const interrupted = (err: unknown) => {
    if (io.signal.aborted) return null;
    throw err;
  };
  const vm: VmSection =
    wants('vm') && !io.signal.aborted
      ? ((await measureVmSection({
          accel: opts.vmAccel,
          paths: opts.vmPaths,
          rounds: opts.vmRounds,
          setup: {
            tcpSeconds: opts.vmTcpSeconds,
            rateSeconds: opts.vmRateSeconds,
            pings: opts.vmPings,
            foreignSeconds: opts.vmForeignSeconds,
            foreignMac: mac,
            generatorCpu: opts.generatorCpu,
          },
          signal: io.signal,
          step,
          failures,
        }).catch(interrupted)) ?? { ...notMeasured(skipped('vm')), accel: null })
      : { ...notMeasured(skipped('vm')), accel: null };
  const queues: QueuesSection =
    wants('queues') && !io.signal.aborted
      ? ((await measureQueuesSection({
          cores: coreCount(),
          seconds: opts.queuesSeconds,
          signal: io.signal,
          step,
          failures,
        }).catch(interrupted)) ?? { ...notMeasured(skipped('queues')), cores: coreCount(), flows: 0 })
      : { ...notMeasured(skipped('queues')), cores: coreCount(), flows: 0 };
  return { vm, queues };
}

export async function runBench(opts: BenchOptions, io: RunIo): Promise<Report> {
  const startedAt = new Date();
  const machine = await describeMachine();
  const tapyardMissing = tapyardUnavailable();
  // `--only vm` (or queues) measures none of the namespace paths: the report lists none.
  const namespacePaths = opts.measurements.some((m) => m !== 'vm' && m !== 'queues');
  const chosen = namespacePaths ? PATHS.filter((p) => opts.paths.includes(p.id)) : [];
  const paths: PathInfo[] = chosen.map((p) => ({
    id: p.id,
    lab: p.lab,
    forwarder: p.forwarder,
    kernelOffloads: p.forwarder === null,
    status: p.forwarder === 'tapyard' && tapyardMissing ? 'skipped' : 'ok',
    note: p.forwarder === 'tapyard' && tapyardMissing ? tapyardMissing : p.describe,
  }));
  const active = chosen.filter((p) => paths.find((i) => i.id === p.id)?.status === 'ok');
  const results = resultSlots(active, opts);
  const failures: string[] = [];
  const labs = new Map<LabKind, Lab>();
  const mac = foreignMac();
  const pathDef = (id: string): PathDef => active.find((p) => p.id === id) as PathDef;
  const lab = (id: string): Lab => labs.get(pathDef(id).lab) as Lab;
  const twins = twinLabs(active, opts, labs);
  const blocks = planBlocks(opts, results, pathDef, lab, twins, mac);
  const steps = stepsOf(
    blocks,
    active.map((p) => p.id),
  );
  // Labs only for the measurements that use them (`--only vm` builds none of these).
  const kinds = steps.length ? [...new Set(active.map((p) => p.lab))] : [];
  const vmStepCount = opts.measurements.includes('vm') ? vmSteps(opts.vmPaths, opts.vmRounds).length : 0;
  const queuesSteps = opts.measurements.includes('queues') ? queueSteps(coreCount()).length : 0;
  const progress = new Progress(
    kinds.length + twins.kinds.length + steps.length + vmStepCount + queuesSteps + 1,
    io.progress,
  );
  try {
    const wanted = steps.length ? [...kinds, ...twins.kinds] : [];
    for (const [i, kind] of wanted.entries()) {
      if (io.signal.aborted) break;
      const second = i >= kinds.length;
      progress.step(`lab up ${kind}${second ? ' (twin, for paired latency)' : ''}`);
      try {
        const up = await labUp(kind);
        if (second) twins.labs.set(kind, up);
        else labs.set(kind, up);
      } catch (err) {
        // Interrupted while a lab came up (it takes the signal too and removes itself): the run
        // ends as any interrupted run, with the report of what was measured (nothing yet).
        if (io.signal.aborted) break;
        throw err;
      }
    }
    const run: StepRun = { io, progress, paths, failures, times: new Map() };
    if (labs.size + twins.labs.size === wanted.length) {
      await runSteps(steps, run);
      await followUp(opts, results, blocks, run);
    }
  } finally {
    await labDownAll();
  }
  const { vm, queues } = await sections(opts, io, progress, failures, mac);
  let micro: Report['micro'] = { status: 'absent', note: 'not run: the run was interrupted', results: [] };
  if (!io.signal.aborted) {
    progress.step('micro benchmarks');
    micro = await runMicro(opts.quick);
  }
  progress.finish();
  summarizeAll(results);
  const finishedAt = new Date();
  const report: Report = {
    schema: REPORT_SCHEMA,
    startedAt: startedAt.toISOString(),
    finishedAt: finishedAt.toISOString(),
    durationS: (finishedAt.getTime() - startedAt.getTime()) / 1000,
    command: io.command,
    options: opts,
    machine,
    complete: !io.signal.aborted,
    verdict: [],
    labs: [...labs.values(), ...twins.labs.values()].map((l) => ({ kind: l.kind, id: l.id })),
    paths,
    ...results,
    vm,
    queues,
    ratios: [],
    micro,
    warnings: [],
    failures,
  };
  report.ratios = computeRatios(report);
  report.warnings = collectWarnings(report);
  report.verdict = verdict(report);
  return report;
}
