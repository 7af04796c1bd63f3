// Micro benchmark of the datapath model, per frame: parse the whole frame, run the guest NIC's
// receive filter, and decide with the macvlan model and with the learning bridge — what
// `tapyard trace` explains. The last task is exactly what `tapyard forward --switch macvlan` adds
// per frame: the forwarder parses only the Ethernet header and its tags (EthernetView), as the
// model's decisions need nothing deeper.
//
//   npx tsc -p . && node dist/bench/micro/model.bench.js [--quick] [--json]
//
// Frames are 64-byte UDP frames to a mix of destinations (a sibling, the outside, broadcast,
// an IPv4 group), BATCH per tinybench operation. After the benchmark, an allocation check runs
// every path over a million frames or more with the heap watched: the goal is none per frame.
// The last line says whether issue 14's goal is met: the whole-frame task (parse + rx filter +
// decide macvlan) at 20 M frames/s on one core with 0 allocations; `--json` carries it as `goal`.

import { PerformanceObserver } from 'node:perf_hooks';
import { getHeapStatistics } from 'node:v8';
import { Bench } from 'tinybench';
import { boundSwitch, type NamedPort } from '../../src/config/bound-switch.js';
import { isAccepted, RxFilter } from '../../src/filter/rx-filter.js';
import { EthernetView } from '../../src/frame/ethernet.js';
import { Frame } from '../../src/frame/frame.js';
import { parseMac } from '../../src/mac.js';
import { buildFrame } from '../../src/spec/build.js';
import { Decision } from '../../src/switch/decision.js';

const BATCH = 256;
const quick = process.argv.includes('--quick');
const json = process.argv.includes('--json');

const A = '02:00:00:00:01:01';
const B = '02:00:00:00:01:02';
const EXT = '02:00:00:00:00:99';
const DESTINATIONS = [B, EXT, 'ff:ff:ff:ff:ff:ff', '01:00:5e:00:00:01'];

const SLOT = 128;
/** BATCH frames from `src` to the DESTINATIONS in turn, one per SLOT bytes. */
function frames(src: string): Uint8Array {
  const out = new Uint8Array(BATCH * SLOT);
  for (let i = 0; i < BATCH; i++) {
    const frame = buildFrame({
      eth: { src, dst: DESTINATIONS[i % DESTINATIONS.length]! },
      ipv4: { src: '10.77.0.1', dst: '10.77.0.2', identification: i },
      udp: { srcPort: 40000 + i, dstPort: 7777 },
      payload: new Uint8Array(22),
    });
    out.set(frame, i * SLOT);
  }
  return out;
}
const bytes = frames(A);
const fromOutside = frames(EXT);
const LENGTH = 64;

const port = (name: string, keys: Record<string, string>, mac: string | null = null): NamedPort => ({
  name,
  mac: mac === null ? null : parseMac(mac),
  keys: Object.entries(keys)
    .map(([k, v]) => `${k}=${v}`)
    .join(','),
});

// A lower with two bridge-mode endpoints; frames enter from endpoint a (port 1).
const macvlan = boundSwitch('macvlan', [
  port('wire', { role: 'lower' }),
  port('a', { mode: 'bridge' }, A),
  port('b', { mode: 'bridge' }, B),
]);
// The receive side of a lower (a vepa and a bridge endpoint that joined 224.0.0.1): frames from
// the outside arrive on the wire (port 0).
const lower = boundSwitch('macvlan', [
  port('wire', { role: 'lower' }),
  port('a', { mode: 'vepa', groups: '01:00:5e:00:00:01' }, A),
  port('b', { mode: 'bridge', groups: '01:00:5e:00:00:01' }, B),
]);
// A bridge with three ports that has learned every station; frames enter from p1.
const bridge = boundSwitch('bridge', [port('p1', {}, A), port('p2', {}, B), port('p3', {}, EXT)]);

const filter = new RxFilter(parseMac(A)!);
filter.setRxMode('promisc', false);
filter.setMacTable([], [parseMac('01:00:5e:00:00:01')!]);

const frame = new Frame();
const eth = new EthernetView();
const decision = new Decision();
let sink = 0; // a small integer, so that adding to it allocates nothing either

// One loop per task, each with its own call sites: a forwarder runs one switch per process, so
// its decide() call site only ever sees that switch. (A shared loop would see two switches and
// the filter switched on and off, and V8 would optimise it for none of them.)

function parseOnly(): void {
  for (let i = 0; i < BATCH; i++) if (frame.parse(bytes, i * SLOT, LENGTH) === null) sink = (sink + 1) | 0;
}

function parseFilter(): void {
  for (let i = 0; i < BATCH; i++) {
    if (frame.parse(bytes, i * SLOT, LENGTH) !== null) continue;
    // As the forwarder does: the verdict, then whether it accepts.
    if (isAccepted(filter.check(frame.ethernet))) sink = (sink + 1) | 0;
  }
}

function parseDecideMacvlan(): void {
  for (let i = 0; i < BATCH; i++) {
    if (frame.parse(bytes, i * SLOT, LENGTH) !== null) continue;
    macvlan.decide(1, frame.ethernet, decision.reset());
    sink = (sink + decision.outputs.length) | 0;
  }
}

function parseDecideFromWire(): void {
  for (let i = 0; i < BATCH; i++) {
    if (frame.parse(fromOutside, i * SLOT, LENGTH) !== null) continue;
    lower.decide(0, frame.ethernet, decision.reset());
    sink = (sink + decision.outputs.length) | 0;
  }
}

function parseDecideBridge(): void {
  for (let i = 0; i < BATCH; i++) {
    if (frame.parse(bytes, i * SLOT, LENGTH) !== null) continue;
    bridge.decide(0, frame.ethernet, decision.reset());
    sink = (sink + decision.outputs.length) | 0;
  }
}

function parseFilterDecideMacvlan(): void {
  for (let i = 0; i < BATCH; i++) {
    if (frame.parse(bytes, i * SLOT, LENGTH) !== null) continue;
    if (isAccepted(filter.check(frame.ethernet))) sink = (sink + 1) | 0;
    macvlan.decide(1, frame.ethernet, decision.reset());
    sink = (sink + decision.outputs.length) | 0;
  }
}

/** The forwarder's own order (src/engine/forwarder.ts): parse the header, decide, then filter each copy. */
function datapathMacvlan(): void {
  for (let i = 0; i < BATCH; i++) {
    if (eth.parse(bytes, i * SLOT, LENGTH) !== null) continue;
    macvlan.decide(1, eth, decision.reset());
    if (decision.outputs.length > 0 && isAccepted(filter.check(eth))) sink = (sink + 1) | 0;
  }
}

/** Issue 14's goal for the model: the whole-frame parse, the guest's receive filter and the
 *  macvlan decision (what `tapyard trace` runs per frame) at 20 M frames/s on one core. */
const GOAL_TASK = 'parse + rx filter + decide macvlan, 64 B';
const GOAL_FRAMES_PER_SECOND = 20e6;

const tasks: [string, () => void][] = [
  ['parse only, 64 B', parseOnly],
  ['parse + rx filter, 64 B', parseFilter],
  ['parse + decide macvlan (bridge mode), 64 B', parseDecideMacvlan],
  ['parse + decide macvlan, from the wire, 64 B', parseDecideFromWire],
  ['parse + decide learning bridge, 64 B', parseDecideBridge],
  [GOAL_TASK, parseFilterDecideMacvlan],
  ['datapath: header + decide macvlan + rx filter, 64 B', datapathMacvlan],
];

// Teach the bridge where every station is before measuring (known unicast, not a flood).
for (const [ingress, mac] of [
  [1, B],
  [2, EXT],
] as const) {
  const learn = buildFrame({
    eth: { src: mac, dst: A },
    ipv4: { src: '10.77.0.3', dst: '10.77.0.1' },
    udp: { srcPort: 1, dstPort: 2 },
  });
  frame.parse(learn, 0, learn.length);
  bridge.decide(ingress, frame.ethernet, decision.reset());
}

const bench = new Bench({ time: quick ? 300 : 400, warmupTime: 100 });
for (const [name, fn] of tasks) bench.add(name, fn);
await bench.run();
const results = bench.tasks.map((task) => {
  const r = task.result as { throughput?: { mean?: number } } | undefined;
  const framesPerSecond = (r?.throughput?.mean ?? 0) * BATCH;
  return { name: task.name, framesPerSecond, nsPerFrame: 1e9 / framesPerSecond };
});

// --- allocations -------------------------------------------------------------------------------
// Run after the benchmark, so that every path is optimised. The heap's used size grows by what
// each allocation takes until a scavenge empties the young generation, so the bytes a round of
// frames allocates are the growth over the round, and a round during which a scavenge ran
// (the used size fell) is left out. Reading the heap statistics allocates a little itself, and
// how much depends on how far V8 has optimised the reading: so every round is preceded by an
// empty one (two readings, nothing between them), whose growth is subtracted.

const ROUND = 16; // batches per round: 4096 frames

function heapUsed(): number {
  return getHeapStatistics().used_heap_size;
}

interface Allocation {
  task: string;
  frames: number;
  /** Over the rounds no scavenge interrupted. */
  heapBytesPerFrame: number;
  /** Rounds that allocated anything: a few is V8 at work (compiling, the loop clock's one read
   *  per turn); most of them means something allocates per frame. */
  roundsAllocating: number;
  rounds: number;
  /** Scavenges and other collections seen while the check ran. */
  gcs: number;
  /** What the figures say: '0 allocations', or how many heap bytes each frame costs. */
  verdict: string;
}

/** More than one round in ten allocating is something per frame, not V8 at work. */
function allocationVerdict(bytesPerFrame: number, roundsAllocating: number, rounds: number): string {
  return roundsAllocating * 10 <= rounds ? '0 allocations' : `${bytesPerFrame.toFixed(2)} bytes per frame`;
}

async function allocation(task: string, fn: () => void, rounds: number): Promise<Allocation> {
  let gcs = 0;
  const observer = new PerformanceObserver((list) => {
    gcs += list.getEntries().length;
  });
  observer.observe({ entryTypes: ['gc'] });
  await new Promise((r) => setTimeout(r, 50));
  gcs = 0;
  let bytes = 0;
  let measured = 0;
  let roundsAllocating = 0;
  for (let r = 0; r < rounds; r++) {
    const emptyBefore = heapUsed();
    const emptyAfter = heapUsed();
    const before = heapUsed();
    for (let b = 0; b < ROUND; b++) fn();
    const after = heapUsed();
    if (after < before || emptyAfter < emptyBefore) continue;
    const allocated = after - before - (emptyAfter - emptyBefore);
    if (allocated > 0) {
      bytes += allocated;
      roundsAllocating++;
    }
    measured += ROUND * BATCH;
  }
  // GC entries are delivered asynchronously.
  await new Promise((r) => setTimeout(r, 50));
  observer.disconnect();
  const heapBytesPerFrame = bytes / measured;
  return {
    task,
    frames: rounds * ROUND * BATCH,
    heapBytesPerFrame,
    roundsAllocating,
    rounds,
    gcs,
    verdict: allocationVerdict(heapBytesPerFrame, roundsAllocating, rounds),
  };
}

const allocations: Allocation[] = [];
// A first short pass lets V8 compile the measuring loop itself (code objects live on the heap).
await allocation('warm-up', tasks[0]![1], 20);
for (const [name, fn] of tasks) allocations.push(await allocation(name, fn, quick ? 250 : 1_000));

const measured = results.find((r) => r.name === GOAL_TASK)!;
const goalAllocation = allocations.find((a) => a.task === GOAL_TASK)!;
const goal = {
  task: GOAL_TASK,
  goalFramesPerSecond: GOAL_FRAMES_PER_SECOND,
  framesPerSecond: measured.framesPerSecond,
  allocations: goalAllocation.verdict,
  met: measured.framesPerSecond >= GOAL_FRAMES_PER_SECOND && goalAllocation.verdict === '0 allocations',
};

const mfps = (fps: number): string => (fps / 1e6).toFixed(1);
if (json) {
  console.log(JSON.stringify({ results, allocation: allocations, goal }));
} else {
  for (const r of results)
    console.log(
      `${r.name.padEnd(52)} ${mfps(r.framesPerSecond).padStart(5)} M frames/s  (${r.nsPerFrame.toFixed(0)} ns/frame)` +
        (r.name === GOAL_TASK ? `  goal ${mfps(GOAL_FRAMES_PER_SECOND)} M` : ''),
    );
  console.log('allocation check:');
  for (const a of allocations) {
    console.log(
      `${a.task.padEnd(52)} ${a.verdict.padEnd(24)} ` +
        `${a.heapBytesPerFrame.toFixed(3).padStart(6)} heap bytes per frame, ` +
        `${a.roundsAllocating}/${a.rounds} rounds allocated, ` +
        `${a.gcs} collections in ${(a.frames / 1e6).toFixed(1)} M frames`,
    );
  }
  console.log(
    `goal (issue 14): ${GOAL_TASK} at ${mfps(GOAL_FRAMES_PER_SECOND)} M frames/s per core ` +
      `(${(1e9 / GOAL_FRAMES_PER_SECOND).toFixed(0)} ns/frame), 0 allocations: ` +
      `${goal.met ? 'met' : 'missed'} at ${mfps(goal.framesPerSecond)} M frames/s, ${goal.allocations}`,
  );
  if (sink === 0.5) console.log(sink); // keeps `sink` observable
}
