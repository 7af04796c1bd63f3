// Round-trip latency: typing's UDP ping-pong from the external namespace to an echo server in
// the guest, one request per interval, every round trip counted into a 1 % histogram. Idle, or
// under load: tygen offers 64-byte frames at a fraction of the path's no-drop rate meanwhile,
// so the probes queue behind real traffic as a guest's requests would.

import { baselineBin } from './forwarders.js';
import { inNs, type Lab } from './lab.js';
import type { PathDef } from './paths.js';
import { lastJson, run, start } from './process.js';
import { sizeArgs } from './rate.js';
import type { LatencySample } from './report-schema.js';
import { endpoints, session, warmUp } from './session.js';
import { histogram, percentilesOf } from './stats.js';

export interface LatencySetup {
  count: number;
  intervalUs: number;
  /** Background 64-byte frames per second; 0 for an idle path. */
  loadPerSecond: number;
  generatorCpu: number;
  forwarderCpu: number;
}

export async function measureLatency(
  path: PathDef,
  lab: Lab,
  setup: LatencySetup,
  round: number,
): Promise<LatencySample> {
  const ep = endpoints(lab);
  const pin = setup.loadPerSecond > 0 ? { cpu: setup.forwarderCpu } : {};
  const { result, counters } = await session(path, lab, { offload: false, ...pin }, async () => {
    await warmUp(ep);
    const server = start(inNs(ep.nsGst, [baselineBin('typing'), 'server', '--bind', ep.guestIp]), 'typing server');
    // The load runs a little longer than the probes on both sides, so every probe sees it.
    const probeSeconds = (setup.count * (setup.intervalUs + 100)) / 1e6;
    const load =
      setup.loadPerSecond > 0
        ? start(
            inNs(ep.nsExt, [
              'taskset',
              '-c',
              String(setup.generatorCpu),
              baselineBin('tygen'),
              '--if',
              ep.extIf,
              '--dst',
              ep.guestMac,
              ...sizeArgs('64'),
              '--rate',
              String(Math.round(setup.loadPerSecond)),
              '--seconds',
              String(Math.ceil(probeSeconds * 2 + 2)),
              '--json',
            ]),
            'tygen (load)',
          )
        : null;
    try {
      await server.waitFor(/ready/, 5_000);
      const out = await run(
        inNs(ep.nsExt, [
          baselineBin('typing'),
          'client',
          '--to',
          ep.guestIp,
          '--count',
          String(setup.count),
          '--interval-us',
          String(setup.intervalUs),
          '--json',
        ]),
        60_000 + probeSeconds * 4000,
        'typing client',
      );
      const j = lastJson(out.stdout, 'typing');
      const h = histogram((j.rtt_ns as number[]).map(Number));
      return {
        intervalUs: setup.intervalUs,
        loadPerSecond: setup.loadPerSecond,
        sentProbes: Number(j.sent),
        lostProbes: Number(j.lost),
        percentiles: percentilesOf(h),
        histogram: h,
      };
    } finally {
      await load?.stop('SIGINT');
      await server.stop('SIGTERM', 3000);
    }
  });
  return { round, ...result, forwarder: counters };
}
