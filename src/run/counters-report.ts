// The counters of a run, in one shape for the per-second lines and the final report (text and
// JSON alike); docs/forward-output.schema.json describes it.

import type { Forwarder, Ledger } from '../engine/forwarder.js';
import type { TapyardError } from '../error.js';
import type { GuestCounts } from '../guest/host.js';
import type { CountersSnapshot } from '../port/counters.js';
import { GuestPort } from '../port/guest.js';
import type { KernelDrops } from '../port/kernel-drops.js';
import type { Port } from '../port/port.js';
import { isQemuPort, type QemuPeerCounters } from '../port/qemu.js';
import { isVhostUserPort, type VhostPeerCounters } from '../port/vhost-user.js';
import type { QueueSample } from './queue-protocol.js';

/** A port's row: its name and device, its counters (drops by reason: docs/drop-reasons.md), and more. */
export interface PortReport extends CountersSnapshot {
  name: string;
  device: string;
  /**
   * What the kernel dropped on this port's device since tapyard opened it, beside tapyard's own
   * drops: before tapyard could read (a full queue) and after tapyard's write. null: not known.
   */
  kernel: KernelDrops | null;
  /** A built-in guest's own counts: what it received, by kind, and how much it answered. */
  guest?: GuestCounts;
  /** A qemu port's VM: attached, gone, refused, cut off for a broken length. */
  qemu?: QemuPeerCounters;
  /** A vhost-user port's VM: attached, gone, refused; messages refused, rings the guest broke. */
  vhostUser?: VhostPeerCounters;
  /**
   * The port's impairments (on the frames written to it): the seed that repeats the run, the
   * frames held now (part of the ledger's queued), and what was done to the frames so far
   * (lost and over-limit frames are under drops).
   */
  impair?: ImpairCounts;
  /** Over the last interval (per-second lines) or the whole run (final). */
  rate: { rxPps: number; txPps: number; rxMbps: number; txMbps: number; dropPps: number };
}

/** The forwarder process's own memory: what a soak watches for a leak, beside the frames. */
export interface MemoryReport {
  rssBytes: number;
  /** V8's heap in use and reserved: a JavaScript leak grows heapUsedBytes. */
  heapUsedBytes: number;
  heapTotalBytes: number;
  /** Memory outside the heap held by JavaScript objects (Buffers, the addon's batches). */
  externalBytes: number;
}

export interface ImpairCounts {
  seed: number;
  held: number;
  duplicated: number;
  corrupted: number;
  reordered: number;
}

export interface CountersReport {
  type: 'interval' | 'final';
  /** Wall-clock time of the report, ISO 8601. */
  time: string;
  /** Seconds since forwarding started. */
  seconds: number;
  ports: PortReport[];
  ledger: Ledger;
  /** With --queues N: true only when every queue balances and so does the total. */
  balanced: boolean;
  memory: MemoryReport;
  /** With --queues N: each queue's own counters and ledger (the rows above are their sums). */
  queues?: QueueReport[];
  error?: string;
}

export interface QueuePortCounters extends CountersSnapshot {
  name: string;
}

export interface QueueReport {
  queue: number;
  ports: QueuePortCounters[];
  ledger: Ledger;
  balanced: boolean;
}

/** What one report of a single-queue run is made of. */
export interface CountersReportOptions {
  readonly type: CountersReport['type'];
  readonly forwarder: Forwarder;
  readonly ports: readonly Port[];
  /** Seconds since forwarding started. */
  readonly seconds: number;
  /** The report the rates run from (per-second lines); null: from the start. */
  readonly previous: CountersReport | null;
  /** The failure that ended the run, for the final report. */
  readonly fatal: TapyardError | null;
}

export function countersReport({
  type,
  forwarder,
  ports,
  seconds,
  previous,
  fatal,
}: CountersReportOptions): CountersReport {
  const { portRow, before } = rowsSince(previous, seconds);
  const rows = ports.map((p, i) => {
    const impairment = forwarder.impairment(i);
    return {
      ...portRow(p, p.counters.snapshot(), p.kernelDrops?.() ?? null, before(i)),
      ...(p instanceof GuestPort ? { guest: { ...p.counts } } : {}),
      ...(isQemuPort(p) ? { qemu: { ...p.peer } } : {}),
      ...(isVhostUserPort(p) ? { vhostUser: { ...p.peer } } : {}),
      ...(impairment === null
        ? {}
        : {
            impair: {
              seed: impairment.config.seed,
              held: impairment.held,
              duplicated: impairment.duplicated,
              corrupted: impairment.corrupted,
              reordered: impairment.reordered,
            },
          }),
    };
  });
  return assemble({ type, seconds, ports: rows, ledger: forwarder.ledger(), error: fatal?.message ?? null });
}

/** What one report of a `forward --queues N` run is made of. */
export interface QueuesReportOptions {
  readonly type: CountersReport['type'];
  /** The ports, in the order of each sample's rows. */
  readonly names: readonly { name: string; device: string }[];
  /** One per queue, in queue order. */
  readonly samples: readonly QueueSample[];
  /** Seconds since forwarding started. */
  readonly seconds: number;
  /** The report the rates run from (per-second lines); null: from the start. */
  readonly previous: CountersReport | null;
  /** The sentence of the failure that ended the run, for the final report. */
  readonly error: string | null;
}

/**
 * The same report for `forward --queues N`, from each queue's sample: a port's row sums its N
 * queues, the ledger sums theirs, and `queues` keeps each one's own counters and ledger. Each
 * queue must balance on its own, and so must the total.
 */
export function queuesReport({ type, names, samples, seconds, previous, error }: QueuesReportOptions): CountersReport {
  const { portRow, before } = rowsSince(previous, seconds);
  const rows = names.map((p, i) => {
    const total = sumSnapshots(samples.map((s) => s.ports[i]!));
    const kernel = samples.find((s) => s.kernel[i] !== null)?.kernel[i] ?? null;
    return portRow(p, total, kernel, before(i));
  });
  const queues = samples.map((s, queue) => ({
    queue,
    ports: s.ports.map((snapshot, i) => ({ name: names[i]!.name, ...snapshot })),
    ledger: s.ledger,
    balanced: balances(s.ledger),
  }));
  const ledger = sumLedgers(samples.map((s) => s.ledger));
  const report = assemble({ type, seconds, ports: rows, ledger, error });
  report.queues = queues;
  report.balanced = report.balanced && queues.every((q) => q.balanced);
  return report;
}

function balances(l: Ledger): boolean {
  return l.rx + l.clones === l.tx + l.drops + l.queued;
}

/** A report's parts, before its time, balance and memory are added. */
interface ReportParts {
  readonly type: CountersReport['type'];
  readonly seconds: number;
  readonly ports: PortReport[];
  readonly ledger: Ledger;
  readonly error: string | null;
}

function assemble({ type, seconds, ports, ledger, error }: ReportParts): CountersReport {
  const report: CountersReport = {
    type,
    time: new Date().toISOString(),
    seconds: Math.round(seconds * 1000) / 1000,
    ports,
    ledger,
    balanced: balances(ledger),
    memory: memoryReport(),
  };
  if (error !== null) report.error = error;
  return report;
}

/** Rows whose rates run from the previous report (per-second lines) or the start (final). */
function rowsSince(previous: CountersReport | null, seconds: number) {
  const span = previous === null ? seconds : seconds - previous.seconds;
  const per = (n: number) => (span > 0 ? Math.round(n / span) : 0);
  const mbps = (bytes: number) => (span > 0 ? Math.round((bytes * 8) / span / 1e3) / 1e3 : 0);
  const portRow = (
    { name, device }: { name: string; device: string },
    s: CountersSnapshot,
    kernel: KernelDrops | null,
    was: PortReport | undefined,
  ): PortReport => {
    const dropped = Object.values(s.drops).reduce((a, b) => a + b, 0);
    const droppedBefore = was === undefined ? 0 : Object.values(was.drops).reduce((a, b) => a + b, 0);
    return {
      name,
      device,
      ...s,
      kernel,
      rate: {
        rxPps: per(s.rxFrames - (was?.rxFrames ?? 0)),
        txPps: per(s.txFrames - (was?.txFrames ?? 0)),
        rxMbps: mbps(s.rxBytes - (was?.rxBytes ?? 0)),
        txMbps: mbps(s.txBytes - (was?.txBytes ?? 0)),
        dropPps: per(dropped - droppedBefore),
      },
    };
  };
  return { portRow, before: (i: number) => previous?.ports[i] };
}

function sumSnapshots(all: readonly CountersSnapshot[]): CountersSnapshot {
  const total: CountersSnapshot = {
    rxFrames: 0,
    rxBytes: 0,
    txFrames: 0,
    txBytes: 0,
    splicedFrames: 0,
    spoofedSource: 0,
    drops: {},
  };
  for (const s of all) {
    total.rxFrames += s.rxFrames;
    total.rxBytes += s.rxBytes;
    total.txFrames += s.txFrames;
    total.txBytes += s.txBytes;
    total.splicedFrames += s.splicedFrames;
    total.spoofedSource += s.spoofedSource;
    for (const [reason, n] of Object.entries(s.drops)) total.drops[reason] = (total.drops[reason] ?? 0) + n;
  }
  return total;
}

function sumLedgers(all: readonly Ledger[]): Ledger {
  const total: Ledger = { rx: 0, clones: 0, tx: 0, drops: 0, queued: 0 };
  for (const l of all) {
    total.rx += l.rx;
    total.clones += l.clones;
    total.tx += l.tx;
    total.drops += l.drops;
    total.queued += l.queued;
  }
  return total;
}

function memoryReport(): MemoryReport {
  const m = process.memoryUsage();
  return { rssBytes: m.rss, heapUsedBytes: m.heapUsed, heapTotalBytes: m.heapTotal, externalBytes: m.external };
}

/** A report as one JSON line (--json), or as printReport's text. */
export function printCounters(json: boolean, report: CountersReport, print: (line: string) => void): void {
  if (json) print(JSON.stringify(report));
  else printReport(report, print);
}

export function printReport(report: CountersReport, print: (line: string) => void): void {
  print(`\ncounters after ${report.seconds.toFixed(1)} s:`);
  const pad = Math.max(...report.ports.map((p) => p.name.length));
  for (const p of report.ports) {
    const drops = Object.entries(p.drops).map(([reason, n]) => `${reason} ${n}`);
    const k = p.kernel;
    const why = (k?.reasons ?? []).map((r) => `${r.reason} in ${r.fn} ${r.count}`);
    const kernel =
      k === null
        ? ''
        : `; the kernel dropped ${k.beforeRead} before our read, ${k.afterWrite} after our write` +
          `${why.length === 0 ? '' : ` (its reasons: ${why.join(', ')})`}`;
    print(
      `  ${p.name.padEnd(pad)}  rx ${p.rxFrames} frames ${p.rxBytes} B  tx ${p.txFrames} frames ${p.txBytes} B  ` +
        `drops ${drops.length === 0 ? '0' : drops.join(', ')}${kernel}`,
    );
    if (p.spoofedSource > 0) {
      print(`  ${' '.repeat(pad)}  spoofed source ${p.spoofedSource}: sent with a source MAC not the port's own`);
    }
    const g = p.guest;
    if (g !== undefined) {
      const kinds = `arp ${g.arp}, icmp ${g.icmp}, icmpv6 ${g.icmpv6}, udp ${g.udp}, tcp ${g.tcp}, other ${g.other}`;
      print(
        `  ${' '.repeat(pad)}  the guest received ${kinds}; answered ${g.answered}, left ${g.unanswered} unanswered`,
      );
    }
    const q = p.qemu;
    if (q !== undefined) {
      print(
        `  ${' '.repeat(pad)}  VMs attached ${q.connections}, went away ${q.disconnects}, ` +
          `refused ${q.refused}, cut off for a bad length ${q.malformed}`,
      );
    }
    const v = p.vhostUser;
    if (v !== undefined) {
      print(
        `  ${' '.repeat(pad)}  VMs attached ${v.connections}, went away ${v.disconnects}, refused ${v.refused}; ` +
          `messages refused ${v.refusedMessages}, rings broken ${v.brokenRings}, bad rx buffers ${v.badRxBuffers}`,
      );
    }
    const m = p.impair;
    if (m !== undefined) {
      print(
        `  ${' '.repeat(pad)}  impaired (seed ${m.seed}): duplicated ${m.duplicated}, corrupted ${m.corrupted}, ` +
          `reordered ${m.reordered}, held now ${m.held}`,
      );
    }
  }
  for (const q of report.queues ?? []) {
    const cells = q.ports.map((p) => `${p.name} rx ${p.rxFrames} tx ${p.txFrames}`).join(', ');
    print(`  queue ${q.queue}: ${cells}; ${ledgerLine(q.ledger, q.balanced)}`);
  }
  print(`  ${report.queues === undefined ? '' : 'total '}${ledgerLine(report.ledger, report.balanced)}`);
}

function ledgerLine(l: Ledger, balanced: boolean): string {
  const queued = l.queued > 0 ? ` + queued ${l.queued}` : '';
  return `ledger: rx ${l.rx} + clones ${l.clones} = tx ${l.tx} + drops ${l.drops}${queued}  ${
    balanced ? '(balanced)' : '(UNBALANCED)'
  }`;
}

/** The --stats line of one second. */
export function statsLine(r: CountersReport): string {
  const cells = r.ports.map(
    (p) =>
      `${p.name} rx ${p.rate.rxPps}/s ${p.rate.rxMbps.toFixed(1)} Mb/s tx ${p.rate.txPps}/s drop ${p.rate.dropPps}` +
      (p.spoofedSource > 0 ? ` spoofed source ${p.spoofedSource}` : ''),
  );
  return `t=${Math.round(r.seconds)}s  ${cells.join('  |  ')}`;
}
