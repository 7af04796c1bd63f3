// Round-trip latency: typing's UDP ping-pong from the external namespace to an echo server in
// the guest, one request per interval, every round trip counted into a 1 % histogram. Idle, or
// under load: tygen offers 64-byte frames at a fraction of the lab's load basis meanwhile, so the
// probes queue behind real traffic as a guest's requests would.
//
// The forwarder paths are measured side by side: each forwarder on a lab of its own (a twin of
// each kind of lab), all running at once, so a round's figures share the same seconds of this
// shared machine. Measured one after the other, seconds apart, a round's p99 moved between rounds
// 4-10x more than its own probes' sampling error (2026-12-07, full run: log spread 0.13-0.38
// between rounds against 0.03-0.08 within one), so the per-round ratios were mostly the
// neighbours' noise. Idle, one typing client probes the paths in turn, one round trip each (A B
// C D, D C B A, ...): a hiccup of a few ms lands on all of them alike. Loaded, only the lab being
// probed carries the load, so the paths take turns in short sub-blocks (100 ms).
//
// Idle, the client, the echo servers and the forwarders share one core. Left to the scheduler,
// where each process landed in a round decided its round trips more than the path did: a wake-up
// on the other vCPU is an inter-processor interrupt, tens of µs in a VM. Probed in turn but
// unpinned, the per-round tapyard/C ratios of macvtap's idle p50 spread 0.85-1.30 (2026-12-07, 10
// rounds); on one core, 1.27-1.37. Loaded, the forwarder has its core and the generator the other.

import { TapyardError } from '../../src/error.js';
import { baselineBin } from './forwarders.js';
import { inNs, type Lab } from './lab.js';
import type { PathDef } from './paths.js';
import { lastJson, type Proc, run, sleep, start } from './process.js';
import { tygenCommand } from './rate.js';
import type { ForwarderCounters, LatencySample } from './report-schema.js';
import { type Endpoints, endpoints, session, warmUp } from './session.js';
import { histogram, percentilesOf } from './stats.js';

export interface LatencySetup {
  count: number;
  intervalUs: number;
  /** Loaded, the sub-blocks the probes of a path measured side by side are split into (measureLatencyGroup). */
  subBlocks: number;
  /** Background 64-byte frames per second; 0 for an idle path. */
  loadPerSecond: number;
  generatorCpu: number;
  forwarderCpu: number;
}

/** One path's round trips: of a sub-block, or of all its turns when probed in turn. */
interface Probes {
  sent: number;
  lost: number;
  rttNs: number[];
}

/** Idle, the core everything runs on; loaded, none for the probes (the forwarder and the load are pinned). */
const probeCore = (setup: LatencySetup): number | null => (setup.loadPerSecond === 0 ? setup.forwarderCpu : null);

/** argv pinned to `core` (taskset execs it), or as it is. */
const onCore = (core: number | null, argv: string[]): string[] =>
  core === null ? argv : ['taskset', '-c', String(core), ...argv];

/** Time for the load to fill the forwarder's queues before the probes start. */
const LOAD_SETTLE_MS = 50;

const probeSeconds = (setup: LatencySetup, count: number) => (count * (setup.intervalUs + 100)) / 1e6;

/** `count` round trips from ext to the guest's echo server, under load when the setup asks for it. */
async function probe(ep: Endpoints, setup: LatencySetup, count: number): Promise<Probes> {
  const seconds = probeSeconds(setup, count);
  // The load runs a little longer than the probes on both sides, so every probe sees it.
  const load =
    setup.loadPerSecond > 0
      ? start(
          tygenCommand(ep, {
            dst: ep.guestMac,
            size: '64',
            perSecond: setup.loadPerSecond,
            seconds: Math.ceil(seconds * 2 + 2),
            cpu: setup.generatorCpu,
          }),
          'tygen (load)',
        )
      : null;
  try {
    if (load) await sleep(LOAD_SETTLE_MS);
    const out = await run(
      inNs(
        ep.nsExt,
        onCore(probeCore(setup), [
          baselineBin('typing'),
          'client',
          '--to',
          ep.guestIp,
          '--count',
          String(count),
          '--interval-us',
          String(setup.intervalUs),
          '--json',
        ]),
      ),
      60_000 + seconds * 4000,
      'typing client',
    );
    const j = lastJson(out.stdout, 'typing');
    return { sent: Number(j.sent), lost: Number(j.lost), rttNs: (j.rtt_ns as number[]).map(Number) };
  } finally {
    await load?.stop('SIGINT');
  }
}

/**
 * Idle paths probed in turn by one client, `count` round trips each: a socket per path, each made
 * in its lab's ext namespace.
 */
async function probeInTurn(eps: readonly Endpoints[], setup: LatencySetup): Promise<Probes[]> {
  const seconds = probeSeconds(setup, setup.count * eps.length);
  const out = await run(
    onCore(probeCore(setup), [
      baselineBin('typing'),
      'client',
      ...eps.flatMap((ep) => ['--to', `${ep.guestIp}@${ep.nsExt}`]),
      '--count',
      String(setup.count),
      '--interval-us',
      String(setup.intervalUs),
      '--json',
    ]),
    60_000 + seconds * 4000,
    'typing client',
  );
  const targets = lastJson(out.stdout, 'typing').targets as { sent: number; lost: number; rtt_ns: number[] }[];
  return eps.map((_, i) => {
    const t = targets[i];
    if (t === undefined)
      throw new TapyardError('BENCH_TOOL', `typing measured ${targets.length} of ${eps.length} paths`);
    return { sent: Number(t.sent), lost: Number(t.lost), rttNs: t.rtt_ns.map(Number) };
  });
}

const echoServer = (ep: Endpoints, core: number | null): Proc =>
  start(inNs(ep.nsGst, onCore(core, [baselineBin('typing'), 'server', '--bind', ep.guestIp])), 'typing server');

function sampleOf(
  round: number,
  setup: LatencySetup,
  blocks: readonly Probes[],
  forwarder: ForwarderCounters | null,
  inTurn = false,
): LatencySample {
  const h = histogram(blocks.flatMap((b) => b.rttNs));
  const sent = blocks.reduce((n, b) => n + b.sent, 0);
  return {
    round,
    intervalUs: setup.intervalUs,
    loadPerSecond: setup.loadPerSecond,
    subBlocks: inTurn ? sent : blocks.length, // in turn, every round trip is a turn of its own
    sentProbes: sent,
    lostProbes: blocks.reduce((n, b) => n + b.lost, 0),
    percentiles: percentilesOf(h),
    histogram: h,
    forwarder,
  };
}

/** One path alone (the kernel-only references): its probes in one block. */
export async function measureLatency(
  path: PathDef,
  lab: Lab,
  setup: LatencySetup,
  round: number,
): Promise<LatencySample> {
  const ep = endpoints(lab);
  const pin = { cpu: setup.forwarderCpu };
  const { result, counters } = await session(path, lab, { offload: false, ...pin }, async () => {
    await warmUp(ep);
    const server = echoServer(ep, probeCore(setup));
    try {
      await server.waitFor(/ready/, 5_000);
      return [await probe(ep, setup, setup.count)];
    } finally {
      await server.stop('SIGTERM', 3000);
    }
  });
  return sampleOf(round, setup, result, counters);
}

/** A path, the lab it is measured on in this round, and the load its lab is probed under. */
export interface OnLab {
  path: PathDef;
  lab: Lab;
  /** Its lab's basis times the block's load fraction (0 idle): each kind of lab has its own. */
  loadPerSecond: number;
}

/** Runs `body` with a forwarder per path running side by side, and returns each one's final counters. */
async function sideBySide<T>(
  members: readonly OnLab[],
  pin: { cpu?: number },
  body: () => Promise<T>,
): Promise<{ result: T; counters: (ForwarderCounters | null)[] }> {
  const [first, ...rest] = members;
  if (first === undefined) return { result: await body(), counters: [] };
  const outer = await session(first.path, first.lab, { offload: false, ...pin }, () => sideBySide(rest, pin, body));
  return { result: outer.result.result, counters: [outer.counters, ...outer.result.counters] };
}

/**
 * Several paths, each on a lab of its own, their forwarders running side by side (an idle one
 * sleeps in poll and costs the others nothing). Idle, one client probes them in turn, a round
 * trip each; loaded, sub-blocks visit them in turn. Either way the order is reversed every other
 * time (A B C D, D C B A, ...). Loaded, only the lab being probed carries the load, so each
 * forwarder sees the same load as when measured alone. Returns a sample per path, in the order
 * given.
 */
export async function measureLatencyGroup(
  members: readonly OnLab[],
  common: Omit<LatencySetup, 'loadPerSecond'>,
  round: number,
): Promise<LatencySample[]> {
  const eps = members.map((m) => endpoints(m.lab));
  const setups = members.map((m) => ({ ...common, loadPerSecond: m.loadPerSecond }));
  const setup = { ...common, loadPerSecond: Math.max(0, ...members.map((m) => m.loadPerSecond)) };
  const pin = { cpu: setup.forwarderCpu };
  const per = Math.ceil(setup.count / setup.subBlocks);
  const blocks: Probes[][] = members.map(() => []);
  const order = members.map((_, i) => i);
  const inTurn = setup.loadPerSecond === 0;
  const { counters } = await sideBySide(members, pin, async () => {
    await Promise.all(eps.map(warmUp));
    const servers = eps.map((ep) => echoServer(ep, probeCore(setup)));
    try {
      await Promise.all(servers.map((s) => s.waitFor(/ready/, 5_000)));
      if (inTurn) for (const [i, p] of (await probeInTurn(eps, setup)).entries()) blocks[i]?.push(p);
      else
        for (let b = 0; b < setup.subBlocks; b++)
          for (const i of b % 2 === 0 ? order : [...order].reverse())
            blocks[i]?.push(await probe(eps[i] as Endpoints, setups[i] as LatencySetup, per));
    } finally {
      await Promise.all(servers.map((s) => s.stop('SIGTERM', 3000)));
    }
  });
  return members.map((_, i) =>
    sampleOf(round, setups[i] as LatencySetup, blocks[i] ?? [], counters[i] ?? null, inTurn),
  );
}
