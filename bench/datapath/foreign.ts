// The seed experiment: other machines' traffic on the segment costs a bridged host CPU, and
// macvtap makes that go away. The external namespace floods frames to a MAC that nobody owns
// at a fixed rate while the guest is idle; we measure the host's extra busy time and how many
// of those frames the forwarder had to read.
//
// Mechanism (docs/kernel-notes.md §4-§5): a bridge port is promiscuous and the bridge floods
// unknown unicast to every port, the tap included, so the forwarder and the guest handle each
// foreign frame; a macvlan looks the destination up in its hash, misses, and hands the frame
// to the lower's stack, which drops it as OTHERHOST. `flood off` on the tap's bridge port
// stops the bridge copying unknown unicast to it: the mitigation.

import { TapyardError } from '../../src/error.js';
import { busyCores, hostSnapshot } from './cpu.js';
import { bridgePorts, inNs, type Lab, linkStats, need } from './lab.js';
import type { PathDef } from './paths.js';
import { lastJson, run, sleep } from './process.js';
import { tygenCommand } from './rate.js';
import type { ForeignSample } from './report-schema.js';
import { endpoints, session } from './session.js';

export interface ForeignSetup {
  rate: number;
  seconds: number;
  floodOff: boolean;
  /** A locally administered MAC that no interface in any lab has. */
  foreignMac: string;
  generatorCpu: number;
  forwarderCpu: number;
}

export const FOREIGN_MECHANISM = [
  'A Linux bridge makes its ports promiscuous and floods frames for unknown MACs to every port, so each foreign',
  'frame is copied to the tap and read by the forwarder (and then by the guest). A macvlan/macvtap looks the',
  'destination MAC up in its own table, finds no owner, and leaves the frame to the lower device, whose stack',
  'drops it as addressed to another host — the forwarder never sees it.',
].join(' ');

/** The bridge port that leads toward the guest: the wire tap, or the veth into the guest. */
async function guestSidePort(lab: Lab): Promise<string> {
  if (lab.kind === 'bridge') return need(lab, 'WIRE_IF');
  const ports = await bridgePorts(need(lab, 'NS_HV'), need(lab, 'BRIDGE'));
  const port = ports.find((p) => p !== need(lab, 'LOWER_IF'));
  if (!port) throw new TapyardError('BENCH_SETUP', `no guest-side port on ${need(lab, 'BRIDGE')}`);
  return port;
}

async function setFlood(lab: Lab, port: string, on: boolean): Promise<void> {
  await run(inNs(need(lab, 'NS_HV'), ['bridge', 'link', 'set', 'dev', port, 'flood', on ? 'on' : 'off']), 10_000);
}

export async function measureForeign(
  path: PathDef,
  lab: Lab,
  setup: ForeignSetup,
  round: number,
): Promise<ForeignSample> {
  const ep = endpoints(lab);
  const floodPort = setup.floodOff ? await guestSidePort(lab) : null;
  if (floodPort) await setFlood(lab, floodPort, false);
  try {
    const { result, counters } = await session(path, lab, { offload: false, cpu: setup.forwarderCpu }, async (fwd) => {
      // No ping: the guest stays idle, and the forwarder's counters start at zero traffic.
      await sleep(200);
      const g0 = await linkStats(ep.nsGst, ep.guestIf);
      const i0 = hostSnapshot();
      await sleep(setup.seconds * 1000);
      const i1 = hostSnapshot();
      const f0 = fwd?.cpuNs() ?? 0;
      const gen = await run(
        tygenCommand(ep, {
          dst: setup.foreignMac,
          size: '64',
          perSecond: setup.rate,
          seconds: setup.seconds,
          cpu: setup.generatorCpu,
        }),
        (setup.seconds + 30) * 1000,
        'tygen',
      );
      const h1 = hostSnapshot();
      const f1 = fwd?.cpuNs() ?? 0;
      await sleep(100);
      const g1 = await linkStats(ep.nsGst, ep.guestIf);
      const g = lastJson(gen.stdout, 'tygen');
      const seconds = Number(g.seconds);
      const idle = busyCores(i0, i1);
      const generatorCores = Number(g.cpu_ns) / 1e9 / seconds;
      const forwarderCores = fwd ? (f1 - f0) / 1e9 / (h1.at - i1.at) : null;
      return {
        durationS: seconds,
        offeredFrames: Number(g.sent),
        labCores: generatorCores + (forwarderCores ?? 0),
        hostIdleCores: idle,
        hostExtraCores: busyCores(i1, h1) - idle,
        generatorCores,
        forwarderCores,
        guestIfRxFrames: g1.rxPackets - g0.rxPackets,
      };
    });
    return { round, ...result, forwarderWireRxFrames: counters ? counters.wireRxFrames : null, forwarder: counters };
  } finally {
    if (floodPort) await setFlood(lab, floodPort, true);
  }
}
