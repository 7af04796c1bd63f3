// The answer before the tables: a few sentences computed from the data. Which path is faster
// at what, by how much and how sure (paired repetitions, 95 % intervals), what other machines'
// traffic costs the bridge path and what `flood off` removes, and how tapyard stands against
// the C loop. Nothing here is written by hand: every number comes from the report.

import { queuesVerdict } from '../queues/report.js';
import { vmVerdict } from '../vm/report.js';
import { judge, PER_REP, paired, SIZE_NAME } from './ratios.js';
import type { Report } from './report-schema.js';
import { median } from './stats.js';

const pct = (x: number) => `${Math.abs(x * 100).toFixed(0)} %`;

/** "ahead by 12 % (95 % CI 5–19 %)", "the same within noise (-3 to +4 %)", or the one-repetition form. */
function comparison(ratios: number[], higherIsBetter: boolean, better: string, worse: string): string | null {
  if (ratios.length === 0) return null;
  const m = median(ratios);
  const { verdict, ci } = judge(ratios, 1, higherIsBetter);
  const range = ci ? ` (95 % CI ${(ci.low * 100 - 100).toFixed(0)} to ${(ci.high * 100 - 100).toFixed(0)} %)` : '';
  const ahead = higherIsBetter ? m >= 1 : m <= 1;
  const by = pct(m - 1);
  if (verdict === 'one-repetition') return `${ahead ? better : worse} by ${by} (one repetition: no interval)`;
  if (verdict === 'within-noise') return `the same within noise: ${by} apart${range}`;
  return `${verdict === 'met' ? better : worse} by ${by}${range}`;
}

function pathSentence(r: Report, forwarder: 'tapyard' | 'c'): string | null {
  const m = `macvtap/${forwarder}`;
  const b = `bridge/${forwarder}`;
  const parts: string[] = [];
  for (const size of r.options.frameSizes) {
    const ratios = paired(PER_REP.ndrOf(size)(r, m), PER_REP.ndrOf(size)(r, b));
    const c = comparison(ratios, true, 'macvtap ahead', 'bridge ahead');
    if (c) parts.push(`${SIZE_NAME[size]} ${c}`);
  }
  const tcp = comparison(
    paired(PER_REP.tcpOf('ext-to-guest')(r, m), PER_REP.tcpOf('ext-to-guest')(r, b)),
    true,
    'macvtap ahead',
    'bridge ahead',
  );
  const p99 = comparison(
    paired(PER_REP.latencyOf(null, 'p99Ns')(r, m), PER_REP.latencyOf(null, 'p99Ns')(r, b)),
    false,
    'macvtap lower',
    'bridge lower',
  );
  if (parts.length === 0 && !tcp && !p99) return null;
  const out = [`Bridge or macvtap, both through ${forwarder === 'c' ? 'the C loop' : 'tapyard'}:`];
  if (parts.length) out.push(`no-drop rate ${parts.join('; ')}.`);
  if (tcp) out.push(`TCP ext→guest with offloads: ${tcp}.`);
  if (p99) out.push(`Idle RTT p99: ${p99}.`);
  return out.join(' ');
}

function foreignSentence(r: Report, forwarder: 'tapyard' | 'c'): string | null {
  const rates = [...new Set(r.foreign.map((f) => f.offeredPerSecond))].sort((a, b) => a - b);
  const top = rates[rates.length - 1];
  if (top === undefined) return null;
  const cores = (path: string, floodOff: boolean) =>
    r.foreign.find((f) => f.path === path && f.floodOff === floodOff && f.offeredPerSecond === top)?.labCores?.median;
  const bridge = cores(`bridge/${forwarder}`, false);
  const off = cores(`bridge/${forwarder}`, true);
  const macvtap = cores(`macvtap/${forwarder}`, false);
  if (bridge === undefined || macvtap === undefined) return null;
  const extra = bridge - macvtap;
  const k = `${top / 1000} k`;
  let s =
    `Other machines' traffic (${k} frames/s to a MAC nobody owns, guest idle, through ${forwarder}): ` +
    `the bridge path costs ${extra.toFixed(2)} more cores than macvtap ` +
    `(${bridge.toFixed(2)} vs ${macvtap.toFixed(2)}, ` +
    'generator + forwarder), because the bridge floods every such frame to the tap.';
  if (off !== undefined) {
    const removed = extra > 0 ? (bridge - off) / extra : 0;
    const share = removed >= 1 ? 'all' : pct(removed);
    s += ` \`flood off\` on the guest's bridge port brings it to ${off.toFixed(2)} cores: it removes ${share}`;
    s += ' of that extra cost.';
  }
  return s;
}

function againstC(r: Report): string | null {
  const judged = r.ratios.filter((x) => x.ratio !== null && x.goal !== null);
  if (judged.length === 0) return null;
  const count = (v: string) => judged.filter((x) => x.verdict === v).length;
  const worst = [...judged].sort((a, b) => {
    const score = (x: typeof a) => (x.higherIsBetter ? x.ratio! / x.goal! : x.goal! / x.ratio!);
    return score(a) - score(b);
  })[0]!;
  const tally =
    count('one-repetition') === judged.length
      ? `one repetition, so no goal is called met or missed (${judged.length} ratios shown)`
      : `${count('met')} goals met, ${count('missed')} missed, ${count('within-noise')} within noise ` +
        `(of ${judged.length}; met or missed only when the 95 % interval says so)`;
  return (
    `tapyard against the C loop on the same path: ${tally}. ` +
    `Furthest from its goal: ${worst.metric} on ${worst.path}, ${worst.ratio!.toFixed(2)}x ` +
    `(goal ${worst.higherIsBetter ? '>=' : '<='} ${worst.goal!.toFixed(2)}x).`
  );
}

export function verdict(r: Report): string[] {
  const measured = (id: string) => r.paths.some((p) => p.id === id && p.status !== 'skipped');
  const fwd = measured('macvtap/tapyard') && measured('bridge/tapyard') ? 'tapyard' : 'c';
  const noise =
    `${r.options.reps} repetition${r.options.reps === 1 ? '' : 's'} on a shared ${r.machine.cpus}-vCPU machine ` +
    `(${r.machine.hostBusyCoresAtStart.toFixed(2)} cores busy before the run): intervals are 95 % over repetitions, ` +
    'and figures move with the neighbours.';
  const sentences = [
    pathSentence(r, fwd),
    foreignSentence(r, fwd),
    againstC(r),
    ...vmVerdict(r),
    ...queuesVerdict(r),
    noise,
  ];
  return sentences.filter((s): s is string => s !== null);
}
