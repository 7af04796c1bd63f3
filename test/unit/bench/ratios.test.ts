// The goal rows (bench/datapath/ratios.ts) on recorded-shape samples: a row's verdict takes every
// round, its plannedVerdict only the planned ones, so the report can tell which rows a follow-up
// was for and what it decided.

import { describe, expect, it } from 'vitest';
import { benchOptions } from '../../../bench/datapath/options.js';
import { computeRatios, type Measured } from '../../../bench/datapath/ratios.js';
import { summarize } from '../../../bench/datapath/stats.js';
import { ndrSample } from '../../helpers/ndr-sample.js';

/** 64-byte no-drop rates per round (frames/s) of both forwarders on the bridge; 6 rounds planned. */
function measured(tapyard: number[], c: number[]): Measured {
  const ndr = (path: string, values: number[]) => ({
    path,
    frameSize: '64' as const,
    ndrLossFraction: 0.001,
    pdrLossFraction: 0.005,
    samples: values.map((v, i) => ndrSample(i + 1, v)),
    ndrPerSecond: summarize(values),
    pdrPerSecond: summarize(values),
  });
  return {
    options: { ...benchOptions({ rounds: 6 }), frameSizes: ['64'] },
    ndr: [ndr('bridge/tapyard', tapyard), ndr('bridge/c', c)],
    rate: [],
    tcp: [],
    latency: [],
    foreign: [],
  } as unknown as Measured;
}

const ndrRow = (m: Measured) => computeRatios(m).find((r) => r.metric === 'no-drop rate, 64 B' && r.path === 'bridge');

describe('a goal row before and after its follow-up', () => {
  const c = Array(12).fill(1e6);
  // Planned rounds that straddle the goal of 1.00x, then six added rounds all well below it.
  const planned = [0.97, 1.03, 0.99, 1.02, 0.96, 1.01].map((x) => x * 1e6);

  it('keeps the planned rounds verdict apart from the verdict on every round', () => {
    const row = ndrRow(measured([...planned, ...Array(6).fill(0.9e6)], c));
    expect(row).toMatchObject({ pairs: 12, followUpPairs: 6, plannedVerdict: 'undecided', verdict: 'missed' });
  });

  it('a row with no added rounds has one verdict', () => {
    const row = ndrRow(measured(planned, c.slice(0, 6)));
    expect(row).toMatchObject({ pairs: 6, followUpPairs: 0, plannedVerdict: 'undecided', verdict: 'undecided' });
  });

  it('a row decided on its planned rounds stays so, whatever its added rounds say', () => {
    const low = Array(6).fill(0.9e6);
    const row = ndrRow(measured([...low, ...planned], c));
    expect(row).toMatchObject({ followUpPairs: 6, plannedVerdict: 'missed' });
  });
});
