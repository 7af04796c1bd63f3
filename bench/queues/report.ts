// The queues rows in the report: one table (Markdown or terminal), delivered rate per queue
// count and how the kernel spread the flows over the queues.

import type { Report } from '../datapath/report-schema.js';
import type { Table } from '../datapath/table.js';

const pct = (f: number) => `${(f * 100).toFixed(f > 0 && f < 0.001 ? 2 : 1)} %`;

export function queuesTable(r: Report): Table | string {
  if (r.queues.rows.length === 0) return `_${r.queues.note}_`;
  const one = r.queues.rows.find((q) => q.queues === 1)?.deliveredPerSecond ?? 0;
  return {
    head: ['queues', 'sent kfps', '64 B delivered kfps', 'vs 1 queue', 'loss', 'frames per queue', 'ledger'],
    rows: r.queues.rows.map((q) => [
      String(q.queues),
      (q.sentPerSecond / 1e3).toFixed(1),
      (q.deliveredPerSecond / 1e3).toFixed(1),
      one > 0 ? `${(q.deliveredPerSecond / one).toFixed(2)}x` : '—',
      pct(q.lossFraction),
      q.queueShares.map((s) => `${(s * 100).toFixed(0)} %`).join(' / '),
      q.ledgerBalanced ? 'balanced' : 'UNBALANCED',
    ]),
    align: ['l'],
  };
}

/** The verdict's sentence: what N queues delivered against one, and whether the cores were there. */
export function queuesVerdict(r: Report): string[] {
  const rows = r.queues.rows;
  const one = rows.find((q) => q.queues === 1);
  const most = rows.at(-1);
  if (one === undefined || most === undefined || most.queues === 1) return [];
  const kfps = (x: number) => (x / 1e3).toFixed(1);
  const ratio = one.deliveredPerSecond > 0 ? (most.deliveredPerSecond / one.deliveredPerSecond).toFixed(2) : '—';
  const cores =
    r.queues.cores - 1 >= most.queues
      ? `with a core per queue beside the generator`
      : `on ${r.queues.cores} cores shared with the generator, so this is not a scaling figure`;
  return [
    `forward --queues ${most.queues} delivered ${kfps(most.deliveredPerSecond)} k 64-byte frames/s against ` +
      `${kfps(one.deliveredPerSecond)} k on one queue (${ratio}x), ${cores}.`,
  ];
}
