// Micro benchmark of the frame layer: whole-frame parse of a 64-byte Ethernet/IPv4/UDP frame and
// of a 1518-byte 802.1Q/IPv4/TCP frame, the Internet checksum of 1500 bytes, and finishing a
// NEEDS_CSUM frame. Then an allocation check: millions of parses with the heap and GC watched.
//
//   npx tsc -p . && node dist/bench/micro/frame.bench.js [--quick] [--json]
//
// Each tinybench operation handles a batch of BATCH frames laid out in one buffer, as a port's
// batch buffer holds them: a per-operation timer read costs more than one parse, so per-frame
// figures are ops/s × BATCH. --json prints one line {"results": [{name, framesPerSecond}], ...}.

import { PerformanceObserver } from 'node:perf_hooks';
import { Bench } from 'tinybench';
import { completePartialChecksum, internetChecksum } from '../../src/frame/checksum.js';
import { Frame } from '../../src/frame/frame.js';
import { TcpField } from '../../src/frame/tcp.js';
import { buildFrame } from '../../src/spec/build.js';

const BATCH = 256;
const quick = process.argv.includes('--quick');
const json = process.argv.includes('--json');

/** BATCH frames in one buffer, each at a 64-byte-aligned slot (the layout of a batch buffer). */
interface Batch {
  bytes: Uint8Array;
  offsets: number[];
  length: number;
}

function batchOf(make: (i: number) => Uint8Array): Batch {
  const frames = Array.from({ length: BATCH }, (_, i) => make(i));
  const length = frames[0]!.length;
  const slot = Math.ceil(length / 64) * 64;
  const bytes = new Uint8Array(slot * BATCH);
  const offsets = frames.map((frame, i) => {
    bytes.set(frame, i * slot);
    return i * slot;
  });
  return { bytes, offsets, length };
}

// 14 + 20 + 8 + 22 = 64 bytes.
const udp64 = batchOf((i) =>
  buildFrame({
    eth: { src: 0x020000000001, dst: 0x020000000002 },
    ipv4: { src: '10.77.0.1', dst: '10.77.0.2', identification: i },
    udp: { srcPort: 40000 + i, dstPort: 7777 },
    payload: new Uint8Array(22),
  }),
);

// 18 + 20 + 32 (timestamps) + 1448 = 1518 bytes: a full-size segment in a VLAN.
const TCP_TIMESTAMPS = Uint8Array.from([1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2]);
function segment(i: number, checksum: 'full' | 'partial'): Uint8Array {
  return buildFrame({
    eth: { src: 0x020000000001, dst: 0x020000000002, vlan: 10 },
    ipv4: { src: '10.77.0.1', dst: '10.77.0.2', identification: i },
    tcp: { srcPort: 40000, dstPort: 7778, seq: i * 1448, ack: 1, flags: '.', window: 502, options: TCP_TIMESTAMPS },
    payload: new Uint8Array(1448).map((_, j) => (i + j) & 0xff),
    checksum,
  });
}
const tcp1518 = batchOf((i) => segment(i, 'full'));
// The same segments as a checksum-offloading sender leaves them (virtio NEEDS_CSUM).
const tcpPartial = batchOf((i) => segment(i, 'partial'));
const completing = batchOf((i) => segment(i, 'partial'));
const TCP_CSUM_START = 18 + 20;
const TCP_CSUM_FIELD = TCP_CSUM_START + TcpField.CHECKSUM;

if (udp64.length !== 64 || tcp1518.length !== 1518) throw new Error('the benchmark frames have the wrong size');

const frame = new Frame();
// A small integer, so that adding to it allocates nothing either.
let sink = 0;

function parseAll(batch: Batch): void {
  const { bytes, offsets, length } = batch;
  for (let i = 0; i < offsets.length; i++) {
    if (frame.parse(bytes, offsets[i]!, length) === null) sink = (sink + frame.transport) | 0;
  }
}

function checksumAll(batch: Batch): void {
  const { bytes, offsets } = batch;
  for (let i = 0; i < offsets.length; i++) sink = (sink + internetChecksum(bytes, offsets[i]! + 18, 1500)) | 0;
}

function completeAll(batch: Batch): void {
  const { bytes, offsets, length } = batch;
  for (let i = 0; i < offsets.length; i++) {
    const at = offsets[i]!;
    // Put the pseudo-header sum back (two bytes) so that every round does the same work.
    bytes[at + TCP_CSUM_FIELD] = tcpPartial.bytes[at + TCP_CSUM_FIELD]!;
    bytes[at + TCP_CSUM_FIELD + 1] = tcpPartial.bytes[at + TCP_CSUM_FIELD + 1]!;
    completePartialChecksum(bytes, at, length, TCP_CSUM_START, TcpField.CHECKSUM);
  }
}

const tasks: Array<[string, () => void]> = [
  ['parse eth+ipv4+udp, 64 B', () => parseAll(udp64)],
  ['parse eth+vlan+ipv4+tcp, 1518 B', () => parseAll(tcp1518)],
  ['internet checksum, 1500 B', () => checksumAll(tcp1518)],
  ['complete NEEDS_CSUM, tcp 1518 B', () => completeAll(completing)],
];

const bench = new Bench({ time: quick ? 300 : 400, warmupTime: 100 });
for (const [name, fn] of tasks) bench.add(name, fn);
await bench.run();

const results = bench.tasks.map((task) => {
  const result = task.result as { throughput?: { mean: number }; latency?: { rme: number } };
  const framesPerSecond = (result.throughput?.mean ?? 0) * BATCH;
  return { name: task.name, framesPerSecond, nsPerFrame: 1e9 / framesPerSecond, rme: result.latency?.rme ?? 0 };
});

// --- allocations -------------------------------------------------------------------------------
// With nothing allocated per frame, millions of parses trigger no scavenge and leave the heap
// where it was. Run after the benchmark so that the parse code is already optimised.
interface Allocation {
  parses: number;
  heapBytesPerParse: number;
  gcs: number;
}

async function allocation(batch: Batch, rounds: number): Promise<Allocation> {
  let gcs = 0;
  const observer = new PerformanceObserver((list) => {
    gcs += list.getEntries().length;
  });
  observer.observe({ entryTypes: ['gc'] });
  await new Promise((resolve) => setTimeout(resolve, 50));
  gcs = 0;
  const before = process.memoryUsage().heapUsed;
  for (let r = 0; r < rounds; r++) parseAll(batch);
  const after = process.memoryUsage().heapUsed;
  // GC entries are delivered asynchronously.
  await new Promise((resolve) => setTimeout(resolve, 50));
  observer.disconnect();
  const parses = rounds * batch.offsets.length;
  return { parses, heapBytesPerParse: (after - before) / parses, gcs };
}

const rounds = quick ? 4_000 : 20_000;
const allocUdp = await allocation(udp64, rounds);
const allocTcp = await allocation(tcp1518, rounds);

if (json) {
  console.log(JSON.stringify({ results, allocation: { udp64: allocUdp, tcp1518: allocTcp }, sink }));
} else {
  console.log(`frame layer micro benchmark (node ${process.version}, ${BATCH} frames per operation)`);
  for (const r of results) {
    const fps = (r.framesPerSecond / 1e6).toFixed(1).padStart(7);
    const ns = r.nsPerFrame.toFixed(1).padStart(7);
    console.log(`  ${r.name.padEnd(34)} ${fps} M frames/s  ${ns} ns/frame  ±${r.rme.toFixed(1)}%`);
  }
  for (const [name, a] of [
    ['udp64', allocUdp],
    ['tcp1518', allocTcp],
  ] as const) {
    const heap = `${a.heapBytesPerParse >= 0 ? '+' : ''}${a.heapBytesPerParse.toFixed(4)}`;
    console.log(
      `  allocation, ${name}: ${(a.parses / 1e6).toFixed(1)} M parses, heap ${heap} B/parse, ${a.gcs} GC events`,
    );
  }
  if (sink === 0.5) console.log(sink); // keeps `sink` observable
}
