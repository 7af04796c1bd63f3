// How a run is laid out: a block is one measurement variant (TCP ext→guest with offloads, the
// 64-byte rate, idle latency, ...); it runs round after round, and each round visits every key of
// the block in alternating order (paired.ts), so any two paths are measured minutes apart at most
// and each goes first as often as the other. A key is a path, or two paths that one step measures
// side by side (latency: tapyard and the C loop on twin labs, latency.ts).

import { roundOrder } from './paired.js';
import type { Direction, FrameSize, LatencyResult } from './report-schema.js';

/** The blocks' labels, in one place: the goal rows name the block that measures them (ratios.ts). */
export const BLOCK_LABEL = {
  tcp: (offload: boolean | null, direction: Direction) =>
    `tcp${offload === null ? '' : offload ? ' offload on' : ' offload off'} ${direction}`,
  rate: (size: FrameSize) => `rate ${size} B`,
  latency: (loadFraction: number | null) =>
    `latency ${loadFraction === null ? 'idle' : `at ${loadFraction * 100}% load`}`,
};

export interface Step {
  label: string;
  /** The block it is a step of, and its key there (a path, or paths measured side by side). */
  block: string;
  key: string;
  /** The paths it measures: a failed step marks them failed. */
  paths: readonly string[];
  run: () => Promise<void>;
}

/**
 * One measurement variant: what it measures, how many rounds, and the step for one of them in one
 * round. A key is a path, or two paths measured side by side in one step (`a+b`, latency.ts).
 */
export interface Block {
  label: string;
  /** Each key of the block and the rounds it runs in (the first N). */
  rounds: ReadonlyMap<string, number>;
  step: (key: string, round: number) => Promise<void>;
}

export const pathsOfKey = (key: string): string[] => key.split('+');

/** Groups slots of one variant (same key) into a block over their paths. */
export function blocksOf<T extends { path: string }>(
  slots: readonly T[],
  key: (s: T) => string,
  rounds: (s: T) => number,
  step: (slot: T, round: number) => Promise<void>,
): Block[] {
  const keys = [...new Set(slots.map(key))];
  return keys.map((k) => {
    const mine = slots.filter((s) => key(s) === k);
    const bySlot = new Map(mine.map((s) => [s.path, s]));
    return {
      label: k,
      rounds: new Map(mine.map((s) => [s.path, rounds(s)])),
      step: (path, round) => step(bySlot.get(path) as T, round),
    };
  });
}

/**
 * Latency blocks: the slots of the paths in `group` are measured together in one step (each on a
 * lab of its own, latency.ts), every other path alone. A group with a path missing from this
 * block's slots measures the rest of it.
 */
export function latencyBlocksOf(
  slots: readonly LatencyResult[],
  group: readonly string[],
  roundsOf: (id: string) => number,
  measure: {
    single: (slot: LatencyResult, round: number) => Promise<void>;
    group: (slots: LatencyResult[], round: number) => Promise<void>;
  },
): Block[] {
  const labelOf = (l: LatencyResult) => BLOCK_LABEL.latency(l.loadFraction);
  return [...new Set(slots.map(labelOf))].map((label) => {
    const mine = slots.filter((l) => labelOf(l) === label);
    const slotOf = (path: string) => mine.find((l) => l.path === path) as LatencyResult;
    const together = group.filter((p) => mine.some((l) => l.path === p));
    const keys = [
      ...(together.length > 1 ? [together.join('+')] : []),
      ...mine.map((l) => l.path).filter((p) => together.length < 2 || !together.includes(p)),
    ];
    return {
      label,
      rounds: new Map(keys.map((k) => [k, roundsOf(pathsOfKey(k)[0] as string)])),
      step: (key, round) => {
        const paths = pathsOfKey(key);
        return paths.length === 1
          ? measure.single(slotOf(paths[0] as string), round)
          : measure.group(paths.map(slotOf), round);
      },
    };
  });
}

/** Steps block by block, round by round, the keys of a round in alternating order (`order`: the paths'). */
export function stepsOf(blocks: readonly Block[], order: readonly string[]): Step[] {
  const steps: Step[] = [];
  const rank = (key: string) => order.indexOf(pathsOfKey(key)[0] as string);
  for (const b of blocks) {
    const keys = [...b.rounds.keys()].sort((x, y) => rank(x) - rank(y));
    const most = Math.max(...b.rounds.values());
    for (let round = 1; round <= most; round++)
      for (const key of roundOrder(keys, round).filter((k) => round <= (b.rounds.get(k) ?? 0)))
        steps.push({
          label: `${b.label} ${key} round ${round}/${b.rounds.get(key)}`,
          block: b.label,
          key,
          paths: pathsOfKey(key),
          run: () => b.step(key, round),
        });
  }
  return steps;
}
