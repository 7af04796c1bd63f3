// One benchmark run: describe the machine, build every lab the chosen paths need, run every
// measurement repetition by repetition (each repetition visits every path, so slow drift of a
// shared machine hits all paths alike), take the labs down whatever happens, and assemble the
// report with summaries, tapyard-to-C ratios and warnings.

import { randomBytes } from 'node:crypto';
import { TapyardError } from '../../src/error.js';
import { measureQueuesSection, queueSteps } from '../queues/section.js';
import { measureVmSection, VM_STEPS } from '../vm/section.js';
import { coreCount } from './cpu.js';
import { measureForeign } from './foreign.js';
import { tapyardUnavailable } from './forwarders.js';
import { type Lab, labDownAll, labUp } from './lab.js';
import { measureLatency } from './latency.js';
import { describeMachine } from './machine.js';
import { runMicro } from './micro.js';
import { PATHS, type PathDef } from './paths.js';
import { Progress } from './progress.js';
import { measureRate } from './rate.js';
import { computeRatios } from './ratios.js';
import {
  type BenchOptions,
  type Direction,
  type ForeignResult,
  type LabKind,
  type LatencyResult,
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
  progress: boolean;
  /** Aborted on SIGINT/SIGTERM: no new step starts, the labs come down, the run rejects. */
  signal: AbortSignal;
}

interface Step {
  label: string;
  path: string;
  run: () => Promise<void>;
}

const DIRECTIONS: readonly Direction[] = ['ext-to-guest', 'guest-to-ext'];

/** A locally administered unicast MAC, fresh per run, that no lab interface has. */
const foreignMac = (): string => ['02', ...[...randomBytes(5)].map((b) => b.toString(16).padStart(2, '0'))].join(':');

const offloadLabel = (offload: boolean | null) => (offload === null ? '' : offload ? ' offload on' : ' offload off');

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
  const active = chosen.filter((p) => paths.find((i) => i.id === p.id)!.status === 'ok');

  const tcp: TcpResult[] = [];
  const rate: RateResult[] = [];
  const ndr: NdrResult[] = [];
  const latency: LatencyResult[] = [];
  const foreign: ForeignResult[] = [];
  const failures: string[] = [];
  const labs = new Map<LabKind, Lab>();
  const mac = foreignMac();
  const wants = (m: string) => opts.measurements.includes(m);
  const empty = () => ({ samples: [], pooled: null, p50Ns: null, p99Ns: null, p999Ns: null });

  // Result slots in a fixed order (path order, then variant), filled repetition by repetition.
  for (const p of active) {
    if (wants('tcp'))
      for (const offload of p.forwarder ? [false, true] : [null])
        for (const direction of DIRECTIONS)
          tcp.push({ path: p.id, offload, direction, samples: [], bitsPerSecond: null });
    if (wants('rate'))
      for (const frameSize of opts.frameSizes) {
        rate.push({ path: p.id, frameSize, samples: [], deliveredPerSecond: null, forwarderNsPerFrame: null });
        const lossLimitFraction = opts.ndrLossLimitFraction;
        ndr.push({ path: p.id, frameSize, lossLimitFraction, samples: [], ndrPerSecond: null });
      }
    if (wants('latency')) {
      latency.push({ path: p.id, loadFraction: null, ...empty() });
      // Loaded latency needs this path's 64-byte no-drop rate from the same repetition.
      if (wants('rate') && opts.frameSizes.includes('64'))
        for (const f of opts.loadFractions) latency.push({ path: p.id, loadFraction: f, ...empty() });
    }
    if (wants('foreign') && p.id !== 'ref-veth')
      for (const floodOff of p.lab === 'bridge' || p.lab === 'ref-bridge' ? [false, true] : [false])
        for (const r of opts.foreignRatesPerSecond)
          foreign.push({
            path: p.id,
            floodOff,
            offeredPerSecond: r,
            samples: [],
            labCores: null,
            hostExtraCores: null,
          });
  }

  const pathDef = (id: string): PathDef => active.find((p) => p.id === id)!;
  const lab = (id: string): Lab => labs.get(pathDef(id).lab)!;
  const steps: Step[] = [];
  for (let rep = 1; rep <= opts.reps; rep++) {
    const of = `rep ${rep}/${opts.reps}`;
    for (const t of tcp)
      steps.push({
        label: `tcp ${t.path}${offloadLabel(t.offload)} ${t.direction} ${of}`,
        path: t.path,
        run: async () =>
          void t.samples.push(
            await measureTcp(pathDef(t.path), lab(t.path), t.offload === true, t.direction, opts.tcpSeconds, rep),
          ),
      });
    rate.forEach((r, i) => {
      const setup = {
        frameSize: r.frameSize,
        fullLoadSeconds: opts.rateSeconds,
        trialSeconds: opts.ndrTrialSeconds,
        maxTrials: opts.ndrMaxTrials,
        resolutionFraction: opts.ndrResolutionFraction,
        lossLimitFraction: opts.ndrLossLimitFraction,
        timeBoundSeconds: opts.ndrTimeBoundSeconds,
        generatorCpu: opts.generatorCpu,
        forwarderCpu: opts.forwarderCpu,
      };
      steps.push({
        label: `rate + no-drop search ${r.path} ${r.frameSize} ${of}`,
        path: r.path,
        run: async () => {
          const got = await measureRate(pathDef(r.path), lab(r.path), setup, rep);
          r.samples.push(got.rate);
          ndr[i]!.samples.push(got.ndr);
        },
      });
    });
    for (const l of latency) {
      const load = l.loadFraction;
      steps.push({
        label: `latency ${l.path}${load === null ? ' idle' : ` at ${load * 100}% of NDR`} ${of}`,
        path: l.path,
        run: async () => {
          let loadPerSecond = 0;
          if (load !== null) {
            const base = ndr.find((n) => n.path === l.path && n.frameSize === '64')?.samples.find((s) => s.rep === rep);
            if (!base?.ndrPerSecond) throw new TapyardError('BENCH_PATH', 'no 64-byte no-drop rate to load it with');
            loadPerSecond = base.ndrPerSecond * load;
          }
          const setup = {
            count: load === null ? opts.latencyCount : opts.loadedLatencyCount,
            intervalUs: load === null ? opts.latencyIntervalUs : opts.loadedLatencyIntervalUs,
            loadPerSecond,
            generatorCpu: opts.generatorCpu,
            forwarderCpu: opts.forwarderCpu,
          };
          l.samples.push(await measureLatency(pathDef(l.path), lab(l.path), setup, rep));
        },
      });
    }
    for (const f of foreign) {
      const setup = {
        rate: f.offeredPerSecond,
        seconds: opts.foreignSeconds,
        floodOff: f.floodOff,
        foreignMac: mac,
        generatorCpu: opts.generatorCpu,
        forwarderCpu: opts.forwarderCpu,
      };
      steps.push({
        label: `foreign ${f.path}${f.floodOff ? ' flood off' : ''} ${f.offeredPerSecond / 1000}k/s ${of}`,
        path: f.path,
        run: async () => void f.samples.push(await measureForeign(pathDef(f.path), lab(f.path), setup, rep)),
      });
    }
  }
  // Labs only for the measurements that use them (`--only vm` builds none of these).
  const kinds = steps.length ? [...new Set(active.map((p) => p.lab))] : [];
  const vmSteps = wants('vm') ? VM_STEPS.length : 0;
  const queuesSteps = wants('queues') ? queueSteps(coreCount()).length : 0;
  const progress = new Progress(kinds.length + steps.length + vmSteps + queuesSteps + 1, io.progress);
  const checkAbort = () => {
    if (io.signal.aborted) throw new TapyardError('EINTR', 'bench: interrupted; the labs were taken down');
  };
  try {
    for (const kind of kinds) {
      checkAbort();
      progress.step(`lab up ${kind}`);
      labs.set(kind, await labUp(kind));
    }
    for (const step of steps) {
      checkAbort();
      progress.step(step.label);
      try {
        await step.run();
      } catch (err) {
        checkAbort();
        const message = err instanceof Error ? err.message : String(err);
        failures.push(`${step.label}: ${message}`);
        const info = paths.find((p) => p.id === step.path)!;
        if (info.status === 'ok') info.status = 'failed';
        if (!info.note.includes(message)) info.note = `failed: ${message}`;
      }
    }
  } catch (err) {
    progress.finish();
    throw err;
  } finally {
    await labDownAll();
  }
  checkAbort();
  // A section that throws (interrupted) ends the progress line before the error is said.
  const endProgress = (err: unknown): never => {
    progress.finish();
    throw err;
  };
  const vm: VmSection = wants('vm')
    ? await measureVmSection({
        accel: opts.vmAccel,
        setup: {
          tcpSeconds: opts.vmTcpSeconds,
          rateSeconds: opts.vmRateSeconds,
          pings: opts.vmPings,
          foreignSeconds: opts.vmForeignSeconds,
          foreignMac: mac,
          generatorCpu: opts.generatorCpu,
        },
        signal: io.signal,
        step: (label) => progress.step(label),
        failures,
      }).catch(endProgress)
    : { status: 'skipped', accel: null, note: 'Not measured in this run (--only).', rows: [] };
  checkAbort();
  const queues: QueuesSection = wants('queues')
    ? await measureQueuesSection({
        cores: coreCount(),
        seconds: opts.queuesSeconds,
        signal: io.signal,
        step: (label) => progress.step(label),
        failures,
      }).catch(endProgress)
    : { status: 'skipped', cores: coreCount(), flows: 0, note: 'Not measured in this run (--only).', rows: [] };
  checkAbort();
  progress.step('micro benchmarks');
  const micro = await runMicro(opts.quick);
  progress.finish();
  checkAbort();

  for (const t of tcp) t.bitsPerSecond = summarize(t.samples.map((s) => s.bitsPerSecond));
  for (const r of rate) {
    r.deliveredPerSecond = summarize(r.samples.map((s) => s.trial.deliveredPerSecond));
    r.forwarderNsPerFrame = summarize(r.samples.flatMap((s) => s.forwarderNsPerFrame ?? []));
  }
  for (const n of ndr) n.ndrPerSecond = summarize(n.samples.map((s) => s.ndrPerSecond));
  for (const l of latency) {
    if (l.samples.length) l.pooled = percentilesOf(mergeHistograms(l.samples.map((s) => s.histogram)));
    l.p50Ns = summarize(l.samples.map((s) => s.percentiles.p50Ns));
    l.p99Ns = summarize(l.samples.map((s) => s.percentiles.p99Ns));
    l.p999Ns = summarize(l.samples.map((s) => s.percentiles.p999Ns));
  }
  for (const f of foreign) {
    f.labCores = summarize(f.samples.map((s) => s.labCores));
    f.hostExtraCores = summarize(f.samples.map((s) => s.hostExtraCores));
  }

  const finishedAt = new Date();
  const report: Report = {
    schema: REPORT_SCHEMA,
    startedAt: startedAt.toISOString(),
    finishedAt: finishedAt.toISOString(),
    durationS: (finishedAt.getTime() - startedAt.getTime()) / 1000,
    command: io.command,
    options: opts,
    machine,
    verdict: [],
    labs: [...labs.values()].map((l) => ({ kind: l.kind, id: l.id })),
    paths,
    tcp,
    rate,
    ndr,
    latency,
    foreign,
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
