// Round-trip latency: typing's UDP ping-pong from the external namespace to an echo server in
// the guest, one request per interval, every round trip kept.

import { baselineBin } from './forwarders.js';
import { inNs, type Lab } from './lab.js';
import type { PathDef } from './paths.js';
import { lastJson, run, start } from './process.js';
import type { LatencySample } from './report-schema.js';
import { endpoints, session, warmUp } from './session.js';
import { percentile } from './stats.js';

export async function measureLatency(
  path: PathDef,
  lab: Lab,
  count: number,
  intervalUs: number,
  rep: number,
): Promise<LatencySample> {
  const ep = endpoints(lab);
  const { result, counters } = await session(path, lab, { offload: false }, async () => {
    await warmUp(ep);
    const server = start(inNs(ep.nsGst, [baselineBin('typing'), 'server', '--bind', ep.guestIp]), 'typing server');
    try {
      await server.waitFor(/ready/, 5_000);
      const out = await run(
        inNs(ep.nsExt, [
          baselineBin('typing'),
          'client',
          '--to',
          ep.guestIp,
          '--count',
          String(count),
          '--interval-us',
          String(intervalUs),
          '--json',
        ]),
        60_000 + (count * (intervalUs + 1000)) / 1000,
        'typing client',
      );
      const j = lastJson(out.stdout, 'typing');
      const rttNs = (j.rtt_ns as number[]).map(Number);
      return {
        intervalUs,
        sent: Number(j.sent),
        lost: Number(j.lost),
        p50: percentile(rttNs, 50),
        p90: percentile(rttNs, 90),
        p99: percentile(rttNs, 99),
        rttNs,
      };
    } finally {
      await server.stop('SIGTERM', 3000);
    }
  });
  return { rep, ...result, forwarder: counters };
}
