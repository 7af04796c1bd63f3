// Packet rate, measured as RFC 2544 does: tygen offers frames to the guest's MAC from the
// external namespace, tysink counts what the guest's stack received. First a trial at full
// offered load (as fast as the socket takes frames: the delivered rate and the CPU per frame),
// then a binary search for the no-drop rate (NDR), the highest offered rate whose loss is at
// most 0.1 %, bounded in trials and time. Generator and forwarder are pinned to different
// cores. On the macvtap path a slow reader slows the sender (queued frames stay charged to its
// socket) instead of dropping: a trial the generator could not send at its rate fails too, so
// the NDR is a rate the path sustained, and the shortfall is reported. On the bridge path a slow
// reader cannot slow the sender (the tap's queue drops instead), so there a trial that lost
// nothing passes at the rate it did send: a shortfall there is the generator's own core (seen:
// 5-20 % short at 50 k frames/s with nothing lost, on both forwarders in the same minutes, which
// had sent the NDR search down to 26 k frames/s).

import { busyCores, hostSnapshot } from './cpu.js';
import { baselineBin } from './forwarders.js';
import { inNs, type Lab } from './lab.js';
import type { PathDef } from './paths.js';
import { lastJson, run, sleep, start } from './process.js';
import type { FrameSize, NdrSample, RateSample, Trial } from './report-schema.js';
import { type Endpoints, endpoints, session, warmUp } from './session.js';

export interface RateSetup {
  frameSize: FrameSize;
  fullLoadSeconds: number;
  trialSeconds: number;
  maxTrials: number;
  resolutionFraction: number;
  lossLimitFraction: number;
  timeBoundSeconds: number;
  generatorCpu: number;
  forwarderCpu: number;
}

/** tygen's arguments for a frame size on the wire (it writes frames without the 4-byte FCS). */
export const sizeArgs = (size: FrameSize): string[] =>
  size === 'imix' ? ['--imix'] : ['--size', String(Number(size) - 4)];

/** The offered rate of the fixed-rate trial: below every path's no-drop rate seen here. */
export const FIXED_RATE_PER_SECOND = 100_000;

/** A generator may fall this far short of its rate for reasons of its own (timer slack). */
const SEND_TOLERANCE = 0.01;

/** tygen at `perSecond` (0: flat out) for `seconds`, counted by a fresh tysink in the guest. */
export async function trial(
  ep: Endpoints,
  size: FrameSize,
  perSecond: number,
  seconds: number,
  generatorCpu: number,
  lossLimit: number,
  shortfallIsThePath = true,
): Promise<Trial & { sendErrors: number }> {
  const sink = start(inNs(ep.nsGst, [baselineBin('tysink'), '--if', ep.guestIf, '--json']), 'tysink');
  try {
    await sink.waitFor(/ready/, 5_000);
    const pace = perSecond > 0 ? ['--rate', String(Math.round(perSecond)), '--burst', '32'] : [];
    const gen = await run(
      inNs(ep.nsExt, [
        'taskset',
        '-c',
        String(generatorCpu),
        baselineBin('tygen'),
        '--if',
        ep.extIf,
        '--dst',
        ep.guestMac,
        ...sizeArgs(size),
        ...pace,
        '--seconds',
        String(seconds),
        '--json',
      ]),
      (seconds + 30) * 1000,
      'tygen',
    );
    await sleep(100); // frames still in a queue land before the count is read
    const g = lastJson(gen.stdout, 'tygen');
    const sent = Number(g.sent);
    const delivered = Number(lastJson((await sink.stop('SIGINT')).stdout, 'tysink').received);
    const durationS = Number(g.seconds);
    const lossFraction = sent > 0 ? 1 - delivered / sent : 0;
    const shortfall = perSecond > 0 ? Math.max(0, 1 - sent / (perSecond * durationS)) : 0;
    return {
      offeredPerSecond: perSecond,
      sentPerSecond: sent / durationS,
      deliveredPerSecond: delivered / durationS,
      sentFrames: sent,
      deliveredFrames: delivered,
      durationS,
      lossFraction,
      sendShortfallFraction: shortfall,
      passed: delivered > 0 && lossFraction <= lossLimit && (shortfall <= SEND_TOLERANCE || !shortfallIsThePath),
      sendErrors: Number(g.send_errors),
    };
  } finally {
    await sink.stop('SIGINT');
  }
}

const strip = ({ sendErrors: _, ...t }: Trial & { sendErrors: number }): Trial => t;

/** Full load, then the NDR search, all through one forwarder so its counters cover both. */
export async function measureRate(
  path: PathDef,
  lab: Lab,
  setup: RateSetup,
  rep: number,
): Promise<{ rate: RateSample; ndr: NdrSample }> {
  const ep = endpoints(lab);
  const limit = setup.lossLimitFraction;
  const tapWire = path.lab === 'bridge' && path.forwarder !== null;
  const { result, counters } = await session(path, lab, { offload: false, cpu: setup.forwarderCpu }, async (fwd) => {
    await warmUp(ep);
    const h0 = hostSnapshot();
    const f0 = fwd?.cpuNs() ?? 0;
    const full = await trial(ep, setup.frameSize, 0, setup.fullLoadSeconds, setup.generatorCpu, limit);
    const h1 = hostSnapshot();
    const f1 = fwd?.cpuNs() ?? 0;
    const hostBusyNs = busyCores(h0, h1) * (h1.at - h0.at) * 1e9;
    const forwarderCpuNs = fwd ? f1 - f0 : null;
    const perFrame = (ns: number) => (full.deliveredFrames > 0 ? ns / full.deliveredFrames : 0);

    // The bracket: what full load sent bounds the rate from above; nothing is known to pass yet.
    const trials: Trial[] = [strip(full)];
    let pass = full.passed ? full.sentPerSecond : 0;
    let fail = full.passed ? null : full.sentPerSecond;
    const deadline = Date.now() + setup.timeBoundSeconds * 1000;
    while (fail !== null && trials.length < setup.maxTrials && Date.now() < deadline) {
      if (fail - pass <= setup.resolutionFraction * fail) break;
      // The first guess is what full load delivered: often just below the no-drop rate.
      const next = pass === 0 && trials.length === 1 ? full.deliveredPerSecond * 0.98 : (pass + fail) / 2;
      const t = await trial(ep, setup.frameSize, next, setup.trialSeconds, setup.generatorCpu, limit, !tapWire);
      trials.push(strip(t));
      // What a trial proved is the rate it sent, when that fell short of the offer; a trial that
      // sent less than one already proved proves nothing new.
      if (t.passed) pass = Math.max(pass, Math.min(next, t.sentPerSecond));
      else fail = next;
    }
    // Only a forwarder's CPU is compared so; the kernel-only paths have none.
    let fixedRate: RateSample['fixedRate'] = null;
    if (fwd) {
      const c0 = fwd.cpuNs();
      const t = await trial(ep, setup.frameSize, FIXED_RATE_PER_SECOND, setup.trialSeconds, setup.generatorCpu, limit);
      const cpuNs = fwd.cpuNs() - c0;
      fixedRate = { trial: strip(t), forwarderNsPerFrame: t.deliveredFrames > 0 ? cpuNs / t.deliveredFrames : null };
    }
    return {
      rate: {
        trial: strip(full),
        generatorSendErrors: full.sendErrors,
        forwarderCpuNs,
        hostBusyNs,
        forwarderNsPerFrame: forwarderCpuNs === null ? null : perFrame(forwarderCpuNs),
        hostNsPerFrame: perFrame(hostBusyNs),
        fixedRate,
      },
      ndr: { ndrPerSecond: pass, resolutionFraction: fail === null ? 0 : (fail - pass) / fail, trials },
    };
  });
  return {
    rate: { rep, ...result.rate, forwarder: counters },
    ndr: { rep, ...result.ndr, forwarder: counters },
  };
}
