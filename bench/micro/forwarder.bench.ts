// Micro benchmark of the loop's own per-frame work, without a syscall: one batch of 64 frames
// (64-byte frames with a vnet header, as a macvtap delivers them) handed to Forwarder.onBatch,
// decided by a cross-connect and queued and "written" to a port whose send() only counts.
// What this costs per frame is what tapyard adds to the read() and write() a C loop also makes.
//
//   npx tsc -p . && node dist/bench/micro/forwarder.bench.js [--quick] [--json]

import { Bench } from 'tinybench';
import { Forwarder } from '../../src/engine/forwarder.js';
import { VNET_HDR_LEN } from '../../src/frame/vnet.js';
import { CrossConnect } from '../../src/switch/cross-connect.js';
import { Hub } from '../../src/switch/hub.js';
import { BATCH, batchOf64, SinkPort } from './loop-fixture.js';

const quick = process.argv.includes('--quick');
const json = process.argv.includes('--json');

const cases: [string, number][] = [
  ['forward 64B cross-connect', 2],
  ['forward 64B hub of 4 (3 copies)', 4],
];
const bench = new Bench({ time: quick ? 200 : 1000, warmupTime: quick ? 50 : 200 });
for (const [name, ports] of cases) {
  const all = Array.from({ length: ports }, (_, i) => new SinkPort(`p${i}`, VNET_HDR_LEN));
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
