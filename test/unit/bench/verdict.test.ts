// The verdict's logic on recorded raw samples (bench/datapath/verdict.ts): a path that wins every
// round by a wide margin is never "the same"; rounds that split evenly are; a decided comparison
// says by how much with its interval; the recommendation leads, in words.

import { describe, expect, it } from 'vitest';
import { benchOptions } from '../../../bench/datapath/options.js';
import type { Ratio, Report } from '../../../bench/datapath/report-schema.js';
import { phrase, tell, verdict } from '../../../bench/datapath/verdict.js';
import { ndrSample } from '../../helpers/ndr-sample.js';

const rounds = (values: number[]) => new Map(values.map((v, i) => [i + 1, v]));

/** The 64-byte no-drop rates of issue 20's three repetitions (Mfps): macvtap won every one. */
const RECORDED = { macvtap: [0.801, 0.873, 0.94], bridge: [0.217, 0.591, 0.45] };

/** A report with nothing but 64-byte no-drop rates for the two tapyard paths. */
function report(macvtap: number[], bridge: number[]): Report {
  const options = { ...benchOptions({ rounds: macvtap.length }), frameSizes: ['64' as const] };
  const ndr = (path: string, values: number[]) => ({
    path,
    frameSize: '64' as const,
    ndrLossFraction: 0.001,
    pdrLossFraction: 0.005,
    samples: values.map((v, i) => ndrSample(i + 1, v * 1e6)),
    ndrPerSecond: null,
    pdrPerSecond: null,
  });
  const path = (id: string, lab: 'macvtap' | 'bridge') => ({
    id,
    lab,
    forwarder: 'tapyard' as const,
    kernelOffloads: false,
    status: 'ok' as const,
    note: '',
  });
  return {
    options,
    complete: true,
    machine: { cpus: 2, hostBusyCoresAtStart: 0 },
    paths: [path('macvtap/tapyard', 'macvtap'), path('bridge/tapyard', 'bridge')],
    ndr: [ndr('macvtap/tapyard', macvtap), ndr('bridge/tapyard', bridge)],
    rate: [],
    tcp: [],
    latency: [],
    foreign: [],
    ratios: [],
    vm: { status: 'skipped', accel: null, note: 'No VM rows.', rows: [] },
    queues: { status: 'skipped', cores: 2, flows: 0, note: '', rows: [] },
  } as unknown as Report;
}

describe('telling two paths apart', () => {
  it('three rounds that one path wins by 30-300 % are never "the same": a direction, and too few to be sure', () => {
    const t = tell(
      { name: 'macvtap', rounds: rounds(RECORDED.macvtap) },
      { name: 'bridge', rounds: rounds(RECORDED.bridge) },
      true,
    );
    expect(t?.leader).toBe('macvtap');
    const said = phrase(t!, 'ahead');
    expect(said).not.toMatch(/same/);
    expect(said).toMatch(/^macvtap ahead in 3 of 3 rounds, by \d+ %.*too few for a 95 % interval, which takes 6/);
    const first = verdict(report(RECORDED.macvtap, RECORDED.bridge))[0]!;
    expect(first).toMatch(/^On this machine, for a guest that talks to other machines: macvtap, tentatively\./);
    expect(first).not.toMatch(/same|cannot tell/);
    expect(first).toMatch(/docs\/macvtap-questions\.md/);
  });

  it('the same told from either side: who leads does not depend on the order given', () => {
    const a = { name: 'macvtap', rounds: rounds(RECORDED.macvtap) };
    const b = { name: 'bridge', rounds: rounds(RECORDED.bridge) };
    expect(phrase(tell(b, a, true)!, 'ahead')).toBe(phrase(tell(a, b, true)!, 'ahead'));
  });

  it('six rounds all one way are decided, with the interval of the lead', () => {
    const m = [0.8, 0.82, 0.79, 0.85, 0.81, 0.83];
    const b = [0.5, 0.52, 0.48, 0.55, 0.51, 0.5];
    const t = tell({ name: 'macvtap', rounds: rounds(m) }, { name: 'bridge', rounds: rounds(b) }, true)!;
    expect(t.decided).toBe(true);
    expect(phrase(t, 'ahead')).toMatch(/^macvtap ahead in 6 of 6 rounds, by \d+ %–\d+ % \(median \d+ %\)$/);
    const first = verdict(report(m, b))[0]!;
    expect(first).toMatch(/: macvtap\. Through tapyard, it forwards \d+ % more 64 B frames without loss/);
    expect(first).toMatch(/ahead in 6 of 6 paired rounds, 95 % interval/);
  });

  it('rounds that split evenly and widely are the same within noise, and say what more rounds would need', () => {
    const m = [1.3, 0.75, 1.2, 0.8, 1.25, 0.7];
    const b = [1, 1, 1, 1, 1, 1];
    const said = phrase(
      tell({ name: 'macvtap', rounds: rounds(m) }, { name: 'bridge', rounds: rounds(b) }, true)!,
      'ahead',
    );
    expect(said).toMatch(/^the same within noise \(.* 3 of 6 rounds; \w+\/\w+ 95 % interval 0\.\d\d–1\.\d\dx/);
    const few = phrase(
      tell({ name: 'macvtap', rounds: rounds([1.1, 0.9]) }, { name: 'bridge', rounds: rounds([1, 1]) }, true)!,
      'ahead',
    );
    expect(few).toBe('the same within noise (split 1–1 over 2 rounds)');
    expect(verdict(report(m, b))[0]).toMatch(/cannot tell bridge and macvtap apart/);
  });

  it('rounds that split evenly within a few % are the same within 10 %: decided, and no path picked for it', () => {
    // Issue 20's second full run of 7 December 2026 at 64 B: bridge/macvtap 0.96-1.05x, 5 of 10 rounds each way.
    const m = [1.02, 0.97, 1.01, 0.99, 1.03, 0.98, 1.0, 1.02, 0.98, 1.01];
    const b = [1, 1, 1, 1, 1, 1, 1, 1, 1, 1];
    const t = tell({ name: 'macvtap', rounds: rounds(m) }, { name: 'bridge', rounds: rounds(b) }, true)!;
    expect(t.decided).toBe(false);
    expect(t.equivalent).toBe(true);
    expect(phrase(t, 'ahead')).toMatch(
      /^the same within 10 % \(\w+ ahead in \d+ of 10 rounds; \w+\/\w+ 95 % interval 0\.9\d–1\.0\dx\)$/,
    );
    const first = verdict(report(m, b))[0]!;
    expect(first).toMatch(/^On this machine bridge and macvtap forward about as many 64 B frames without loss/);
    expect(first).toMatch(/95 % interval 0\.9\d–1\.0\dx: under 10 %, no reason to pick a path\); decide on the rest/);
    // A lead decided at 95 % inside the band says its size too.
    const lead = tell(
      { name: 'bridge', rounds: rounds([1.04, 1.05, 1.03, 1.06, 1.04, 1.05]) },
      { name: 'macvtap', rounds: rounds([1, 1, 1, 1, 1, 1]) },
      true,
    )!;
    const said = phrase(lead, 'ahead');
    expect(said).toMatch(/^the same within 10 % \(bridge ahead in 6 of 6 rounds, by \d %–\d %; /);
    expect(said).toMatch(/; bridge\/macvtap 95 % interval 1\.0\d–1\.0\dx\)$/);
  });

  it('a lead decided at 95 % but under 10 % picks no path: the recommendation rests on the rest', () => {
    const m = [1.02, 1.03, 1.01, 1.04, 1.02, 1.03];
    const b = [1.06, 1.08, 1.07, 1.09, 1.06, 1.07];
    const t = tell({ name: 'macvtap', rounds: rounds(m) }, { name: 'bridge', rounds: rounds(b) }, true)!;
    expect(t.decided).toBe(true);
    expect(t.leader).toBe('bridge');
    const first = verdict(report(m, b))[0]!;
    expect(first).toMatch(
      /^On this machine bridge and macvtap forward about as many 64 B frames without loss \(bridge /,
    );
    expect(first).toMatch(/bridge by \d+ %, ahead in 6 of 6 paired rounds, 95 % interval \d+ %–\d+ %: under 10 %/);
    expect(first).toMatch(/no reason to pick a path\); decide on the rest: macvtap/);
    expect(first).toMatch(/docs\/macvtap-questions\.md/);
  });

  it('a lead under 10 % at its centre whose interval reaches past 10 % is only likely under it', () => {
    // Shaped as a full run's 64-byte rounds (7 December 2026): bridge by 8 %, 95 % interval 4-12 %.
    const m = [1, 1, 1, 1, 1, 1, 1, 1, 1, 1];
    const b = [1.04, 1.12, 1.06, 1.16, 1.03, 1.08, 1.05, 1.11, 1.07, 1.09];
    const t = tell({ name: 'macvtap', rounds: rounds(m) }, { name: 'bridge', rounds: rounds(b) }, true)!;
    expect(t).toMatchObject({ leader: 'bridge', decided: true, equivalent: false });
    expect(t.by).toBeLessThan(0.1);
    expect(t.byHigh).toBeGreaterThan(0.1);
    const first = verdict(report(m, b))[0]!;
    expect(first).toMatch(/95 % interval \d+ %–1\d %: likely under 10 %, no reason to pick a path\)/);
  });

  it('where the full load lost nothing on both paths in most rounds, it says the sender set the figures', () => {
    const m = [1.02, 1.03, 1.01, 1.04, 1.02, 1.03];
    const b = [1.06, 1.08, 1.07, 1.09, 1.06, 1.07];
    const r = report(m, b);
    expect(verdict(r).some((s) => /full-load trial lost nothing/.test(s))).toBe(false);
    for (const n of r.ndr) for (const s of n.samples) s.ndrAtFullLoad = s.round <= 4;
    const said = verdict(r).find((s) => /full-load trial lost nothing/.test(s));
    expect(said).toMatch(/^At 64 B \(4 of 6 rounds\) the full-load trial lost nothing on both paths: .*sender/);
    for (const s of r.ndr[0]!.samples) s.ndrAtFullLoad = s.round <= 3;
    expect(verdict(r).some((s) => /full-load trial lost nothing/.test(s))).toBe(false);
  });

  it('a cost is lower-is-better: the cheaper path leads', () => {
    const t = tell(
      { name: 'macvtap', rounds: rounds([0.1, 0.12, 0.11]) },
      { name: 'bridge', rounds: rounds([0.3, 0.33, 0.31]) },
      false,
    )!;
    expect(t.leader).toBe('macvtap');
    expect(t.by).toBeGreaterThan(0.6);
  });

  it('the bridge-or-macvtap comparison pairs the planned rounds only, not rounds a follow-up added', () => {
    const m = [0.8, 0.82, 0.79, 0.85, 0.81, 0.83];
    const b = [0.5, 0.52, 0.48, 0.55, 0.51, 0.5];
    // Rounds 7-12, added to each lab at other minutes: bridge far ahead there.
    const r = report([...m, ...m.map(() => 0.1)], [...b, ...b.map(() => 2)]);
    r.options.rounds = 6;
    expect(verdict(r)[0]).toMatch(/: macvtap\. .*ahead in 6 of 6 paired rounds/);
  });

  it('says how many goal rows got follow-up rounds and how many of them those decided', () => {
    const r = report([0.8, 0.82, 0.79, 0.85, 0.81, 0.83], [0.5, 0.52, 0.48, 0.55, 0.51, 0.5]);
    const row = (
      followUpPairs: number,
      verdict: Ratio['verdict'],
      plannedVerdict: Ratio['verdict'] = followUpPairs ? 'undecided' : verdict,
    ): Ratio => ({
      metric: 'no-drop rate, 64 B',
      unit: 'frames/s',
      path: 'bridge',
      tapyard: 0.95e6,
      c: 1e6,
      ratio: 0.95,
      pairs: 6 + followUpPairs,
      followUpPairs,
      wins: 0,
      losses: 6 + followUpPairs,
      pairedRatio: 0.95,
      ciLow: 0.9,
      ciHigh: 0.99,
      higherIsBetter: true,
      goal: 1,
      verdict,
      plannedVerdict,
    });
    // The last row was missed on its planned rounds and only shared its block's added rounds.
    r.ratios = [row(4, 'missed'), row(6, 'undecided'), row(0, 'missed'), row(8, 'missed', 'missed')];
    const said = verdict(r).find((s) => s.startsWith('tapyard against the C loop'));
    expect(said).toMatch(
      / 2 rows the planned 6 rounds left undecided got 4–6 more rounds; 1 of them is decided now\.$/,
    );
    r.ratios = [row(0, 'missed')];
    expect(verdict(r).find((s) => s.startsWith('tapyard against the C loop'))).not.toMatch(/more rounds/);
  });

  it('an interrupted run says so first', () => {
    const r = { ...report(RECORDED.macvtap, RECORDED.bridge), complete: false };
    expect(verdict(r)[0]).toMatch(/^INCOMPLETE/);
  });
});
