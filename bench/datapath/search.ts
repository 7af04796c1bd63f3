// The no-drop search, built for a noisy machine (after FD.io CSIT's MLRsearch,
// draft-ietf-bmwg-mlrsearch, simplified). A one-trial-per-load binary search (RFC 2544 §26.1) is
// decided by the first scheduling hiccup: a few milliseconds' stall fills the tap's 1000-frame
// queue, that trial loses frames, and every load above it is never tried again. Here:
// - two goals are searched at once from the same trials: the no-drop rate (NDR, loss at most
//   the stated tolerance) and a partial-drop rate (PDR, loss at most 0.5 %);
// - a load is judged per goal by up to three short trials, best of three (MLRsearch's goal exceed
//   ratio of 50 %): it passes a goal when two of its trials met it, fails when two did not. One
//   hiccup cannot decide a load; two in the same three trials can, which is rarer by far;
// - the search starts where earlier rounds found the rate (or just below what full load
//   delivered) and widens its step outward (4 %, 8 %, 16 %, ...) until it has a passing and a
//   failing load for the goal, then bisects;
// - a load a trial could not even send (the generator fell short) proves only what was sent.
// It is pure: `trial` is injected, so the rule is tested on synthetic noisy outcomes too.

import type { Trial } from './report-schema.js';

export interface SearchGoals {
  /** Loss tolerated by the no-drop rate (a fraction). */
  ndrLossFraction: number;
  /** Loss tolerated by the partial-drop rate. */
  pdrLossFraction: number;
}

export interface SearchSetup extends SearchGoals {
  /** Stop refining a goal when (upper - lower) / upper is at most this. */
  resolutionFraction: number;
  /** Trials in the whole search, the full-load one included. */
  maxTrials: number;
  /** Milliseconds since the epoch after which no new trial starts. */
  deadline: number;
  /** On macvtap a slow reader slows the sender: a trial that fell short of its rate fails. */
  shortfallFails: boolean;
}

/** The generator may fall this far short of its rate for reasons of its own (timer slack). */
const SEND_TOLERANCE = 0.01;

/** Trials per load at most, and how many must agree to decide it. */
export const TRIALS_PER_LOAD = 3;
const MAJORITY = 2;

/** The first outward step, doubled after each failed load with nothing passed below it yet. */
const FIRST_STEP = 0.04;

export type GoalName = 'ndr' | 'pdr';

/** Did one trial meet a goal's loss (and, where a shortfall counts, reach its rate)? */
export function meets(t: Trial, lossFraction: number, shortfallFails: boolean): boolean {
  return (
    t.deliveredFrames > 0 &&
    t.lossFraction <= lossFraction &&
    (!shortfallFails || t.sendShortfallFraction <= SEND_TOLERANCE)
  );
}

export interface LoadResult {
  offeredPerSecond: number;
  trials: Trial[];
  /** Per goal: did the load pass (best of three)? */
  ndrPassed: boolean;
  pdrPassed: boolean;
  /** What a passing load proved: the offered rate, or what was sent when that fell short. */
  provedPerSecond: number;
}

export interface SearchResult {
  ndrPerSecond: number;
  pdrPerSecond: number;
  /** Relative width of each goal's final bracket; 0 when full load itself passed. */
  ndrResolutionFraction: number;
  /**
   * The full-load trial itself met the no-drop goal: the figure is what the sender could send
   * through the path, which was never pushed past it.
   */
  ndrAtFullLoad: boolean;
  pdrResolutionFraction: number;
  loads: LoadResult[];
  trialCount: number;
}

export type RunTrial = (offeredPerSecond: number) => Promise<Trial>;

/** The rate a set of trials at one load showed it could carry: capped by what was really sent. */
const proved = (offered: number, trials: readonly Trial[]): number => {
  const sent = trials.map((t) => t.sentPerSecond).sort((a, b) => a - b);
  return Math.min(offered, sent[sent.length >> 1] ?? 0);
};

interface Bracket {
  lower: number | null;
  upper: number;
}

/** The highest passing load below the lowest failing one: noise may make a higher load pass. */
function bracket(loads: readonly LoadResult[], goal: GoalName, ceiling: number): Bracket {
  const passed = (l: LoadResult) => (goal === 'ndr' ? l.ndrPassed : l.pdrPassed);
  const upper = Math.min(ceiling, ...loads.filter((l) => !passed(l)).map((l) => l.offeredPerSecond));
  const below = loads.filter((l) => passed(l) && l.provedPerSecond < upper).map((l) => l.provedPerSecond);
  return { lower: below.length ? Math.max(...below) : null, upper };
}

const width = (b: Bracket) => (b.lower === null ? 1 : (b.upper - b.lower) / b.upper);

/**
 * Searches both goals. `full` is the full-load trial already run: if it met a goal, that goal's
 * rate is what it sent (on macvtap the sender is slowed, not dropped); else what it sent bounds
 * the search from above. `prior` is where earlier rounds found each rate.
 */
export async function searchRates(
  run: RunTrial,
  full: Trial,
  setup: SearchSetup,
  prior: { ndr: number; pdr: number } | null = null,
): Promise<SearchResult> {
  const loads: LoadResult[] = [];
  let trialCount = 1;
  const fullMeets = (loss: number) => meets(full, loss, false);
  const ceiling = full.sentPerSecond;
  const doneGoal = (goal: GoalName) => {
    if (fullMeets(goal === 'ndr' ? setup.ndrLossFraction : setup.pdrLossFraction)) return true;
    const b = bracket(loads, goal, ceiling);
    return b.lower !== null && width(b) <= setup.resolutionFraction;
  };
  // Each goal widens its own outward step until it has a bracket: 4 %, 8 %, 16 %, ...
  const step: Record<GoalName, number> = { ndr: FIRST_STEP, pdr: FIRST_STEP };
  while (trialCount < setup.maxTrials && Date.now() < setup.deadline) {
    const goal: GoalName | null = !doneGoal('ndr') ? 'ndr' : !doneGoal('pdr') ? 'pdr' : null;
    if (goal === null) break;
    const b = bracket(loads, goal, ceiling);
    let next: number;
    if (b.lower !== null && b.upper < ceiling) next = (b.lower + b.upper) / 2;
    else if (b.lower !== null) {
      next = Math.min(b.lower * (1 + step[goal]), (b.lower + ceiling) / 2);
      step[goal] *= 2;
    } else if (b.upper < ceiling) {
      next = b.upper * (1 - step[goal]);
      step[goal] *= 2;
    } else next = Math.min(prior?.[goal] ?? full.deliveredPerSecond * 0.98, ceiling * (1 - FIRST_STEP / 2));
    if (!(next > 0)) break;
    const trials: Trial[] = [];
    const tally = { ndrMet: 0, ndrMissed: 0, pdrMet: 0, pdrMissed: 0 };
    const decided = () =>
      (tally.ndrMet >= MAJORITY || tally.ndrMissed >= MAJORITY) &&
      (tally.pdrMet >= MAJORITY || tally.pdrMissed >= MAJORITY);
    while (trials.length < TRIALS_PER_LOAD && !decided() && trialCount < setup.maxTrials) {
      const t = await run(next);
      trialCount++;
      trials.push(t);
      const ndr = meets(t, setup.ndrLossFraction, setup.shortfallFails);
      const pdr = meets(t, setup.pdrLossFraction, setup.shortfallFails);
      tally[ndr ? 'ndrMet' : 'ndrMissed']++;
      tally[pdr ? 'pdrMet' : 'pdrMissed']++;
    }
    // A load cut short by the trial budget is judged on what it has: a tie does not pass.
    loads.push({
      offeredPerSecond: next,
      trials,
      ndrPassed: tally.ndrMet > tally.ndrMissed,
      pdrPassed: tally.pdrMet > tally.pdrMissed,
      provedPerSecond: proved(next, trials),
    });
  }
  const result = (goal: GoalName, loss: number): [number, number] => {
    if (fullMeets(loss)) return [full.sentPerSecond, 0];
    const b = bracket(loads, goal, ceiling);
    return [b.lower ?? 0, width(b)];
  };
  const [ndrPerSecond, ndrResolutionFraction] = result('ndr', setup.ndrLossFraction);
  const [pdrPerSecond, pdrResolutionFraction] = result('pdr', setup.pdrLossFraction);
  const ndrAtFullLoad = fullMeets(setup.ndrLossFraction);
  return { ndrPerSecond, pdrPerSecond, ndrResolutionFraction, pdrResolutionFraction, ndrAtFullLoad, loads, trialCount };
}
