// The soak: tapyard forwards mixed traffic on each path for minutes while its RSS, VmData and
// open fds are sampled from /proc and its JavaScript heap is read from its own --stats lines, so
// that a leak (memory or descriptors) shows as a slope.
// Not part of CI: it runs as root, builds its own labs and takes thirty minutes by default.
//
//   node dist/bench/soak/main.js [--minutes 30] [--paths macvtap,bridge]
//
// The paths run at the same time, each in a lab of its own; every child is tracked by pid and
// every lab is removed at the end, on a failure and on Ctrl-C.

import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { newLabId, teardown } from '../../src/lab/builder.js';
import { bringUpLab } from '../../src/lab/up.js';
import { packageRoot } from '../../src/package-root.js';
import { STOP_REQUESTS } from '../../src/stop-signals.js';
import { HEAP_FLAT, type HeapJudgement, judgeHeap } from './heap.js';

const ROOT = packageRoot();
const CLI = join(ROOT, 'dist', 'src', 'cli', 'main.js');
const TYGEN = join(ROOT, 'bench', 'baseline', 'bin', 'tygen');
const SAMPLE_MS = 10_000;
/** One traffic phase: long enough for iperf3 to reach a steady rate, short enough to mix. */
const PHASE_S = 20;
/**
 * RSS and fds are "flat" when the last third of the run is within this fraction of the middle
 * third. The first third is left out: V8 grows its spaces to a working size over the first minutes
 * (a 30-minute soak, in docs/soak.md, shows RSS rising for ten minutes, then settling). The heap
 * is judged by its floors instead (heap.ts).
 */
const FLAT = 0.1;

type Path = 'macvtap' | 'bridge';

interface Sample {
  seconds: number;
  rssKiB: number;
  dataKiB: number;
  /** V8's heap in use, from the forwarder's latest --stats line (0 before the first). */
  heapKiB: number;
  fds: number;
  forwarded: number;
}

interface PathResult {
  path: Path;
  samples: Sample[];
  final: { forwarded: number; drops: number; balanced: boolean } | null;
  rssFlat: boolean;
  heap: HeapJudgement;
  fdsFlat: boolean;
}

function fail(sentence: string, status: number): never {
  process.stderr.write(`tapyard soak: ${sentence}\n`);
  process.exit(status);
}

function parseArgs(argv: string[]): { minutes: number; paths: Path[] } {
  // Thirty: V8 makes a full collection about every ten minutes here, and the heap is judged by
  // the floors they return to (heap.ts).
  let minutes = 30;
  let paths: Path[] = ['macvtap', 'bridge'];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = argv[i + 1];
    if (arg === '--help' || arg === '-h') {
      process.stdout.write('usage: node dist/bench/soak/main.js [--minutes 30] [--paths macvtap,bridge]\n');
      process.exit(0);
    } else if (arg === '--minutes' && value !== undefined) {
      minutes = Number(value);
      if (!Number.isFinite(minutes) || minutes <= 0 || minutes > 24 * 60) {
        fail(`--minutes wants a number of minutes between 0 and 1440, not '${value.slice(0, 40)}'`, 2);
      }
      i++;
    } else if (arg === '--paths' && value !== undefined) {
      const names = value.split(',');
      for (const n of names) {
        if (n !== 'macvtap' && n !== 'bridge') fail(`unknown path '${n.slice(0, 40)}' (macvtap or bridge)`, 2);
      }
      paths = [...new Set(names as Path[])];
      i++;
    } else {
      fail(`unknown argument '${String(arg).slice(0, 40)}' (--minutes N, --paths macvtap,bridge)`, 2);
    }
  }
  return { minutes, paths };
}

// --- what this run owns: children by pid, labs by id ------------------------------------------

const children = new Set<ChildProcess>();
const labs = new Set<string>();

function start(cmd: string, args: string[], stdout: 'ignore' | 'pipe' = 'ignore'): ChildProcess {
  const child = spawn(cmd, args, { stdio: ['ignore', stdout, 'ignore'] });
  children.add(child);
  child.on('close', () => children.delete(child));
  child.on('error', () => children.delete(child));
  return child;
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('close', () => resolve()));
}

function cleanup(): void {
  for (const child of children) child.kill('SIGKILL');
  for (const id of labs) teardown(id);
  labs.clear();
}

let stopping = false;
for (const signal of STOP_REQUESTS) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`tapyard soak: ${signal}: stopping every process and removing every lab\n`);
    cleanup();
    process.exit(130);
  });
}
process.on('exit', cleanup);

/** The path's lab, built in this process; its id is ours before anything is made. */
async function labUp(path: Path): Promise<Readonly<Record<string, string>>> {
  const id = newLabId();
  labs.add(id);
  process.stderr.write(`tapyard soak: ${path} lab ${id} (namespaces ty-${id}-*)\n`);
  return (await bringUpLab([path], { id })).env;
}

function inNs(ns: string, cmd: string, ...args: string[]): string[] {
  return ['netns', 'exec', ns, cmd, ...args];
}

// --- /proc -------------------------------------------------------------------------------------

function statusKiB(status: string, key: string): number {
  const m = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status);
  return m === null ? 0 : Number(m[1]);
}

function sample(pid: number, seconds: number, forwarded: number, heapKiB: number): Sample | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    return {
      seconds,
      rssKiB: statusKiB(status, 'VmRSS'),
      dataKiB: statusKiB(status, 'VmData'),
      heapKiB,
      fds: readdirSync(`/proc/${pid}/fd`).length,
      forwarded,
    };
  } catch {
    return null; // the forwarder is gone; the caller sees its exit
  }
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);

function thirds(values: number[]): [number[], number[]] {
  const third = Math.max(1, Math.floor(values.length / 3));
  return [values.slice(third, 2 * third), values.slice(-third)];
}

/** RSS and fds: the last third's mean against the middle third's. */
function flat(values: number[]): boolean {
  const [middle, last] = thirds(values);
  return mean(last) <= mean(middle) * (1 + FLAT);
}

// --- traffic -----------------------------------------------------------------------------------

// Each phase mixes one iperf3 test (TCP or UDP, either direction) with a ping flood and, when
// the C generator is built, a burst of broadcasts from the wire side.
const PHASES: string[][] = [[], ['-R'], ['-u', '-b', '200M'], ['-u', '-b', '200M', '-R']];

async function traffic(env: Record<string, string>, until: number): Promise<void> {
  const server = start('ip', inNs(env.NS_GST!, 'iperf3', '-s'));
  await new Promise((r) => setTimeout(r, 500));
  for (let phase = 0; Date.now() < until - 2000 && !stopping; phase++) {
    const seconds = Math.max(1, Math.min(PHASE_S, Math.floor((until - Date.now()) / 1000) - 1));
    const mode = PHASES[phase % PHASES.length]!;
    const runs = [
      start('ip', inNs(env.NS_EXT!, 'iperf3', '-c', env.GUEST_IP!, '-t', String(seconds), ...mode)),
      start('ip', inNs(env.NS_EXT!, 'ping', '-f', '-q', '-w', String(seconds), env.GUEST_IP!)),
    ];
    if (existsSync(TYGEN)) {
      runs.push(
        start('ip', [
          ...inNs(env.NS_EXT!, TYGEN, '--if', env.EXT_IF!, '--dst', 'ff:ff:ff:ff:ff:ff'),
          ...['--rate', '20000', '--seconds', '3'],
        ]),
      );
    }
    await Promise.all(runs.map(exited));
    await new Promise((r) => setTimeout(r, 500)); // the iperf3 server takes the next test
  }
  server.kill('SIGTERM');
  await exited(server);
}

// --- one path ----------------------------------------------------------------------------------

async function soakPath(path: Path, minutes: number): Promise<PathResult> {
  const env = await labUp(path);
  const wire = `wire=${path === 'macvtap' ? 'macvtap' : 'tap'}:${env.WIRE_IF}`;
  const guest = `guest=tap:${env.GUEST_IF},netns=${env.NS_GST}`;
  // `ip netns exec` execs the command: the child's pid is the forwarder's own.
  const fwd = start(
    'ip',
    inNs(env.NS_HV!, process.execPath, CLI, 'forward', '--json', '--stats', '--port', wire, '--port', guest),
    'pipe',
  );
  let forwarded = 0;
  let heapKiB = 0;
  let final: PathResult['final'] = null;
  let partial = '';
  fwd.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    const lines = (partial + chunk).split('\n');
    partial = lines.pop()!;
    for (const line of lines) {
      try {
        const report = JSON.parse(line) as {
          type: string;
          ledger: { tx: number; drops: number };
          balanced: boolean;
          memory: { heapUsedBytes: number };
        };
        forwarded = report.ledger.tx;
        heapKiB = Math.round(report.memory.heapUsedBytes / 1024);
        if (report.type === 'final') final = { forwarded, drops: report.ledger.drops, balanced: report.balanced };
      } catch {
        // not a report line
      }
    }
  });
  await new Promise((r) => setTimeout(r, 1500)); // the ports open
  if (fwd.exitCode !== null) throw new Error(`tapyard forward on the ${path} path exited at start`);

  const began = Date.now();
  const until = began + minutes * 60_000;
  const samples: Sample[] = [];
  const take = () => {
    const s = sample(fwd.pid!, Math.round((Date.now() - began) / 1000), forwarded, heapKiB);
    if (s !== null) samples.push(s);
  };
  take();
  const timer = setInterval(take, SAMPLE_MS);
  await traffic(env, until);
  clearInterval(timer);
  take();

  fwd.kill('SIGINT');
  await exited(fwd);
  teardown(env.LAB_ID!);
  labs.delete(env.LAB_ID!);
  return {
    path,
    samples,
    final,
    rssFlat: flat(samples.map((s) => s.rssKiB)),
    heap: judgeHeap(samples.filter((s) => s.heapKiB > 0).map((s) => s.heapKiB)), // 0: no --stats line yet
    fdsFlat: flat(samples.map((s) => s.fds)),
  };
}

function table(r: PathResult): string {
  const head = `${r.path}:\n     time     RSS MiB   VmData MiB   heap MiB   fds     frames forwarded`;
  const mib = (k: number) => (k / 1024).toFixed(1).padStart(8);
  const rows = r.samples.map(
    (s) =>
      `  ${String(s.seconds).padStart(6)} s ${mib(s.rssKiB)}   ${mib(s.dataKiB)}   ${mib(s.heapKiB)}   ` +
      `${String(s.fds).padStart(5)}   ${String(s.forwarded).padStart(12)}`,
  );
  return [head, ...rows].join('\n');
}

function heapWords(h: HeapJudgement, minutes: number): string {
  const mib = (kib: number) => (kib / 1024).toFixed(1);
  const floors = h.floorsKiB.map(mib).join(' -> ');
  if (h.verdict === 'not-judged')
    return (
      `the JS heap was not judged: V8 made no full collection in ${minutes} min (about one every ten ` +
      'minutes here), and a leak shows only as a floor rising from one collection to the next: run --minutes 30 or more'
    );
  const n = `${h.collections} full collection${h.collections === 1 ? '' : 's'}`;
  return `the JS heap ${h.verdict === 'flat' ? 'stayed flat' : 'grew'} (floors ${floors} MiB over ${n})`;
}

function verdict(r: PathResult, minutes: number): string {
  const mib = (kib: number | undefined) => ((kib ?? 0) / 1024).toFixed(1);
  const first = r.samples[0];
  const last = r.samples.at(-1);
  const rss = r.rssFlat ? 'RSS stayed flat' : 'RSS grew';
  const fds = r.fdsFlat ? 'fds stayed flat' : 'fds grew';
  const ledger =
    r.final === null
      ? 'no final counters'
      : `${r.final.forwarded} frames forwarded, ${r.final.drops} dropped, ` +
        `ledger ${r.final.balanced ? 'balanced' : 'NOT balanced'}`;
  return (
    `${r.path}: ${rss} (${mib(first?.rssKiB)} -> ${mib(last?.rssKiB)} MiB), ${heapWords(r.heap, minutes)} ` +
    `and ${fds} (${first?.fds} -> ${last?.fds}); ${ledger} ` +
    `("flat": RSS and fds by the last third's mean within ${FLAT * 100} % of the middle third's; the heap by ` +
    `the floor each full collection returns to, within ${HEAP_FLAT * 100} % or 1 MiB of the lowest before it).`
  );
}

async function main(): Promise<void> {
  const { minutes, paths } = parseArgs(process.argv.slice(2));
  if (process.getuid?.() !== 0) fail('must run as root (it builds network namespaces)', 1);
  if (!existsSync(CLI)) fail(`${CLI} is missing: build first (npx tsc -p tsconfig.json)`, 1);
  process.stderr.write(`tapyard soak: ${minutes} min on ${paths.join(' and ')}, sampling every 10 s\n`);
  const results = await Promise.all(paths.map((p) => soakPath(p, minutes)));
  for (const r of results) process.stdout.write(`${table(r)}\n\n`);
  for (const r of results) process.stdout.write(`${verdict(r, minutes)}\n`);
  mkdirSync(join(ROOT, 'report'), { recursive: true });
  const file = join(ROOT, 'report', 'soak.json');
  writeFileSync(file, `${JSON.stringify({ minutes, flatWithin: FLAT, results }, null, 2)}\n`);
  process.stdout.write(`written ${file}\n`);
  const grew = results.some((r) => !r.rssFlat || r.heap.verdict === 'grew' || !r.fdsFlat || r.final?.balanced !== true);
  // 1: something grew or the ledger failed; 3: nothing grew, but the run was too short to judge the heap.
  process.exitCode = grew ? 1 : results.some((r) => r.heap.verdict === 'not-judged') ? 3 : 0;
}

main().catch((err: unknown) => {
  process.stderr.write(`tapyard soak: ${err instanceof Error ? err.message : String(err)}\n`);
  cleanup();
  process.exit(1);
});
