// The answer before the tables, computed from the data: first a recommendation in words (which
// path, by how much, and when to pick the other), then each headline comparison with its
// direction, size and confidence ("macvtap ahead in 9 of 9 rounds, by 55-160 %"), what other
// machines' traffic costs the bridge path and what `flood off` removes, and how tapyard stands
// against the C loop. "The same within 10 %" where the whole paired interval lies within 10 % either
// way; "the same within noise" only where it straddles 1 and reaches further, and then with what
// more rounds would need. Nothing here is written by hand.

import { queuesVerdict } from '../queues/report.js';
import { vmVerdict } from '../vm/report.js';
import { type ByRound, comparePaired, type Paired, pairsForLevel, pairsToResolve } from './paired.js';
import { PER_ROUND, SIZE_NAME } from './ratios.js';
import type { Report } from './report-schema.js';

/**
 * The smallest difference that matters for choosing a path. Below it a lead can be real (decided at
 * 95 %) and still not matter: the foreign-traffic cost and the host-to-guest question weigh more,
 * and on a quiet 2-core machine both forwarder paths sit within a few percent of one core's limit
 * (2026-12-07: 1.02-1.09 Mfps each at 64 B). A comparison whose whole interval lies within it
 * either way is "the same within 10 %", decided, whoever leads: two runs can disagree on a lead of
 * 3 % (one decides it, the other not) and still agree on that.
 */
const MATERIAL = 0.1;

const pct = (x: number) =>
  Number.isFinite(x) ? `${Math.abs(x * 100).toFixed(0)} %` : 'without bound (the other measured 0)';

export interface Side {
  name: string;
  rounds: ByRound;
}

/** A comparison told from the side that is ahead (or from `a` when they tie). */
export interface Told {
  leader: string;
  other: string;
  p: Paired;
  /** The leader's advantage as a fraction: how much more (or, for a cost, less). */
  by: number;
  byLow: number | null;
  byHigh: number | null;
  decided: boolean;
  /** The whole 95 % interval within MATERIAL either way: the same for choosing a path. */
  equivalent: boolean;
}

/** How far ahead a ratio leader/other puts the leader: more of a rate, less of a cost. */
const advantage = (ratio: number, higherIsBetter: boolean) => (higherIsBetter ? ratio - 1 : 1 - ratio);

export function tell(a: Side, b: Side, higherIsBetter: boolean): Told | null {
  const ab = comparePaired(a.rounds, b.rounds, higherIsBetter);
  if (ab === null) return null;
  const aLeads = advantage(ab.ratio, higherIsBetter) >= 0;
  const p = aLeads ? ab : (comparePaired(b.rounds, a.rounds, higherIsBetter) as Paired);
  const lo = p.interval ? advantage(higherIsBetter ? p.interval.low : p.interval.high, higherIsBetter) : null;
  const hi = p.interval ? advantage(higherIsBetter ? p.interval.high : p.interval.low, higherIsBetter) : null;
  return {
    leader: aLeads ? a.name : b.name,
    other: aLeads ? b.name : a.name,
    p,
    by: advantage(p.ratio, higherIsBetter),
    byLow: lo,
    byHigh: hi,
    decided: lo !== null && lo > 0,
    equivalent: p.interval !== null && p.interval.low >= 1 / (1 + MATERIAL) && p.interval.high <= 1 + MATERIAL,
  };
}

/** The interval as the ratio it is ("bridge/macvtap 95 % interval 0.96-1.05x"): a lead's % would cross 0. */
const ratioInterval = (t: Told) =>
  t.p.interval
    ? `${t.leader}/${t.other} 95 % interval ${t.p.interval.low.toFixed(2)}–${t.p.interval.high.toFixed(2)}x`
    : '';

/**
 * "macvtap ahead in 6 of 6 rounds, by 55-160 %", "the same within 10 % (...)", "the same within
 * noise (...)", or, below six rounds, the direction with a note that it is too few to be sure.
 * `ahead` is the verb phrase.
 */
export function phrase(t: Told, ahead: string): string {
  const { p } = t;
  const range = t.byLow !== null && t.byHigh !== null ? `${pct(t.byLow)}–${pct(t.byHigh)}` : null;
  if (t.equivalent) {
    const lead = `${t.leader} ${ahead} in ${p.wins} of ${p.pairs} rounds${t.decided ? `, by ${range}` : ''}`;
    return `the same within ${pct(MATERIAL)} (${lead}; ${ratioInterval(t)})`;
  }
  if (t.decided) return `${t.leader} ${ahead} in ${p.wins} of ${p.pairs} rounds, by ${range} (median ${pct(t.by)})`;
  if (p.interval !== null) {
    const more = pairsToResolve(p);
    const need =
      more === null
        ? ''
        : more > 100
          ? '; at this spread no run could tell them apart'
          : `; telling them apart would need about ${more} rounds`;
    return `the same within noise (${t.leader} ${ahead} in ${p.wins} of ${p.pairs} rounds; ${ratioInterval(t)}${need})`;
  }
  if (p.wins === p.losses) return `the same within noise (split ${p.wins}–${p.losses} over ${p.pairs} rounds)`;
  const rounds = `${p.pairs} round${p.pairs === 1 ? '' : 's'}`;
  const sure = `${rounds}: too few for a 95 % interval, which takes ${pairsForLevel()}`;
  return `${t.leader} ${ahead} in ${p.wins} of ${p.pairs} rounds, by ${pct(t.by)} (median; ${sure})`;
}

/**
 * The planned rounds only: the follow-up adds rounds to one lab at a time (follow-up.ts), and a
 * macvtap round paired with a bridge round of the same number but other minutes is no pair.
 */
const planned = (rounds: ByRound, r: Report): ByRound =>
  new Map([...rounds].filter(([round]) => round <= r.options.rounds));

const sides = (r: Report, fwd: 'tapyard' | 'c', per: (r: Report, path: string) => ByRound): [Side, Side] => [
  { name: 'macvtap', rounds: planned(per(r, `macvtap/${fwd}`), r) },
  { name: 'bridge', rounds: planned(per(r, `bridge/${fwd}`), r) },
];

function foreignSentence(r: Report, forwarder: 'tapyard' | 'c', told: Told | null): string | null {
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
    `generator + forwarder${told ? `; ${phrase(told, 'cheaper')}` : ''}), ` +
    'because the bridge floods every such frame to the tap.';
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
  const score = (x: (typeof judged)[number]) =>
    x.higherIsBetter ? (x.ratio as number) / (x.goal as number) : (x.goal as number) / (x.ratio as number);
  const worst = [...judged].sort((a, b) => score(a) - score(b))[0] as (typeof judged)[number];
  const few = count('too-few-pairs');
  // Rows that shared a followed row's block got its rounds too; only the undecided ones count.
  const followed = judged.filter((x) => x.followUpPairs > 0 && x.plannedVerdict === 'undecided');
  const [fewest, most] = [
    Math.min(...followed.map((x) => x.followUpPairs)),
    Math.max(...followed.map((x) => x.followUpPairs)),
  ];
  const decidedNow = followed.filter((x) => x.verdict === 'met' || x.verdict === 'missed').length;
  const added = followed.length
    ? ` ${followed.length} row${followed.length === 1 ? '' : 's'} the planned ${r.options.rounds} rounds left ` +
      `undecided got ${fewest === most ? fewest : `${fewest}–${most}`} more rounds; ` +
      `${decidedNow} of them ${decidedNow === 1 ? 'is' : 'are'} decided now.`
    : '';
  const tally =
    `${count('met')} goals met, ${count('missed')} missed, ${count('undecided')} undecided` +
    `${few ? `, ${few} with too few rounds to judge` : ''} (of ${judged.length}; met or missed when the 95 % ` +
    'interval of the paired ratio is on one side of the goal)';
  return (
    `tapyard against the C loop on the same path: ${tally}. ` +
    `Furthest from its goal: ${worst.metric} on ${worst.path}, ${(worst.ratio as number).toFixed(2)}x ` +
    `(goal ${worst.higherIsBetter ? '>=' : '<='} ${(worst.goal as number).toFixed(2)}x).${added}`
  );
}

interface Headlines {
  fwd: 'tapyard' | 'c';
  ndr: { size: string; told: Told }[];
  tcp: Told | null;
  rttP50: Told | null;
  rttP99: Told | null;
  foreign: Told | null;
}

function headlines(r: Report, fwd: 'tapyard' | 'c'): Headlines {
  const topRate = Math.max(...r.foreign.map((f) => f.offeredPerSecond));
  const told = (per: (r: Report, path: string) => ByRound, higherIsBetter: boolean) =>
    tell(...sides(r, fwd, per), higherIsBetter);
  return {
    fwd,
    ndr: r.options.frameSizes.flatMap((size) => {
      const t = told(PER_ROUND.ndr(size), true);
      return t ? [{ size: SIZE_NAME[size], told: t }] : [];
    }),
    tcp: told(PER_ROUND.tcp('ext-to-guest'), true),
    rttP50: told(PER_ROUND.latency(null, 'p50Ns'), false),
    rttP99: told(PER_ROUND.latency(null, 'p99Ns'), false),
    foreign: Number.isFinite(topRate) ? told(PER_ROUND.foreignCores(topRate), false) : null,
  };
}

const ON_HOST = 'docs/macvtap-questions.md';

/** How far a comparison goes: decided at 95 %, every round one way but too few to be sure, or neither. */
type Strength = 'decided' | 'leaning' | 'open';
const strength = (t: Told): Strength =>
  t.decided ? 'decided' : t.p.interval === null && t.p.wins === t.p.pairs && t.p.pairs > 0 ? 'leaning' : 'open';

/** The first paragraph: which path to pick on this machine, and when to pick the other. */
function recommendation(h: Headlines): string | null {
  const small = h.ndr[0];
  if (!small) return null;
  const t = small.told;
  const via = h.fwd === 'tapyard' ? 'Through tapyard' : 'Through the C loop';
  const cost =
    h.foreign && strength(h.foreign) !== 'open' && h.foreign.leader === 'macvtap'
      ? " and other machines' traffic costs it less CPU (the bridge floods it to the guest's tap)"
      : '';
  // When the no-drop rates do not decide, what does: macvtap, for what other machines' traffic costs.
  const rest =
    h.foreign && strength(h.foreign) !== 'open' && h.foreign.leader === 'macvtap'
      ? `macvtap: other machines' traffic costs it ${pct(h.foreign.by)} less CPU (the bridge floods it to the ` +
        "guest's tap)"
      : "macvtap: it spares the guest other machines' flooded traffic";
  const caveat =
    'Pick the bridge if the host must reach its own guest (a macvtap guest and its host cannot talk), ' +
    `or keep macvtap and add an on-host macvlan: ${ON_HOST}.`;
  const how =
    strength(t) === 'decided'
      ? `ahead in ${t.p.wins} of ${t.p.pairs} paired rounds, 95 % interval ${pct(t.byLow as number)}–` +
        `${pct(t.byHigh as number)}`
      : strength(t) === 'leaning'
        ? `ahead in all ${t.p.pairs} paired rounds, too few to be sure: a 95 % interval takes ${pairsForLevel()}`
        : `ahead in ${t.p.wins} of ${t.p.pairs} paired rounds, ${ratioInterval(t)}`;
  const tentative = strength(t) === 'leaning' ? ', tentatively' : '';
  // Only a whole interval inside the band is "under 10 %"; a lead whose centre is inside and whose
  // interval reaches past it (4-12 %, a full run of 7 December 2026) is only likely so.
  if (t.equivalent || (strength(t) !== 'open' && t.by < MATERIAL))
    return (
      `On this machine bridge and macvtap forward about as many ${small.size} frames without loss (${t.leader} ` +
      `by ${pct(t.by)}, ${how}: ${t.equivalent ? '' : 'likely '}under ${pct(MATERIAL)}, no reason to pick a ` +
      `path); decide on the rest: ${rest}. ${caveat}`
    );
  if (strength(t) !== 'open' && t.leader === 'macvtap')
    return (
      `On this machine, for a guest that talks to other machines: macvtap${tentative}. ${via}, it forwards ` +
      `${pct(t.by)} more ${small.size} frames without loss (${how})${cost}. ${caveat}`
    );
  if (strength(t) !== 'open')
    return (
      `On this machine: the bridge${tentative}. ${via}, it forwards ${pct(t.by)} more ${small.size} frames ` +
      `without loss (${how}), and the host can reach its guest. Macvtap still spares the guest other ` +
      `machines' flooded traffic: ${ON_HOST}.`
    );
  return (
    `On this machine the no-drop rates cannot tell bridge and macvtap apart (${small.size}: ${phrase(t, 'ahead')}); ` +
    `decide on the rest: ${rest}. ${caveat}`
  );
}

function comparisons(h: Headlines): string | null {
  const out = [`Bridge or macvtap, both ${h.fwd === 'c' ? 'through the C loop' : 'through tapyard'}, paired rounds:`];
  if (h.ndr.length) out.push(`no-drop rate ${h.ndr.map((x) => `${x.size}: ${phrase(x.told, 'ahead')}`).join('; ')}.`);
  if (h.tcp) out.push(`TCP ext→guest with offloads: ${phrase(h.tcp, 'ahead')}.`);
  if (h.rttP50) out.push(`Idle RTT p50: ${phrase(h.rttP50, 'lower')}.`);
  if (h.rttP99) out.push(`Idle RTT p99: ${phrase(h.rttP99, 'lower')}.`);
  return out.length > 1 ? out.join(' ') : null;
}

/**
 * Frame sizes at which both paths' full-load trial lost nothing in most rounds: there the no-drop
 * rate is what the sender could push through each path, and says nothing of where the path drops.
 */
function senderBound(r: Report, fwd: 'tapyard' | 'c'): string | null {
  const atFull = (path: string, size: string) =>
    new Set(
      r.ndr
        .find((n) => n.path === path && n.frameSize === size)
        ?.samples.filter((s) => s.ndrAtFullLoad)
        .map((s) => s.round) ?? [],
    );
  const bound = r.options.frameSizes.flatMap((size) => {
    const m = atFull(`macvtap/${fwd}`, size);
    const b = atFull(`bridge/${fwd}`, size);
    const both = [...m].filter((round) => b.has(round)).length;
    return both * 2 > r.options.rounds ? [`${SIZE_NAME[size]} (${both} of ${r.options.rounds} rounds)`] : [];
  });
  if (bound.length === 0) return null;
  return (
    `At ${bound.join(', ')} the full-load trial lost nothing on both paths: those no-drop rates are what the ` +
    "sender could push through each path (its core also runs the kernel's side of the lab), not where the path " +
    'starts to drop; finding that needs a faster sender than this machine has.'
  );
}

export function verdict(r: Report): string[] {
  const measured = (id: string) => r.paths.some((p) => p.id === id && p.status !== 'skipped');
  const fwd = measured('macvtap/tapyard') && measured('bridge/tapyard') ? 'tapyard' : 'c';
  const h = headlines(r, fwd);
  const incomplete = r.complete
    ? null
    : 'INCOMPLETE: the run was interrupted; what follows is what was measured before it stopped.';
  const noise =
    `${r.options.rounds} round${r.options.rounds === 1 ? '' : 's'} of paired trials (the kernel-only paths ` +
    `${Math.min(r.options.referenceRounds, r.options.rounds)}, the foreign traffic ` +
    `${Math.min(r.options.foreignRounds, r.options.rounds)}) on a shared ${r.machine.cpus}-vCPU machine ` +
    `(${r.machine.hostBusyCoresAtStart.toFixed(2)} cores busy before the run): each round measures the paths in ` +
    'alternating order; a comparison is judged on its per-round ratios (95 % signed-rank interval).';
  const sentences = [
    incomplete,
    recommendation(h),
    comparisons(h),
    senderBound(r, fwd),
    foreignSentence(r, fwd, h.foreign),
    againstC(r),
    ...vmVerdict(r),
    ...queuesVerdict(r),
    noise,
  ];
  return sentences.filter((s): s is string => s !== null);
}
