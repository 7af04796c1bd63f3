// Micro benchmark of the loop's own per-frame work, without a syscall: one batch of 64 frames
// (64-byte frames with a vnet header, as a macvtap delivers them) handed to Forwarder.onBatch,
// decided by a cross-connect and queued and "written" to a port whose send() only counts.
// What this costs per frame is what tapyard adds to the read() and write() a C loop also makes.
//
//   npx tsc -p . && node dist/bench/micro/forwarder.bench.js [--quick] [--json]

import { Bench } from 'tinybench';
import { Forwarder } from '../../src/engine/forwarder.js';
import { buildFrame } from '../../src/frame/build.js';
import { VNET_HDR_LEN } from '../../src/frame/vnet.js';
import { Counters } from '../../src/port/counters.js';
import { HEADROOM, type Port, type RxBatch } from '../../src/port/port.js';
import { CrossConnect } from '../../src/switch/cross-connect.js';
import { Hub } from '../../src/switch/hub.js';

const BATCH = 64;
const quick = process.argv.includes('--quick');
const json = process.argv.includes('--json');

/** A port that takes every frame and keeps nothing: only the loop's work is left to measure. */
class SinkPort implements Port {
  readonly kind = 'memory' as const;
  readonly device = 'sink';
  readonly counters = new Counters();
  readonly hdrLen = VNET_HDR_LEN;
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
    batch.buf.set(frame, i * slot + HEADROOM); // the vnet header before it stays zero: no offload
  }
  return batch;
}

const cases: [string, number][] = [
  ['forward 64B cross-connect', 2],
  ['forward 64B hub of 4 (3 copies)', 4],
];
const bench = new Bench({ time: quick ? 200 : 1000, warmupTime: quick ? 50 : 200 });
for (const [name, ports] of cases) {
  const all = Array.from({ length: ports }, (_, i) => new SinkPort(`p${i}`));
  const fwd = new Forwarder(all, ports === 2 ? new CrossConnect() : new Hub());
  fwd.start();
  const batch = batchOf64();
  bench.add(name, () => fwd.onBatch(all[0]!, batch));
}
await bench.run();

const results = bench.tasks.map((task) => {
  const r = task.result as { throughput?: { mean?: number } } | undefined;
  return { name: task.name, framesPerSecond: (r?.throughput?.mean ?? 0) * BATCH };
});
if (json) {
  console.log(JSON.stringify({ results }));
} else {
  for (const r of results)
    console.log(
      `${r.name.padEnd(34)} ${(r.framesPerSecond / 1e6).toFixed(1)} M frames/s  ` +
        `(${(1e9 / r.framesPerSecond).toFixed(0)} ns/frame)`,
    );
}
