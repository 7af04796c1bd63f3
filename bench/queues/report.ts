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
