// The counters of a run, in one shape for the per-second lines and the final report (text and
// JSON alike); docs/forward-output.schema.json describes it.

import type { Forwarder, Ledger } from '../engine/forwarder.js';
import type { TapyardError } from '../error.js';
import type { GuestCounts } from '../guest/host.js';
import { GuestPort } from '../port/guest.js';
import type { KernelDrops } from '../port/kernel-drops.js';
import type { Port } from '../port/port.js';
import { isQemuPort, type QemuPeerCounters } from '../port/qemu.js';

export interface PortReport {
  name: string;
  device: string;
  rxFrames: number;
  rxBytes: number;
  txFrames: number;
  txBytes: number;
  /** Drops by reason (short stable keys, docs/drop-reasons.md). */
  drops: Record<string, number>;
  /**
   * What the kernel dropped on this port's device since tapyard opened it, beside tapyard's own
   * drops: before tapyard could read (a full queue) and after tapyard's write. null: not known.
   */
  kernel: KernelDrops | null;
  /** A built-in guest's own counts: what it received, by kind, and how much it answered. */
  guest?: GuestCounts;
  /** A qemu port's VM: attached, gone, refused, cut off for a broken length. */
  qemu?: QemuPeerCounters;
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
  balanced: boolean;
  memory: MemoryReport;
  error?: string;
}

export function countersReport(
  type: CountersReport['type'],
  forwarder: Forwarder,
  ports: readonly Port[],
  seconds: number,
  previous: CountersReport | null,
  fatal: TapyardError | null,
): CountersReport {
  const span = previous === null ? seconds : seconds - previous.seconds;
  const per = (n: number) => (span > 0 ? Math.round(n / span) : 0);
  const rows = ports.map((p, i) => {
    const s = p.counters.snapshot();
    const before = previous?.ports[i];
    const dropped = Object.values(s.drops).reduce((a, b) => a + b, 0);
    const droppedBefore = before === undefined ? 0 : Object.values(before.drops).reduce((a, b) => a + b, 0);
    const mbps = (bytes: number) => (span > 0 ? Math.round((bytes * 8) / span / 1e3) / 1e3 : 0);
    const impairment = forwarder.impairment(i);
    return {
      name: p.name,
      device: p.device,
      ...s,
      kernel: p.kernelDrops?.(type === 'final') ?? null,
      ...(p instanceof GuestPort ? { guest: { ...p.counts } } : {}),
      ...(isQemuPort(p) ? { qemu: { ...p.peer } } : {}),
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
      rate: {
        rxPps: per(s.rxFrames - (before?.rxFrames ?? 0)),
        txPps: per(s.txFrames - (before?.txFrames ?? 0)),
        rxMbps: mbps(s.rxBytes - (before?.rxBytes ?? 0)),
        txMbps: mbps(s.txBytes - (before?.txBytes ?? 0)),
        dropPps: per(dropped - droppedBefore),
      },
    };
  });
  const ledger = forwarder.ledger();
  const report: CountersReport = {
    type,
    time: new Date().toISOString(),
    seconds: Math.round(seconds * 1000) / 1000,
    ports: rows,
    ledger,
    balanced: ledger.rx + ledger.clones === ledger.tx + ledger.drops + ledger.queued,
    memory: memoryReport(),
  };
  if (fatal !== null) report.error = fatal.message;
  return report;
}

function memoryReport(): MemoryReport {
  const m = process.memoryUsage();
  return { rssBytes: m.rss, heapUsedBytes: m.heapUsed, heapTotalBytes: m.heapTotal, externalBytes: m.external };
}

export function printReport(report: CountersReport, print: (line: string) => void): void {
  print(`\ncounters after ${report.seconds.toFixed(1)} s:`);
  const pad = Math.max(...report.ports.map((p) => p.name.length));
  for (const p of report.ports) {
    const drops = Object.entries(p.drops).map(([reason, n]) => `${reason} ${n}`);
    const k = p.kernel;
    const kernel =
      k === null ? '' : `; the kernel dropped ${k.beforeRead} before our read, ${k.afterWrite} after our write`;
    print(
      `  ${p.name.padEnd(pad)}  rx ${p.rxFrames} frames ${p.rxBytes} B  tx ${p.txFrames} frames ${p.txBytes} B  ` +
        `drops ${drops.length === 0 ? '0' : drops.join(', ')}${kernel}`,
    );
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
    const m = p.impair;
    if (m !== undefined) {
      print(
        `  ${' '.repeat(pad)}  impaired (seed ${m.seed}): duplicated ${m.duplicated}, corrupted ${m.corrupted}, ` +
          `reordered ${m.reordered}, held now ${m.held}`,
      );
    }
  }
  const l = report.ledger;
  const queued = l.queued > 0 ? ` + queued ${l.queued}` : '';
  const verdict = report.balanced ? '(balanced)' : '(UNBALANCED)';
  print(`  ledger: rx ${l.rx} + clones ${l.clones} = tx ${l.tx} + drops ${l.drops}${queued}  ${verdict}`);
}
