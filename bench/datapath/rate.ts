// Packet rate: tygen floods the guest's MAC from the external namespace as fast as the path
// takes it, tysink counts what the guest's stack received. Generator and forwarder are
// pinned to different cores so neither steals the other's. On the macvtap path a slow reader
// shows up as a slower sender (the queued frames stay charged to its socket); on the tap path
// as loss at the tap queue: so both offered and delivered are reported.

import { busyCores, hostSnapshot } from './cpu.js';
import { baselineBin } from './forwarders.js';
import { inNs, type Lab } from './lab.js';
import type { PathDef } from './paths.js';
import { lastJson, run, sleep, start } from './process.js';
import type { RateSample } from './report-schema.js';
import { endpoints, session, warmUp } from './session.js';

export interface RateSetup {
  frameSize: number;
  seconds: number;
  generatorCpu: number;
  forwarderCpu: number;
}

export async function measureRate(path: PathDef, lab: Lab, setup: RateSetup, rep: number): Promise<RateSample> {
  const ep = endpoints(lab);
  const { result, counters } = await session(path, lab, { offload: false, cpu: setup.forwarderCpu }, async (fwd) => {
    await warmUp(ep);
    const sink = start(inNs(ep.nsGst, [baselineBin('tysink'), '--if', ep.guestIf, '--json']), 'tysink');
    try {
      await sink.waitFor(/ready/, 5_000);
      const h0 = hostSnapshot();
      const f0 = fwd?.cpuNs() ?? 0;
      const gen = await run(
        inNs(ep.nsExt, [
          'taskset',
          '-c',
          String(setup.generatorCpu),
          baselineBin('tygen'),
          '--if',
          ep.extIf,
          '--dst',
          ep.guestMac,
          '--size',
          String(setup.frameSize),
          '--seconds',
          String(setup.seconds),
          '--json',
        ]),
        (setup.seconds + 30) * 1000,
        'tygen',
      );
      const h1 = hostSnapshot();
      const f1 = fwd?.cpuNs() ?? 0;
      await sleep(100); // frames still in a queue land before the count is read
      const sinkEnd = await sink.stop('SIGINT');
      const g = lastJson(gen.stdout, 'tygen');
      const offered = Number(g.sent);
      const delivered = Number(lastJson(sinkEnd.stdout, 'tysink').received);
      const seconds = Number(g.seconds);
      const hostBusyNs = busyCores(h0, h1) * (h1.at - h0.at) * 1e9;
      const forwarderCpuNs = fwd ? f1 - f0 : null;
      const perFrame = (ns: number) => (delivered > 0 ? ns / delivered : 0);
      return {
        seconds,
        offered,
        delivered,
        offeredPerSecond: offered / seconds,
        deliveredPerSecond: delivered / seconds,
        loss: offered > 0 ? 1 - delivered / offered : 0,
        generatorErrors: Number(g.send_errors),
        forwarderCpuNs,
        hostBusyNs,
        forwarderNsPerFrame: forwarderCpuNs === null ? null : perFrame(forwarderCpuNs),
        hostNsPerFrame: perFrame(hostBusyNs),
      };
    } finally {
      await sink.stop('SIGINT');
    }
  });
  return { rep, ...result, forwarder: counters };
}
