// What impairments cost the loop, side by side, without a syscall: one batch of 64 frames of
// 64 bytes handed to Forwarder.onBatch on in-memory ports, through a cross-connect, to an egress
// that is (1) plain, as every port without impairments is, (2) impaired with every impairment
// at zero (the impairment's code runs, and does nothing), (3) loss=10%. The plain row is the
// path a port without impairments runs: one check per copy more than before impairments were
// added. Each case runs in three rounds, interleaved, and the best round counts (a shared
// machine slows some rounds down).
//
//   npx tsc -p . && node dist/bench/micro/impair.bench.js [--quick] [--json]
//
// `tapyard bench` runs it with every bench/micro file: its rows join the report's micro table.

import { Bench } from 'tinybench';
import { Forwarder } from '../../src/engine/forwarder.js';
import { DEFAULT_LIMIT, type ImpairConfig } from '../../src/impair/config.js';
import { CrossConnect } from '../../src/switch/cross-connect.js';
import { BATCH, batchOf64, SinkPort } from './loop-fixture.js';

const ROUNDS = 3;
const quick = process.argv.includes('--quick');
const json = process.argv.includes('--json');

const ZERO: ImpairConfig = {
  loss: 0,
  delayMs: 0,
  jitterMs: 0,
  dup: 0,
  reorder: 0,
  corrupt: 0,
  rateMbit: null,
  limit: DEFAULT_LIMIT,
  seed: 1,
};
const cases: [string, ImpairConfig | null][] = [
  ['loop to a plain egress (no impairments)', null],
  ['loop to an egress with impairments at zero', ZERO],
  ['loop to an egress with loss=10%', { ...ZERO, loss: 0.1 }],
];

const best = new Map<string, number>();
for (let round = 0; round < ROUNDS; round++) {
  const bench = new Bench({ time: quick ? 200 : 300, warmupTime: 50 });
  for (const [name, impair] of cases) {
    const ports = [new SinkPort('in', 0), new SinkPort('out', 0)];
    const fwd = new Forwarder(ports, new CrossConnect(), { impairments: [null, impair] });
    fwd.start();
    const batch = batchOf64();
    bench.add(name, () => fwd.onBatch(ports[0]!, batch));
  }
  await bench.run();
  for (const task of bench.tasks) {
    const r = task.result as { throughput?: { mean?: number } } | undefined;
    const fps = (r?.throughput?.mean ?? 0) * BATCH;
    best.set(task.name, Math.max(best.get(task.name) ?? 0, fps));
  }
}

const plain = best.get(cases[0]![0])!;
const results = cases.map(([name]) => ({
  name,
  framesPerSecond: best.get(name)!,
  nsPerFrame: 1e9 / best.get(name)!,
  vsPlain: best.get(name)! / plain,
}));
if (json) console.log(JSON.stringify({ batch: BATCH, rounds: ROUNDS, results }));
else {
  for (const r of results) {
    console.log(
      `${r.name.padEnd(44)} ${(r.framesPerSecond / 1e6).toFixed(1)} M frames/s  ` +
        `(${r.nsPerFrame.toFixed(0)} ns/frame, ${(r.vsPlain * 100).toFixed(0)} % of plain)`,
    );
  }
}
