// TCP throughput: one iperf3 stream between the external namespace and the guest, either
// direction, with the forwarder's offloads off (plain MTU frames through the loop) or on
// (GSO super-frames and partial checksums passed through in the virtio_net_hdr).

import { TapyardError } from '../../src/error.js';
import { busyCores, hostSnapshot } from './cpu.js';
import { inNs, type Lab } from './lab.js';
import type { PathDef } from './paths.js';
import { run, start, tail } from './process.js';
import type { Direction, TcpSample } from './report-schema.js';
import { endpoints, session, warmUp } from './session.js';

interface IperfResult {
  error?: string;
  end?: { sum_received?: { bits_per_second: number; seconds: number }; sum_sent?: { retransmits?: number } };
}

export async function measureTcp(
  path: PathDef,
  lab: Lab,
  offload: boolean,
  direction: Direction,
  seconds: number,
  round: number,
): Promise<TcpSample> {
  const ep = endpoints(lab);
  const { result, counters } = await session(path, lab, { offload }, async (fwd) => {
    await warmUp(ep);
    const server = start(inNs(ep.nsGst, ['iperf3', '-s', '-1', '-B', ep.guestIp, '--forceflush']), 'iperf3 server');
    try {
      await server.waitFor(/Server listening/, 10_000);
      const h0 = hostSnapshot();
      const f0 = fwd?.cpuNs() ?? 0;
      // iperf3 -J explains its failures inside the JSON on stdout, so its exit code is read after.
      const client = await run(
        inNs(ep.nsExt, [
          'iperf3',
          '-c',
          ep.guestIp,
          '-t',
          String(seconds),
          '-J',
          ...(direction === 'guest-to-ext' ? ['-R'] : []),
        ]),
        (seconds + 30) * 1000,
        'iperf3 client',
        false,
      );
      const h1 = hostSnapshot();
      const f1 = fwd?.cpuNs() ?? 0;
      let j: IperfResult;
      try {
        j = JSON.parse(client.stdout) as IperfResult;
      } catch {
        throw new TapyardError(
          'BENCH_TOOL',
          `iperf3 client exited with ${client.code ?? client.signal}: ${tail(client.stderr || client.stdout)}`,
        );
      }
      if (j.error || !j.end?.sum_received || client.code !== 0)
        throw new TapyardError(
          'BENCH_TOOL',
          `iperf3: ${j.error ?? `no result (exit ${client.code ?? client.signal})`}`,
        );
      return {
        durationS: j.end.sum_received.seconds,
        bitsPerSecond: j.end.sum_received.bits_per_second,
        retransmitSegments: j.end.sum_sent?.retransmits ?? 0,
        hostBusyCores: busyCores(h0, h1),
        forwarderCores: fwd ? (f1 - f0) / 1e9 / (h1.at - h0.at) : null,
      };
    } finally {
      await server.stop('SIGTERM', 3000);
    }
  });
  return { round, ...result, forwarder: counters };
}
