// Packet rate, measured as RFC 2544 does: tygen offers frames to the guest's MAC from the
// external namespace, tysink counts what the guest's stack received (one sink per session, read
// per trial with SIGUSR1). Per session: three short trials at full offered load (as fast as the
// socket takes frames: the delivered rate, by the median trial, and the CPU per frame), the search for the no-drop and
// partial-drop rates (search.ts: best of three short trials per load), and a trial at a fixed
// rate below every path's no-drop rate for the CPU per frame. Generator and forwarder are pinned
// to different cores. On the macvtap path a slow reader slows the sender (queued frames stay
// charged to its socket) instead of dropping: a trial the generator could not send at its rate
// fails there, so the rate is one the path sustained. On the bridge path a slow reader cannot
// slow the sender (the tap's queue drops instead), so there a trial that lost nothing passes at
// the rate it did send: a shortfall there is the generator's own core (seen: 5-20 % short at
// 50 k frames/s with nothing lost, on both forwarders in the same minutes).

import { TapyardError } from '../../src/error.js';
import { busyCores, hostSnapshot } from './cpu.js';
import { baselineBin } from './forwarders.js';
import { inNs, type Lab } from './lab.js';
import type { PathDef } from './paths.js';
import { lastJson, type Proc, run, sleep, start, tail } from './process.js';
import type { FrameSize, NdrSample, RateSample, Trial } from './report-schema.js';
import { type SearchGoals, searchRates } from './search.js';
import { type Endpoints, endpoints, session, warmUp } from './session.js';

export interface RateSetup extends SearchGoals {
  frameSize: FrameSize;
  fullLoadSeconds: number;
  trialSeconds: number;
  /** The fixed-rate trial's length: the forwarder's CPU per frame is measured over it. */
  fixedRateSeconds: number;
  maxTrials: number;
  resolutionFraction: number;
  timeBoundSeconds: number;
  generatorCpu: number;
  forwarderCpu: number;
  /** Where earlier rounds found this path's rates: the search starts there. */
  prior: { ndr: number; pdr: number } | null;
}

/** tygen's arguments for a frame size on the wire (it writes frames without the 4-byte FCS). */
export const sizeArgs = (size: FrameSize): string[] =>
  size === 'imix' ? ['--imix'] : ['--size', String(Number(size) - 4)];

/** What tygen offers from a lab's ext side: rate, latency's load and the seed experiment share it. */
export interface TygenLoad {
  /** The destination MAC: the guest's, or one nobody owns. */
  dst: string;
  size: FrameSize;
  /** Frames per second, paced in bursts of 32; 0: flat out. */
  perSecond: number;
  seconds: number;
  /** The core it is pinned to. */
  cpu: number;
}

/** tygen's command line, in the lab's ext namespace, printing its counts as JSON. */
export function tygenCommand(ep: Endpoints, load: TygenLoad): string[] {
  const pace = load.perSecond > 0 ? ['--rate', String(Math.round(load.perSecond)), '--burst', '32'] : [];
  return inNs(ep.nsExt, [
    ...['taskset', '-c', String(load.cpu), baselineBin('tygen')],
    ...['--if', ep.extIf, '--dst', load.dst, ...sizeArgs(load.size), ...pace],
    ...['--seconds', String(load.seconds), '--json'],
  ]);
}

/** The offered rate of the fixed-rate trial: below every path's no-drop rate seen here. */
export const FIXED_RATE_PER_SECOND = 100_000;

/** Full-load trials per round: the median one stands for the round. */
const FULL_LOAD_TRIALS = 3;

/** Frames still in a queue land within this long after the generator stops. */
const SETTLE_MS = 50;

/** tysink in the guest for a whole session: `count()` is what arrived since the last call. */
class Sink {
  private readonly proc: Proc;
  private lines = 0;

  constructor(ep: Endpoints) {
    this.proc = start(inNs(ep.nsGst, [baselineBin('tysink'), '--if', ep.guestIf, '--json']), 'tysink');
  }

  ready = (): Promise<void> => this.proc.waitFor(/ready/, 5_000);

  async count(): Promise<number> {
    const want = ++this.lines;
    this.proc.child.kill('SIGUSR1');
    const deadline = Date.now() + 5_000;
    let lines = this.proc.stdout.split('\n');
    while (lines.length <= want) {
      if (!this.proc.running || Date.now() > deadline)
        throw new TapyardError('BENCH_TOOL', `tysink did not report its count: ${tail(this.proc.stderr)}`);
      await sleep(2);
      lines = this.proc.stdout.split('\n');
    }
    return Number(lastJson(lines[want - 1] as string, 'tysink').received);
  }

  stop = () => this.proc.stop('SIGINT');
}

/** tygen at `perSecond` (0: flat out) for `seconds`; the sink counts what arrived. */
async function trial(
  ep: Endpoints,
  sink: Sink,
  size: FrameSize,
  perSecond: number,
  seconds: number,
  generatorCpu: number,
): Promise<Trial & { sendErrors: number }> {
  await sink.count(); // whatever arrived before this trial is not its own
  const gen = await run(
    tygenCommand(ep, { dst: ep.guestMac, size, perSecond, seconds, cpu: generatorCpu }),
    (seconds + 30) * 1000,
    'tygen',
  );
  await sleep(SETTLE_MS);
  const g = lastJson(gen.stdout, 'tygen');
  const sent = Number(g.sent);
  // A frame of an earlier trial still in flight could make delivered exceed sent: it is not lost.
  const delivered = Math.min(sent, await sink.count());
  const durationS = Number(g.seconds);
  return {
    offeredPerSecond: perSecond,
    sentPerSecond: sent / durationS,
    deliveredPerSecond: delivered / durationS,
    sentFrames: sent,
    deliveredFrames: delivered,
    durationS,
    lossFraction: sent > 0 ? 1 - delivered / sent : 0,
    sendShortfallFraction: perSecond > 0 ? Math.max(0, 1 - sent / (perSecond * durationS)) : 0,
    sendErrors: Number(g.send_errors),
  };
}

const strip = ({ sendErrors: _, ...t }: Trial & { sendErrors: number }): Trial => t;

/** Full load, the search, the fixed-rate trial, all through one forwarder so its counters cover them. */
export async function measureRate(
  path: PathDef,
  lab: Lab,
  setup: RateSetup,
  round: number,
): Promise<{ rate: RateSample; ndr: NdrSample }> {
  const ep = endpoints(lab);
  const tapWire = path.lab === 'bridge' && path.forwarder !== null;
  const { result, counters } = await session(path, lab, { offload: false, cpu: setup.forwarderCpu }, async (fwd) => {
    await warmUp(ep);
    const sink = new Sink(ep);
    try {
      await sink.ready();
      const run = (perSecond: number, seconds: number) =>
        trial(ep, sink, setup.frameSize, perSecond, seconds, setup.generatorCpu);
      // Full load three times, the middle one by delivered rate standing for the round: one trial
      // starved by a neighbour (on macvtap it alone decides the no-drop rate) does not.
      const h0 = hostSnapshot();
      const f0 = fwd?.cpuNs() ?? 0;
      const fulls: (Trial & { sendErrors: number })[] = [];
      for (let i = 0; i < FULL_LOAD_TRIALS; i++) fulls.push(await run(0, setup.fullLoadSeconds));
      const h1 = hostSnapshot();
      const f1 = fwd?.cpuNs() ?? 0;
      const byDelivered = [...fulls].sort((a, b) => a.deliveredPerSecond - b.deliveredPerSecond);
      const full = byDelivered[FULL_LOAD_TRIALS >> 1] as Trial & { sendErrors: number };
      const hostBusyNs = busyCores(h0, h1) * (h1.at - h0.at) * 1e9;
      const forwarderCpuNs = fwd ? f1 - f0 : null;
      // CPU per frame over all three: the forwarder's CPU is not split per trial.
      const fullFrames = fulls.reduce((a, t) => a + t.deliveredFrames, 0);
      const perFrame = (ns: number) => (fullFrames > 0 ? ns / fullFrames : 0);
      const found = await searchRates(
        async (perSecond) => strip(await run(perSecond, setup.trialSeconds)),
        strip(full),
        { ...setup, deadline: Date.now() + setup.timeBoundSeconds * 1000, shortfallFails: !tapWire },
        setup.prior,
      );
      // Only a forwarder's CPU is compared so; the kernel-only paths have none.
      let fixedRate: RateSample['fixedRate'] = null;
      if (fwd) {
        const c0 = fwd.cpuNs();
        const t = await run(FIXED_RATE_PER_SECOND, setup.fixedRateSeconds);
        const cpuNs = fwd.cpuNs() - c0;
        fixedRate = { trial: strip(t), forwarderNsPerFrame: t.deliveredFrames > 0 ? cpuNs / t.deliveredFrames : null };
      }
      return {
        rate: {
          trial: strip(full),
          fullLoadTrials: fulls.map(strip),
          generatorSendErrors: fulls.reduce((a, t) => a + t.sendErrors, 0),
          forwarderCpuNs,
          hostBusyNs,
          forwarderNsPerFrame: forwarderCpuNs === null ? null : perFrame(forwarderCpuNs),
          hostNsPerFrame: perFrame(hostBusyNs),
          fixedRate,
        },
        ndr: {
          ndrPerSecond: found.ndrPerSecond,
          pdrPerSecond: found.pdrPerSecond,
          ndrResolutionFraction: found.ndrResolutionFraction,
          pdrResolutionFraction: found.pdrResolutionFraction,
          ndrAtFullLoad: found.ndrAtFullLoad,
          trialCount: found.trialCount,
          loads: found.loads,
        },
      };
    } finally {
      await sink.stop();
    }
  });
  return {
    rate: { round, ...result.rate, forwarder: counters },
    ndr: { round, ...result.ndr, forwarder: counters },
  };
}
