// The model's topology built for real, in throwaway namespaces: macvlan endpoints on a veth lower
// (cabled straight to ext, or to a Linux bridge standing for the external switch, hairpin on or
// off toward the lower), or a Linux bridge with one station behind each port. Every name is
// ty-<id>-..., made inside namespaces this lab created; close() removes them, and so does the
// process exiting or being interrupted. What the lab cannot build is returned as sentences, never
// skipped silently.

import { randomBytes } from 'node:crypto';
import { TapyardError } from '../error.js';
import { IprouteError, iproute } from '../kernel/iproute.js';
import { addBridge, addOwnNamespace, addVeth, removeOwnNamespace, waitForwarding } from '../kernel/netns.js';
import { formatMac, type Mac } from '../mac.js';
import { EXT, HOST, type Wire } from '../sim/topology.js';
import type { BridgePortConfig } from '../switch/learning-bridge.js';
import type { EndpointConfig } from '../switch/macvlan.js';

export type LabTopology =
  | {
      kind: 'macvlan';
      /** Each with its MAC (passthru: the lower's) and the groups it joined. */
      endpoints: readonly EndpointConfig[];
      wire: Wire;
      lowerMac: Mac;
      extMac: Mac;
    }
  | {
      kind: 'bridge';
      ports: readonly BridgePortConfig[];
      /** Station name (the port's name) → its MAC; host → the bridge's MAC. */
      macs: ReadonlyMap<string, Mac>;
      snooping: boolean;
    };

/** Where a station sends from and receives on. */
export interface Place {
  ns: string;
  dev: string;
}

export interface KernelLab {
  readonly namespaces: readonly string[];
  /** Station → its device. */
  readonly stations: ReadonlyMap<string, Place>;
  /** Devices that are the lab's own machinery, by `ns/dev`: what a drop there is called. */
  readonly devices: ReadonlyMap<string, string>;
  /** `ns/dev` of a device whose arrivals are the lab's own switch stack, not a station's. */
  readonly switchStack: string | null;
  close(): void;
}

/** Run ip in the lab; a refusal is the lab's (ELAB: verify then says the kernel was not asked). */
const ip = (...args: string[]): void => {
  iproute(args);
};

/** What the lab cannot build of this topology, one sentence each (empty: all of it). */
export function unbuildable(t: LabTopology): string[] {
  const out: string[] = [];
  if (t.kind === 'macvlan') {
    for (const e of t.endpoints) {
      if (e.hashMix !== undefined) out.push(`${e.name}'s mc_hash mix: the kernel picks its own`);
    }
  } else {
    for (const p of t.ports) {
      if ((p.mcastRouter !== undefined && p.mcastRouter !== 1) || p.fastLeave === true)
        out.push(`${p.name}'s multicast router and fastleave settings: the lab's frames are not IP multicast`);
    }
  }
  return out;
}

/** Build it. Needs root. */
export async function buildKernelLab(t: LabTopology): Promise<KernelLab> {
  if (process.getuid?.() !== 0) throw new TapyardError('ELAB', 'building the lab needs root (namespaces, veth)');
  const id = randomBytes(3).toString('hex').slice(0, 5);
  const made: string[] = [];
  const ns = (role: string) => {
    const name = `ty-${id}-${role}`;
    made.push(name);
    addOwnNamespace(name);
    return name;
  };
  const dev = (role: string) => `ty-${id}-${role}`;
  const b: LabBuild = { ns, dev, stations: new Map(), devices: new Map() };
  const close = () => {
    for (const name of made) removeOwnNamespace(name);
  };
  let switchStack: string | null = null;
  try {
    if (t.kind === 'macvlan') switchStack = await buildMacvlanLab(t, b);
    else await buildBridgeLab(t, b);
  } catch (err) {
    close();
    if (err instanceof IprouteError) throw new TapyardError('ELAB', `the lab could not run ${err.message}`);
    throw err;
  }
  const { stations, devices } = b;
  for (const [name, place] of stations) devices.set(`${place.ns}/${place.dev}`, name);
  return { namespaces: made, stations, devices, switchStack, close };
}

/** What the steps of a build share: the lab's names, and the stations and devices it records. */
interface LabBuild {
  /** A new namespace of the lab, for ROLE. */
  ns(role: string): string;
  /** The name of the lab's device for ROLE. */
  dev(role: string): string;
  readonly stations: Map<string, Place>;
  readonly devices: Map<string, string>;
}

/** A lower (cabled to ext directly or through a switch) and its macvlan endpoints; the switch's stack, if any. */
async function buildMacvlanLab(t: Extract<LabTopology, { kind: 'macvlan' }>, b: LabBuild): Promise<string | null> {
  const { ns, dev, stations, devices } = b;
  let switchStack: string | null = null;
  const hv = ns('hv');
  const ext = ns('ext');
  const lower = dev('l');
  const x = dev('x');
  // The lower and ext's end take their MACs before they come up.
  if (t.wire === 'direct') addVeth({ netns: hv, name: lower }, { netns: ext, name: x }, { up: false });
  else {
    const sw = ns('sw');
    const br = dev('br');
    addBridge(sw, br, { snooping: false, up: false });
    addVeth({ netns: sw, name: dev('sl') }, { netns: hv, name: lower }, { up: false });
    addVeth({ netns: sw, name: dev('sx') }, { netns: ext, name: x }, { up: false });
    for (const p of ['sl', 'sx']) {
      ip('-n', sw, 'link', 'set', dev(p), 'master', br);
      ip('-n', sw, 'link', 'set', dev(p), 'up');
    }
    if (t.wire === 'hairpin') ip('-n', sw, 'link', 'set', dev('sl'), 'type', 'bridge_slave', 'hairpin', 'on');
    ip('-n', sw, 'link', 'set', br, 'up');
    devices.set(`${sw}/${dev('sl')}`, "the switch's port toward the lower");
    devices.set(`${sw}/${dev('sx')}`, "the switch's port toward ext");
    devices.set(`${sw}/${br}`, 'the switch');
    switchStack = `${sw}/${br}`;
  }
  ip('-n', hv, 'link', 'set', lower, 'address', formatMac(t.lowerMac));
  ip('-n', ext, 'link', 'set', x, 'address', formatMac(t.extMac));
  ip('-n', hv, 'link', 'set', lower, 'up');
  ip('-n', ext, 'link', 'set', x, 'up');
  // Ports forward once their veth peers are up too.
  if (t.wire !== 'direct') await waitForwarding(dev('sw'), [dev('sl'), dev('sx')]);
  stations.set(HOST, { ns: hv, dev: lower });
  stations.set(EXT, { ns: ext, dev: x });
  addEndpoints(t, b, hv, lower);
  return switchStack;
}

function addEndpoints(t: Extract<LabTopology, { kind: 'macvlan' }>, b: LabBuild, hv: string, lower: string): void {
  const { dev, stations } = b;
  t.endpoints.forEach((e, i) => {
    const name = dev(`e${i}`);
    const args = ['-n', hv, 'link', 'add', 'link', lower, 'name', name];
    if (e.mode !== 'passthru' && e.mac !== undefined) args.push('address', formatMac(e.mac));
    args.push('type', 'macvlan', 'mode', e.mode ?? 'vepa');
    if (e.nodst) args.push('flag', 'nodst');
    if (e.nopromisc) args.push('flag', 'nopromisc');
    const sources = e.sources ?? [];
    if (sources.length > 0) args.push('macaddr', 'set', ...sources.map(formatMac));
    ip(...args);
    if (e.up !== false) ip('-n', hv, 'link', 'set', name, 'up');
    if (e.allmulti) ip('-n', hv, 'link', 'set', name, 'allmulticast', 'on');
    if (e.promisc) ip('-n', hv, 'link', 'set', name, 'promisc', 'on');
    for (const g of e.groups ?? []) ip('-n', hv, 'maddr', 'add', formatMac(g), 'dev', name);
    stations.set(e.name, { ns: hv, dev: name });
  });
}

/** A bridge with a veth to each port's station (all stations in one namespace). */
async function buildBridgeLab(t: Extract<LabTopology, { kind: 'bridge' }>, b: LabBuild): Promise<void> {
  const { ns, dev, stations, devices } = b;
  const brNs = ns('br');
  const st = ns('st');
  const br = dev('br');
  addBridge(brNs, br, { address: formatMac(t.macs.get(HOST)!), snooping: t.snooping });
  stations.set(HOST, { ns: brNs, dev: br });
  const ports: string[] = [];
  t.ports.forEach((p, i) => {
    const port = dev(`p${i}`);
    const station = dev(`s${i}`);
    addVeth({ netns: brNs, name: port }, { netns: st, name: station }, { up: false });
    if (p.mac !== undefined && p.mac !== null) ip('-n', brNs, 'link', 'set', port, 'address', formatMac(p.mac));
    ip('-n', st, 'link', 'set', station, 'address', formatMac(t.macs.get(p.name)!));
    ip('-n', brNs, 'link', 'set', port, 'master', br);
    const flags: [string, boolean | undefined][] = [
      ['hairpin', p.hairpin],
      ['flood', p.flood],
      ['bcast_flood', p.bcastFlood],
      ['mcast_flood', p.mcastFlood],
      ['learning', p.learning],
    ];
    const set = flags.filter(([, v]) => v !== undefined).flatMap(([k, v]) => [k, v ? 'on' : 'off']);
    if (p.groupFwdMask !== undefined) set.push('group_fwd_mask', String(p.groupFwdMask));
    if (set.length > 0) ip('-n', brNs, 'link', 'set', port, 'type', 'bridge_slave', ...set);
    ip('-n', brNs, 'link', 'set', port, 'up');
    ip('-n', st, 'link', 'set', station, 'up');
    stations.set(p.name, { ns: st, dev: station });
    devices.set(`${brNs}/${port}`, `bridge port ${p.name}`);
    ports.push(port);
  });
  await waitForwarding(brNs, ports);
}
