// Micro benchmark of the loop's own per-frame work, without a syscall: one batch of 64 frames
// (64-byte frames with a vnet header, as a macvtap delivers them) handed to Forwarder.onBatch,
// decided by a cross-connect and queued and "written" to a port whose send() only counts.
// What this costs per frame is what tapyard adds to the read() and write() a C loop also makes.
// The VLAN cases price the VLAN layer: an access port's untagged frames pushed onto a trunk (each
// copy rewritten into the egress's buffer), and a tagged frame from trunk to trunk (only looked at).
//
//   npx tsc -p . && node dist/bench/micro/forwarder.bench.js [--quick] [--json]

import { Bench } from 'tinybench';
import { Forwarder } from '../../src/engine/forwarder.js';
import { VNET_HDR_LEN } from '../../src/frame/vnet.js';
import { CrossConnect } from '../../src/switch/cross-connect.js';
import { Hub } from '../../src/switch/hub.js';
import type { VlanConfig } from '../../src/vlan/vlan-port.js';
import { BATCH, batchOf64, SinkPort } from './loop-fixture.js';

const quick = process.argv.includes('--quick');
const json = process.argv.includes('--json');

const access15: VlanConfig = {
  proto: 0x8100,
  ports: [
    { mode: 'access', vid: 15 },
    { mode: 'trunk', allowed: [15], native: null },
  ],
};
const trunks15: VlanConfig = {
  proto: 0x8100,
  ports: [
    { mode: 'trunk', allowed: [15], native: null },
    { mode: 'trunk', allowed: [15], native: null },
  ],
};
const cases: [string, number, VlanConfig | null, number | null][] = [
  ['forward 64B cross-connect', 2, null, null],
  ['forward 64B hub of 4 (3 copies)', 4, null, null],
  ['forward 64B access to trunk (tag pushed)', 2, access15, null],
  ['forward 68B trunk to trunk (tag kept)', 2, trunks15, 15],
];
const bench = new Bench({ time: quick ? 200 : 300, warmupTime: 50 });
for (const [name, ports, vlan, tag] of cases) {
  const all = Array.from({ length: ports }, (_, i) => new SinkPort(`p${i}`, VNET_HDR_LEN));
  const fwd = new Forwarder(all, ports === 2 ? new CrossConnect() : new Hub(), { vlan });
  fwd.start();
  const batch = batchOf64(tag);
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
      `${r.name.padEnd(42)} ${(r.framesPerSecond / 1e6).toFixed(1)} M frames/s  ` +
        `(${(1e9 / r.framesPerSecond).toFixed(0)} ns/frame)`,
    );
}
