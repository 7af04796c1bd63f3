// The no-drop search's rule (bench/datapath/search.ts) on synthetic noisy trials: a path whose
// true no-drop rate is known, with random scheduling hiccups that make a trial lose frames at any
// load. Best of three per load finds the rate within its stated tolerance in most seeds; the
// one-trial-per-load binary search it replaced (RFC 2544 §26.1 as this bench ran it) does not.

import { describe, expect, it } from 'vitest';
import type { Trial } from '../../../bench/datapath/report-schema.js';
import { meets, type RunTrial, searchRates, TRIALS_PER_LOAD } from '../../../bench/datapath/search.js';
import { seeded as rng } from '../../helpers/seeded.js';

const TRUE_NDR = 400_000;
const SECONDS = 0.25;

/**
 * A tap path: loss above its capacity, plus a hiccup in `hiccup` of the trials (0.5-5 % lost).
 * Saturated, it delivers 15 % more than it can without loss (bursts are what overflow the queue),
 * so full load's delivered rate is a guess, not the answer.
 */
function syntheticPath(seed: number, hiccup: number): { run: RunTrial; full: Trial } {
  const random = rng(seed);
  const trialAt = (offered: number, sent: number): Trial => {
    let loss = sent <= TRUE_NDR ? 0 : Math.max(0.002, 1 - (TRUE_NDR * 1.15) / sent);
    if (random() < hiccup) loss = Math.min(1, loss + 0.005 + random() * 0.045);
    const sentFrames = Math.round(sent * SECONDS);
    const deliveredFrames = Math.round(sentFrames * (1 - loss));
    return {
      offeredPerSecond: offered,
      sentPerSecond: sent,
      deliveredPerSecond: deliveredFrames / SECONDS,
      sentFrames,
      deliveredFrames,
      durationS: SECONDS,
      lossFraction: sentFrames ? 1 - deliveredFrames / sentFrames : 0,
      sendShortfallFraction: 0,
    };
  };
  return { run: async (offered) => trialAt(offered, offered), full: trialAt(0, 1_000_000) };
}

const SETUP = {
  ndrLossFraction: 0.001,
  pdrLossFraction: 0.005,
  resolutionFraction: 0.03,
  maxTrials: 18,
  deadline: Number.POSITIVE_INFINITY,
  shortfallFails: false,
};

/** Within the search's resolution of the truth, from below (a search never reports above what passed). */
const found = (ndr: number) => ndr <= TRUE_NDR * 1.0001 && ndr >= TRUE_NDR * (1 - 2 * SETUP.resolutionFraction);

/** The search this bench ran before: one trial per load, bisecting from 98 % of full load. */
async function oneShot(run: RunTrial, full: Trial): Promise<number> {
  let pass = 0;
  let fail = full.sentPerSecond;
  let next = full.deliveredPerSecond * 0.98;
  for (let trials = 1; trials < SETUP.maxTrials && fail - pass > SETUP.resolutionFraction * fail; trials++) {
    const t = await run(next);
    if (meets(t, SETUP.ndrLossFraction, false)) pass = Math.max(pass, next);
    else fail = next;
    next = (pass + fail) / 2;
  }
  return pass;
}

describe('the no-drop search on a noisy path', () => {
  it('without noise it finds the rate within its resolution, and the partial-drop rate at or above it', async () => {
    const { run, full } = syntheticPath(1, 0);
    const r = await searchRates(run, full, SETUP);
    expect(found(r.ndrPerSecond)).toBe(true);
    expect(r.pdrPerSecond).toBeGreaterThanOrEqual(r.ndrPerSecond);
    // The path dropped at full load: the figure is the path's, not the sender's.
    expect(r.ndrAtFullLoad).toBe(false);
    expect(r.trialCount).toBeLessThanOrEqual(SETUP.maxTrials);
    for (const load of r.loads) expect(load.trials.length).toBeLessThanOrEqual(TRIALS_PER_LOAD);
  });

  it('with a hiccup in 20 % of trials: best of three finds it in most seeds, one shot per load does not', async () => {
    const seeds = Array.from({ length: 200 }, (_, i) => i + 1);
    let robust = 0;
    let single = 0;
    for (const seed of seeds) {
      const a = syntheticPath(seed, 0.2);
      if (found((await searchRates(a.run, a.full, SETUP)).ndrPerSecond)) robust++;
      const b = syntheticPath(seed, 0.2);
      if (found(await oneShot(b.run, b.full))) single++;
    }
    expect(robust / seeds.length).toBeGreaterThan(0.75);
    expect(single / seeds.length).toBeLessThan(0.6);
    expect(robust).toBeGreaterThan(single);
  });

  it('starting from where an earlier round found it, it starts there and finds it again', async () => {
    const warm = syntheticPath(7, 0);
    const b = await searchRates(warm.run, warm.full, SETUP, { ndr: TRUE_NDR * 0.99, pdr: TRUE_NDR * 1.1 });
    expect(b.loads[0]?.offeredPerSecond).toBe(TRUE_NDR * 0.99);
    expect(found(b.ndrPerSecond)).toBe(true);
  });

  it('on macvtap a full load that lost nothing is the rate itself, with no search', async () => {
    const full: Trial = {
      offeredPerSecond: 0,
      sentPerSecond: 800_000,
      deliveredPerSecond: 800_000,
      sentFrames: 200_000,
      deliveredFrames: 200_000,
      durationS: 0.25,
      lossFraction: 0,
      sendShortfallFraction: 0,
    };
    const r = await searchRates(
      async () => {
        throw new Error('no trial expected');
      },
      full,
      { ...SETUP, shortfallFails: true },
    );
    expect(r).toMatchObject({ ndrPerSecond: 800_000, pdrPerSecond: 800_000, trialCount: 1, loads: [] });
    expect(r.ndrAtFullLoad).toBe(true);
  });

  it('a trial the generator could not send at its rate fails where a shortfall is the path (macvtap)', () => {
    const t: Trial = {
      offeredPerSecond: 500_000,
      sentPerSecond: 450_000,
      deliveredPerSecond: 450_000,
      sentFrames: 112_500,
      deliveredFrames: 112_500,
      durationS: 0.25,
      lossFraction: 0,
      sendShortfallFraction: 0.1,
    };
    expect(meets(t, 0.001, true)).toBe(false);
    expect(meets(t, 0.001, false)).toBe(true);
  });
});
