// The report's reader of the micro benchmarks' JSON (bench/datapath/micro.ts) against the shape
// bench/micro/model.bench.ts prints: results, the allocation check and issue 14's goal beside them.

import { describe, expect, it } from 'vitest';
import { parseMicroOutput } from '../../../bench/datapath/micro.js';

const MODEL_LINE = JSON.stringify({
  results: [
    { name: 'parse only, 64 B', framesPerSecond: 25.7e6, nsPerFrame: 38.9 },
    { name: 'parse + rx filter + decide macvlan, 64 B', framesPerSecond: 6.8e6, nsPerFrame: 147 },
  ],
  allocation: [
    {
      task: 'parse only, 64 B',
      frames: 1_024_000,
      heapBytesPerFrame: 0,
      roundsAllocating: 1,
      rounds: 250,
      gcs: 0,
      verdict: '0 allocations',
    },
  ],
  goal: {
    task: 'parse + rx filter + decide macvlan, 64 B',
    goalFramesPerSecond: 20e6,
    framesPerSecond: 6.8e6,
    allocations: '0 allocations',
    met: false,
  },
});

describe('micro benchmark output', () => {
  it('reads the model bench line with its goal: the results only, each with its source', () => {
    const results = parseMicroOutput(`warming up\n${MODEL_LINE}\n`, 'bench/micro/model.bench.ts');
    expect(results).toEqual([
      { name: 'parse only, 64 B', framesPerSecond: 25.7e6, source: 'bench/micro/model.bench.ts' },
      {
        name: 'parse + rx filter + decide macvlan, 64 B',
        framesPerSecond: 6.8e6,
        source: 'bench/micro/model.bench.ts',
      },
    ]);
  });

  it('finds nothing in text that holds no results', () => {
    expect(parseMicroOutput('goal (issue 14): missed\n{"goal":{"met":false}}\n', 'x')).toEqual([]);
  });
});
