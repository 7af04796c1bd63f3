// The two teaching views' models, as what the lab needs: the topology with every station's MAC,
// the frames the model sent, and what the model said became of each.

import { u16 } from '../frame/bytes.js';
import { KERNEL_COUNTERPARTS } from '../kernel/counterparts.js';
import type { Mac } from '../mac.js';
import { countDeliveries, type Journey } from '../sim/network.js';
import { EXT, HOST, LINUX_DEFAULT_GROUPS, type Wire } from '../sim/topology.js';
import type { TraceConfig } from '../sim/trace-config.js';
import { type Question, runProbes, type Setup } from '../sim/why.js';
import type { BridgePortConfig } from '../switch/learning-bridge.js';
import type { EndpointConfig, MacvlanMode } from '../switch/macvlan.js';
import type { LabTopology } from './lab.js';
import type { ModelFrame } from './verify.js';

/**
 * Every drop a journey's hops made, named by hop. A hop that sent the frame nowhere without naming
 * a drop ends it too: its last step says why (a bridge flood that no port takes).
 */
export function journeyDrops(journey: Pick<Journey, 'hops'>): { hop: string; reason: string }[] {
  return journey.hops.flatMap((h, i) => {
    const hop = `[${i + 1}] ${h.at}`;
    if (h.drop !== null) return [{ hop, reason: h.drop }];
    if (h.outputs.length > 0) return [];
    const ending = [...h.steps].reverse().find((s) => KERNEL_COUNTERPARTS[s.reason] !== undefined);
    return ending === undefined ? [] : [{ hop, reason: ending.reason }];
  });
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
      `${station}'s guest NIC and its receive filter (the lab has no VM): ` +
        `the kernel is checked up to ${station}'s device`,
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

/** `tapyard trace`'s topology and frames as the lab needs them, or null with what it cannot build. */
export function traceForLab(
  config: TraceConfig,
  macs: ReadonlyMap<string, Mac>,
  traced: readonly { from: string; bytes: Uint8Array; journey: Journey; afterS: number }[],
): { topology: LabTopology | null; cannot: string[]; frames: ModelFrame[] } {
  const t = config.topology;
  const cannot: string[] = [];
  if (config.fdb.length > 0) cannot.push('what --fdb says the switch already learned');
  if (config.mdb.length > 0) cannot.push('what --mdb says the bridge already holds');
  if (config.afterS > 0 || traced.some((f) => f.afterS > 0)) cannot.push('time passing (--after): entries ageing');
  const frames = traced.map((f, i) => ({
    name: traced.length === 1 ? 'the frame' : `frame ${i + 1}`,
    from: f.from,
    to: null,
    bytes: f.bytes,
    copies: Object.fromEntries(countDeliveries(f.journey)),
    drops: journeyDrops(f.journey),
    lost: null,
  }));
  for (const f of frames)
    if (f.bytes.length >= 14 && u16(f.bytes, 12) !== 0x88b5)
      cannot.push(
        `${f.name} as it is: the lab sends its addresses under ethertype 0x88b5, so IGMP, MLD and other ` +
          'protocols are not seen by the kernel as such',
      );
  let topology: LabTopology | null = null;
  if (t.kind === 'macvlan') {
    if (t.extVlan !== undefined) cannot.push('a VLAN on the external switch (--ext-vlan)');
    const given = t.endpoints ?? null;
    if (given?.some((e) => e.vlan !== undefined)) cannot.push('a tapyard with vlan= between a guest and its macvtap');
    const endpoints: EndpointConfig[] =
      given === null
        ? (t.mode === 'passthru' ? ['a'] : ['a', 'b']).map((name) => ({
            name,
            mode: t.mode,
            groups: LINUX_DEFAULT_GROUPS,
          }))
        : given.map((e) => ({
            ...e.config,
            name: e.name,
            groups: e.config.groups ?? LINUX_DEFAULT_GROUPS,
            sources: e.config.sources.map((s) => (typeof s === 'number' ? s : macs.get(s)!)),
          }));
    const built = macvlanTopology(
      {
        endpoints,
        wire: t.wire,
        lowerUnicastFilter: t.lowerUnicastFilter,
        ...(t.bcCutoff === undefined ? {} : { bcCutoff: t.bcCutoff }),
      },
      macs,
    );
    cannot.push(...built.cannot);
    topology = built.topology;
  } else {
    if (t.multicast.querier) cannot.push('a querier on the bridge (--querier)');
    if (t.ageingMs !== undefined) cannot.push('another ageing time (--ageing)');
    topology = bridgeTopology(t.ports, macs, t.multicast.snooping);
  }
  // What changes the model's answer cannot be left out of the lab: then nothing is compared.
  const changesAnswer = config.fdb.length > 0 || config.mdb.length > 0 || cannot.some((c) => /VLAN|vlan=/.test(c));
  return { topology: changesAnswer ? null : topology, cannot, frames };
}
