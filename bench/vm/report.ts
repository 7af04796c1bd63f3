// The VM rows in the report: one table (Markdown or terminal) and the verdict's sentences about
// them. Compared with each other only, under the accelerator the rows name; tapyard against QEMU's
// own backend on the per-round ratios (the paths took turns, round after round).

import { type ByRound, comparePaired } from '../datapath/paired.js';
import type { Report, VmRound, VmRow } from '../datapath/report-schema.js';
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

/** "0.68x, tapyard ahead in 0 of 6 rounds, 95 % interval 0.61–0.74x" from the per-round ratios t/q. */
function paired(t: VmRow, q: VmRow, pick: (r: VmRound) => number, higherIsBetter: boolean): string {
  const p = comparePaired(perRound(t, pick), perRound(q, pick), higherIsBetter);
  if (p === null) return 'no rounds in common';
  const ci = p.interval
    ? `95 % interval ${p.interval.low.toFixed(2)}–${p.interval.high.toFixed(2)}x`
    : `${p.pairs} rounds: too few for a 95 % interval`;
  return `${p.ratio.toFixed(2)}x, tapyard better in ${p.wins} of ${p.pairs} rounds, ${ci}`;
}

/** tapyard against QEMU's own backend on one wire: TCP both ways, 64-byte frames and the RTT, paired per round. */
function wireClause(t: VmRow, q: VmRow): string {
  const p50 = (r: VmRound) => percentile(r.rttNs, 50);
  const kfps = (v: VmRow) => (v.rate64.deliveredPerSecond / 1e3).toFixed(0);
  return (
    `on ${t.wire} TCP ext→guest ${mbit(t.tcpExtToGuestBitsPerSecond)} vs ${mbit(q.tcpExtToGuestBitsPerSecond)} ` +
    `Mbit/s (${paired(t, q, (r) => r.tcpExtToGuestBitsPerSecond, true)}), guest→ext ` +
    `${mbit(t.tcpGuestToExtBitsPerSecond)} vs ${mbit(q.tcpGuestToExtBitsPerSecond)} ` +
    `(${paired(t, q, (r) => r.tcpGuestToExtBitsPerSecond, true)}), 64-byte frames delivered ${kfps(t)} vs ` +
    `${kfps(q)} kfps (${paired(t, q, (r) => r.rate64.deliveredPerSecond, true)}), RTT p50 ${ms(t.rtt.p50Ns)} vs ` +
    `${ms(q.rtt.p50Ns)} ms (${paired(t, q, p50, false)})`
  );
}

export function vmVerdict(r: Report): string[] {
  if (r.vm.status === 'skipped') return [r.vm.note];
  const row = (backend: string, wire: string) => r.vm.rows.find((v) => v.backend === backend && v.wire === wire);
  const out: string[] = [];
  const accel = r.vm.accel === 'tcg' ? 'plain emulation (tcg)' : 'KVM';
  const through = { tapyard: "tapyard's qemu port (a socket netdev)", 'tapyard-vhost': "tapyard's vhost-user port" };
  for (const backend of ['tapyard', 'tapyard-vhost'] as const) {
    const clauses: string[] = [];
    for (const wire of ['macvtap', 'bridge']) {
      const t = row(backend, wire);
      const q = row('qemu-tap', wire);
      if (t && q) clauses.push(wireClause(t, q));
    }
    if (clauses.length)
      out.push(
        `A real QEMU VM under ${accel}, through ${through[backend]} against QEMU's own tap backend (VM rows ` +
          `compare with each other only; medians over rounds, ratios paired per round): ${clauses.join('; ')}.`,
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
