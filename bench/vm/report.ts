// The VM rows in the report: one table (Markdown or terminal) and the verdict's sentences about
// them. Compared with each other only, under the accelerator the rows name; tapyard against QEMU's
// own backend on the per-round ratios (the paths took turns, round after round).

import { type ByRound, comparePaired } from '../datapath/paired.js';
import type { Report, VmBackend, VmRound, VmRow } from '../datapath/report-schema.js';
import { percentile } from '../datapath/stats.js';
import type { Table } from '../datapath/table.js';

const mbit = (bps: number) => (bps / 1e6).toFixed(0);
const ms = (ns: number) => (ns / 1e6).toFixed(2);
const pct = (part: number, whole: number) => `${whole > 0 ? ((part / whole) * 100).toFixed(0) : '0'} %`;
// CPU above the idle before the flood: a hair below zero on an idle path is noise, not '-0.00'.
const cores = (c: number | null) => (c === null ? '—' : Math.max(0, c).toFixed(2));

export function vmTable(r: Report): Table | string {
  if (r.vm.rows.length === 0) return `_${r.vm.note}_`;
  return {
    head: [
      'VM path',
      'accel',
      'TCP ext→guest Mbit/s',
      'TCP guest→ext Mbit/s',
      '64 B delivered kfps',
      'RTT p50 / p99 ms',
      'foreign: to reader',
      'QEMU +cores',
      'tapyard +cores',
      'ledger',
    ],
    rows: r.vm.rows.map((v) => [
      v.path,
      v.accel,
      mbit(v.tcpExtToGuestBitsPerSecond),
      mbit(v.tcpGuestToExtBitsPerSecond),
      (v.rate64.deliveredPerSecond / 1e3).toFixed(1),
      `${ms(v.rtt.p50Ns)} / ${ms(v.rtt.p99Ns)}`,
      pct(v.foreign.reachedReaderFrames, v.foreign.offeredFrames),
      cores(v.foreign.qemuExtraCores),
      cores(v.foreign.tapyardExtraCores),
      v.ledgerBalanced === null ? '—' : v.ledgerBalanced ? 'balanced' : 'UNBALANCED',
    ]),
    align: ['l', 'l'],
  };
}

const perRound = (row: VmRow, pick: (r: VmRound) => number): ByRound =>
  new Map(row.rounds.map((r) => [r.round, pick(r)]));

/** "0.68x, tapyard better in 0 of 6 rounds, 95 % interval 0.61–0.74x" from the per-round ratios t/q. */
function paired(t: VmRow, q: VmRow, pick: (r: VmRound) => number, higherIsBetter: boolean, subject: string): string {
  const p = comparePaired(perRound(t, pick), perRound(q, pick), higherIsBetter);
  if (p === null) return 'no rounds in common';
  const ci = p.interval
    ? `95 % interval ${p.interval.low.toFixed(2)}–${p.interval.high.toFixed(2)}x`
    : `${p.pairs} rounds: too few for a 95 % interval`;
  return `${p.ratio.toFixed(2)}x, ${subject} better in ${p.wins} of ${p.pairs} rounds, ${ci}`;
}

/** One path against another on one wire: TCP both ways, 64-byte frames and the RTT, paired per round. */
function wireClause(t: VmRow, q: VmRow, subject: string): string {
  const p50 = (r: VmRound) => percentile(r.rttNs, 50);
  const kfps = (v: VmRow) => (v.rate64.deliveredPerSecond / 1e3).toFixed(0);
  const pair = (pick: (r: VmRound) => number, higherIsBetter = true) => paired(t, q, pick, higherIsBetter, subject);
  return (
    `on ${t.wire} TCP ext→guest ${mbit(t.tcpExtToGuestBitsPerSecond)} vs ${mbit(q.tcpExtToGuestBitsPerSecond)} ` +
    `Mbit/s (${pair((r) => r.tcpExtToGuestBitsPerSecond)}), guest→ext ` +
    `${mbit(t.tcpGuestToExtBitsPerSecond)} vs ${mbit(q.tcpGuestToExtBitsPerSecond)} ` +
    `(${pair((r) => r.tcpGuestToExtBitsPerSecond)}), 64-byte frames delivered ${kfps(t)} vs ` +
    `${kfps(q)} kfps (${pair((r) => r.rate64.deliveredPerSecond)}), RTT p50 ${ms(t.rtt.p50Ns)} vs ` +
    `${ms(q.rtt.p50Ns)} ms (${pair(p50, false)})`
  );
}

/** The pairs the verdict compares, when the run has both rows: each path against the one it replaces. */
const COMPARED: readonly { path: VmBackend; against: VmBackend; subject: string; what: string }[] = [
  {
    path: 'tapyard',
    against: 'qemu-tap',
    subject: 'tapyard',
    what: "through tapyard's qemu port (a socket netdev) against QEMU's own tap backend",
  },
  {
    path: 'tapyard-vhost',
    against: 'qemu-tap',
    subject: 'tapyard',
    what: "through tapyard's vhost-user port against QEMU's own tap backend",
  },
  {
    path: 'tapyard-vhost',
    against: 'qemu-tap-intx',
    subject: 'tapyard',
    what: "through tapyard's vhost-user port against QEMU's own tap backend with the same NIC (vectors=0, INTx)",
  },
  {
    path: 'qemu-tap-intx',
    against: 'qemu-tap',
    subject: 'INTx',
    what: "on QEMU's own tap backend, the NIC with vectors=0 (INTx, as a vhost-user NIC has) against its MSI-X",
  },
];

export function vmVerdict(r: Report): string[] {
  if (r.vm.status === 'skipped') return [r.vm.note];
  const row = (backend: string, wire: string) => r.vm.rows.find((v) => v.backend === backend && v.wire === wire);
  const out: string[] = [];
  const accel = r.vm.accel === 'tcg' ? 'plain emulation (tcg)' : 'KVM';
  for (const c of COMPARED) {
    const clauses: string[] = [];
    for (const wire of ['macvtap', 'bridge']) {
      const t = row(c.path, wire);
      const q = row(c.against, wire);
      if (t && q) clauses.push(wireClause(t, q, c.subject));
    }
    if (clauses.length)
      out.push(
        `A real QEMU VM under ${accel}, ${c.what} (VM rows compare with each other only; medians over rounds, ` +
          `ratios paired per round): ${clauses.join('; ')}.`,
      );
  }
  const fb = row('qemu-tap', 'bridge');
  const fm = row('qemu-tap', 'macvtap');
  if (fb && fm) {
    const f = fb.foreign;
    const m = fm.foreign;
    out.push(
      `Other machines' traffic with a real idle VM (${f.offeredPerSecond / 1000} k frames/s to a MAC nobody owns): ` +
        `on the bridge ${pct(f.reachedReaderFrames, f.offeredFrames)} of them reach QEMU's tap and cost QEMU ` +
        `${cores(f.qemuExtraCores)} more cores; on macvtap ${pct(m.reachedReaderFrames, m.offeredFrames)} ` +
        `reach it and QEMU spends ${cores(m.qemuExtraCores)}.`,
    );
  }
  if (r.vm.status === 'failed') out.push(r.vm.note);
  return out;
}
