// One benchmark run: describe the machine, build every lab the chosen paths need, run every
// measurement repetition by repetition (each repetition visits every path, so slow drift of a
// shared machine hits all paths alike), take the labs down whatever happens, and assemble the
// report with summaries, tapyard-to-C ratios and warnings.

import { randomBytes } from 'node:crypto';
import { TapyardError } from '../../src/error.js';
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
  type ForeignResult,
  type LabKind,
  type LatencyResult,
  type PathInfo,
  type RateResult,
  REPORT_SCHEMA,
  type Report,
  type TcpResult,
} from './report-schema.js';
import { summarize } from './stats.js';
import { type Direction, measureTcp } from './tcp.js';
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

export async function runBench(opts: BenchOptions, io: RunIo): Promise<Report> {
  const startedAt = new Date();
  const machine = await describeMachine();

  const tapyardMissing = tapyardUnavailable();
  const chosen = PATHS.filter((p) => opts.paths.includes(p.id));
  const paths: PathInfo[] = chosen.map((p) => ({
    id: p.id,
    lab: p.lab,
    forwarder: p.forwarder,
    status: p.forwarder === 'tapyard' && tapyardMissing ? 'skipped' : 'ok',
    note: p.forwarder === 'tapyard' && tapyardMissing ? tapyardMissing : p.describe,
  }));
  const active = chosen.filter((p) => paths.find((i) => i.id === p.id)!.status === 'ok');

  const tcp: TcpResult[] = [];
  const rate: RateResult[] = [];
  const latency: LatencyResult[] = [];
  const foreign: ForeignResult[] = [];
  const failures: string[] = [];
  const labs = new Map<LabKind, Lab>();
  const mac = foreignMac();
  const wants = (m: string) => opts.measurements.includes(m);

  // Result slots in a fixed order (path order, then variant), filled repetition by repetition.
  for (const p of active) {
    if (wants('tcp'))
      for (const offload of p.forwarder ? [false, true] : [null])
        for (const direction of DIRECTIONS) tcp.push({ path: p.id, offload, direction, samples: [], summary: null });
    if (wants('rate'))
      for (const frameSize of opts.frameSizes) rate.push({ path: p.id, frameSize, samples: [], summary: null });
    if (wants('latency')) latency.push({ path: p.id, samples: [], p50: null, p90: null, p99: null });
    if (wants('foreign') && p.id !== 'ref-veth')
      for (const floodOff of p.lab === 'bridge' || p.lab === 'ref-bridge' ? [false, true] : [false])
        for (const r of opts.foreignRates)
          foreign.push({ path: p.id, floodOff, rate: r, samples: [], labCores: null, hostExtraCores: null });
  }

  const pathDef = (id: string): PathDef => active.find((p) => p.id === id)!;
  const lab = (id: string): Lab => labs.get(pathDef(id).lab)!;
  const steps: Step[] = [];
  for (let rep = 1; rep <= opts.reps; rep++) {
    const of = `rep ${rep}/${opts.reps}`;
    for (const t of tcp) {
      const label = `tcp ${t.path}${t.offload === null ? '' : t.offload ? ' offload on' : ' offload off'} ${t.direction} ${of}`;
      steps.push({
        label,
        path: t.path,
        run: async () =>
          void t.samples.push(
            await measureTcp(pathDef(t.path), lab(t.path), t.offload === true, t.direction, opts.tcpSeconds, rep),
          ),
      });
    }
    for (const r of rate) {
      const setup = {
        frameSize: r.frameSize,
        seconds: opts.rateSeconds,
        generatorCpu: opts.generatorCpu,
        forwarderCpu: opts.forwarderCpu,
      };
      steps.push({
        label: `rate ${r.path} ${r.frameSize + 4} B ${of}`,
        path: r.path,
        run: async () => void r.samples.push(await measureRate(pathDef(r.path), lab(r.path), setup, rep)),
      });
    }
    for (const l of latency)
      steps.push({
        label: `latency ${l.path} ${of}`,
        path: l.path,
        run: async () =>
          void l.samples.push(
            await measureLatency(pathDef(l.path), lab(l.path), opts.latencyCount, opts.latencyIntervalUs, rep),
          ),
      });
    for (const f of foreign) {
      const setup = {
        rate: f.rate,
        seconds: opts.foreignSeconds,
        floodOff: f.floodOff,
        foreignMac: mac,
        generatorCpu: opts.generatorCpu,
        forwarderCpu: opts.forwarderCpu,
      };
      const label = `foreign ${f.path}${f.floodOff ? ' flood off' : ''} ${f.rate / 1000}k/s ${of}`;
      steps.push({
        label,
        path: f.path,
        run: async () => void f.samples.push(await measureForeign(pathDef(f.path), lab(f.path), setup, rep)),
      });
    }
  }

  const kinds = [...new Set(active.map((p) => p.lab))];
  const progress = new Progress(kinds.length + steps.length + 1, io.progress);
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
  progress.step('micro benchmarks');
  const micro = await runMicro(opts.quick);
  progress.finish();
  checkAbort();

  for (const t of tcp) t.summary = summarize(t.samples.map((s) => s.bitsPerSecond));
  for (const r of rate) r.summary = summarize(r.samples.map((s) => s.deliveredPerSecond));
  for (const l of latency) {
    l.p50 = summarize(l.samples.map((s) => s.p50));
    l.p90 = summarize(l.samples.map((s) => s.p90));
    l.p99 = summarize(l.samples.map((s) => s.p99));
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
    seconds: (finishedAt.getTime() - startedAt.getTime()) / 1000,
    command: io.command,
    options: opts,
    machine,
    labs: [...labs.values()].map((l) => ({ kind: l.kind, id: l.id })),
    paths,
    tcp,
    rate,
    latency,
    foreign,
    ratios: [],
    micro,
    warnings: [],
    failures,
  };
  report.ratios = computeRatios(report);
  report.warnings = collectWarnings(report);
  return report;
}
