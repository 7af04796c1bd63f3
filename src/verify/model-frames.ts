// The two teaching views' models, as what the lab needs: the topology with every station's MAC,
// the frames the model sent, and what the model said became of each.

import type { Mac } from '../mac.js';
import type { Journey } from '../sim/network.js';
import { EXT, HOST, type Wire } from '../sim/topology.js';
import { type Question, runProbes, type Setup } from '../sim/why.js';
import type { BridgePortConfig } from '../switch/learning-bridge.js';
import type { EndpointConfig, MacvlanMode } from '../switch/macvlan.js';
import type { LabTopology } from './lab.js';
import type { ModelFrame } from './verify.js';

/** Every drop a journey's hops made, named by hop. */
export function journeyDrops(journey: Pick<Journey, 'hops'>): { hop: string; reason: string }[] {
  return journey.hops.flatMap((h, i) => (h.drop === null ? [] : [{ hop: `[${i + 1}] ${h.at}`, reason: h.drop }]));
}

export interface MacvlanShape {
  endpoints: readonly EndpointConfig[];
  wire: Wire;
  lowerUnicastFilter?: boolean;
  bcCutoff?: number;
}

/** A macvlan model's topology for the lab, with what the lab cannot build of it. */
export function macvlanTopology(
  shape: MacvlanShape,
  macs: ReadonlyMap<string, Mac>,
): { topology: LabTopology; cannot: string[] } {
  const cannot: string[] = [];
  if (shape.lowerUnicastFilter)
    cannot.push('a lower with unicast filter slots (the lab lower is a veth, which has none: it turns promiscuous)');
  if (shape.bcCutoff !== undefined && shape.bcCutoff !== 1)
    cannot.push(`bc_cutoff ${shape.bcCutoff} (the lab keeps the kernel default, 1)`);
  return {
    topology: {
      kind: 'macvlan',
      wire: shape.wire,
      lowerMac: macs.get(HOST)!,
      extMac: macs.get(EXT)!,
      endpoints: shape.endpoints.map((e) => ({
        ...e,
        mode: (e.mode ?? 'vepa') as MacvlanMode,
        mac: macs.get(e.name)!,
      })),
    },
    cannot,
  };
}

export function bridgeTopology(
  ports: readonly BridgePortConfig[],
  macs: ReadonlyMap<string, Mac>,
  snooping: boolean,
): LabTopology {
  return { kind: 'bridge', ports, macs, snooping };
}

/** `tapyard why`'s question as the lab needs it. */
export function whyForLab(
  setup: Setup,
  question: Question,
): { topology: LabTopology; cannot: string[]; frames: ModelFrame[] } {
  const { macs, frames } = runProbes(setup, question);
  const cannot: string[] = [];
  for (const [station] of setup.guests)
    cannot.push(
      `${station}'s guest NIC and its receive filter (the lab has no VM): the kernel is checked up to ${station}'s device`,
    );
  let topology: LabTopology;
  if (setup.path === 'macvtap') {
    const built = macvlanTopology(
      {
        endpoints: setup.endpoints,
        wire: setup.wire,
        ...(setup.lowerUnicastFilter === undefined ? {} : { lowerUnicastFilter: setup.lowerUnicastFilter }),
        ...(setup.bcCutoff === undefined ? {} : { bcCutoff: setup.bcCutoff }),
      },
      macs,
    );
    topology = built.topology;
    cannot.push(...built.cannot);
  } else topology = bridgeTopology(setup.ports, macs, true);
  return {
    topology,
    cannot,
    frames: frames.map(({ result, bytes }) => ({
      name: result.name,
      from: result.from,
      to: result.to,
      bytes,
      copies: result.copies,
      drops: journeyDrops(result),
      lost: result.lost,
    })),
  };
}
