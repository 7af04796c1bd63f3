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
import { buildFrame } from '../../src/frame/build.js';
import { DEFAULT_LIMIT, type ImpairConfig } from '../../src/impair/config.js';
import { Counters } from '../../src/port/counters.js';
import { HEADROOM, type Port, type RxBatch } from '../../src/port/port.js';
import { CrossConnect } from '../../src/switch/cross-connect.js';

const BATCH = 64;
const ROUNDS = 3;
const quick = process.argv.includes('--quick');
const json = process.argv.includes('--json');

/** An in-memory port that takes every frame and keeps nothing: only the loop's work is measured. */
class SinkPort implements Port {
  readonly kind = 'memory' as const;
  readonly device = 'sink';
  readonly counters = new Counters();
  readonly hdrLen = 0;
  readonly mac = null;
  readonly maxFrame = 1518;
  readonly offload = false;
  readonly budget = BATCH;
  constructor(readonly name: string) {}
  start(): void {}
  setReading(): void {}
  setWantWritable(): void {}
  send(_buf: Uint8Array, _offsets: Uint32Array, _lengths: Uint32Array, count: number, status: Int32Array): number {
    status.fill(0, 0, count);
    return count;
  }
  close(): void {}
}

function batchOf64(): RxBatch {
  const frame = buildFrame({
    eth: { src: 0x020000000001, dst: 0x020000000002 },
    ipv4: { src: '10.77.0.1', dst: '10.77.0.2' },
    udp: { srcPort: 40000, dstPort: 7777 },
    payload: new Uint8Array(22),
  });
  const slot = 128;
  const batch: RxBatch = {
    buf: new Uint8Array(BATCH * slot),
    offsets: new Uint32Array(BATCH),
    lengths: new Int32Array(BATCH),
    count: BATCH,
  };
  for (let i = 0; i < BATCH; i++) {
    batch.offsets[i] = i * slot + HEADROOM;
    batch.lengths[i] = frame.length;
    batch.buf.set(frame, i * slot + HEADROOM);
  }
  return batch;
}

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
  const bench = new Bench({ time: quick ? 200 : 1000, warmupTime: quick ? 50 : 200 });
  for (const [name, impair] of cases) {
    const ports = [new SinkPort('in'), new SinkPort('out')];
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
