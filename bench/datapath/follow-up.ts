// Rounds added where the planned ones left a goal row undecided. Ten rounds decide most rows; a
// row whose tapyard/C ratio sits a few % from its goal needs more, and a run keeps some time for
// them (options.ts: followUpSeconds). After the planned rounds, each undecided row is asked how
// many pairs its interval would need at its present spread to leave the goal behind; a row that
// would need more than three times its pairs is out of reach and stays undecided. The others are
// given what they ask for, at least four rounds and at most as many as they have, of the block
// that measures them, the most rows per second first, while the time lasts. A round added is one
// of the planned rounds' own steps again, so it measures under the same conditions: the rate and
// TCP steps of the row's two forwarders, or the whole side-by-side latency step (all forwarder
// paths probed in turn: with fewer, idle round trips came twice as often and their p99 doubled).
// Rows measured by the same steps (the no-drop rate and CPU per frame of one frame size, or both
// labs' latency at one load) share their rounds.
//
// The extra rounds are a second look at the data: a row exactly at its goal is called met or
// missed a little more often than the 5 % of one look (7 % in the simulation of
// test/unit/bench/follow-up.test.ts, which bounds it), and every added pair is shown in the report
// beside its row. In that simulation a row 3 % past its goal, scattered as this machine's CPU rows
// are, was decided in 35 % of runs by ten rounds and in 57 % with the follow-up.

import type { Paired } from './paired.js';

/** A goal row the planned rounds left undecided, and what one more paired round of it costs. */
export interface OpenRow {
  block: string;
  /** The block's step keys one more round runs for this row (its two forwarders, alone or side by side). */
  keys: readonly string[];
  paired: Paired;
  goal: number;
  /** Seconds those steps take, from the planned rounds. */
  roundSeconds: number;
}

/** More rounds of some steps of one block. */
export interface FollowUp {
  block: string;
  keys: readonly string[];
  rounds: number;
  seconds: number;
  /** The undecided rows they are for. */
  rows: number;
}

/** The fewest rounds added: one or two more barely move the interval's bounds. */
export const MIN_EXTRA_ROUNDS = 4;

/** A row that would need more than this many times its pairs is out of any follow-up's reach. */
const REACH = 3;

/** The estimate below assumes the spread stays as it is; it is asked for a quarter more. */
const MARGIN = 1.25;

/**
 * The pairs at which the interval's bound on the goal's side would leave the goal behind, if the
 * centre stayed and the spread shrank as 1/sqrt(n); null when the centre sits on the goal.
 */
export function pairsToDecide(p: Paired, goal: number): number | null {
  if (p.interval === null) return null;
  const centre = Math.log(p.ratio);
  const target = Math.log(goal);
  const effect = Math.abs(centre - target);
  const reach = centre > target ? centre - Math.log(p.interval.low) : Math.log(p.interval.high) - centre;
  if (effect < 1e-3 || !(reach > 0)) return null;
  return Math.ceil(p.pairs * (reach / effect) ** 2);
}

/**
 * The extra rounds a row asks for: what its spread says, at least MIN_EXTRA_ROUNDS and at most as
 * many as it has; null when it is out of reach.
 */
export function extraRounds(p: Paired, goal: number): number | null {
  const need = pairsToDecide(p, goal);
  if (need === null || need > REACH * p.pairs) return null;
  return Math.min(p.pairs, Math.max(MIN_EXTRA_ROUNDS, Math.ceil(need * MARGIN) - p.pairs));
}

/** Which steps get more rounds, within `budgetSeconds`: the most rows per second first. */
export function planFollowUp(rows: readonly OpenRow[], budgetSeconds: number): FollowUp[] {
  const wanted = new Map<string, FollowUp>();
  for (const row of rows) {
    const extra = extraRounds(row.paired, row.goal);
    if (extra === null || !(row.roundSeconds > 0)) continue;
    const key = `${row.block}|${row.keys.join(',')}`;
    const had = wanted.get(key);
    const rounds = Math.max(extra, had?.rounds ?? 0);
    wanted.set(key, {
      block: row.block,
      keys: row.keys,
      rounds,
      seconds: rounds * row.roundSeconds,
      rows: (had?.rows ?? 0) + 1,
    });
  }
  const chosen: FollowUp[] = [];
  let spent = 0;
  for (const f of [...wanted.values()].sort((a, b) => a.seconds / a.rows - b.seconds / b.rows))
    if (spent + f.seconds <= budgetSeconds) {
      chosen.push(f);
      spent += f.seconds;
    }
  return chosen;
}
