// A model lab built from a trace topology, with what its switches already learned, and the frame
// to send through it: the semantic half of `tapyard trace` (names resolve to stations here).

import { TapyardError } from '../error.js';
import { u32 } from '../frame/bytes.js';
import { EthernetView, EtherType, emitEthernet } from '../frame/ethernet.js';
import { mcastMessageFrame } from '../frame/mcast-message.js';
import { parseIpv4, parseIpv6 } from '../grammar/ip-address.js';
import { BROADCAST, ipv4MulticastMac, ipv6MulticastMac, type Mac, parseMac } from '../mac.js';
import type { FdbEntryOptions } from '../switch/learning-bridge.js';
import type { Journey } from './network.js';
import { BridgeLab, LINUX_DEFAULT_GROUPS, MacvlanLab, type VlanEndpointConfig } from './topology.js';
import type { TraceConfig, TraceFrame, TraceTopology } from './trace-config.js';

/** Ethernet's minimum frame size without the FCS. */
const MIN_FRAME = 60;

export interface TraceLab {
  macs: Map<string, Mac>;
  stations(): string[];
  send(from: string, bytes: Uint8Array): Journey;
  /** One line that says what the topology is. */
  readonly description: string;
  /** Let time pass on the models' clock (a sequence's --after). */
  advance(seconds: number): void;
}

function usage(sentence: string): TapyardError {
  return new TapyardError('EUSAGE', sentence);
}

export function buildTraceLab(config: TraceConfig): TraceLab {
  const t = config.topology;
  // The models' clock: --fdb teaches at time 0, --after lets time pass before the frame.
  let nowMs = 0;
  const now = () => nowMs;
  const lab = t.kind === 'macvlan' ? macvlanLab(t, now) : bridgeLab(t, now);
  for (const e of config.fdb) lab.learn(station(lab.macs, e.who, '--fdb'), e.port, e);
  for (const e of config.mdb) {
    if (!(lab instanceof BridgeLab)) throw usage('--mdb is a bridge option');
    lab.bridge.joinGroup(e.group, e.port === 'host' ? null : e.port, e.permanent);
  }
  nowMs += config.afterS * 1000;
  return Object.assign(lab, {
    advance(seconds: number) {
      nowMs += seconds * 1000;
    },
  });
}

type Learning = Omit<TraceLab, 'advance'> & { learn(who: Mac, port: string, kind: FdbEntryOptions): void };

function macvlanLab(t: Extract<TraceTopology, { kind: 'macvlan' }>, now: () => number): Learning {
  const defaults = (t.mode === 'passthru' ? ['a'] : ['a', 'b']).map((name) => ({
    name,
    config: { mode: t.mode, groups: LINUX_DEFAULT_GROUPS, sources: [] },
    vlan: undefined,
  }));
  const endpoints = t.endpoints ?? defaults;
  const options = {
    now,
    wire: t.wire,
    ...(t.lowerUnicastFilter ? { lowerUnicastFilter: true } : {}),
    ...(t.bcCutoff === undefined ? {} : { bcCutoff: t.bcCutoff }),
    ...(t.extVlan === undefined ? {} : { extVlan: t.extVlan }),
  };
  const configs = (sources: (e: (typeof endpoints)[number]) => Mac[]): VlanEndpointConfig[] =>
    endpoints.map((e) => ({
      ...e.config,
      name: e.name,
      sources: sources(e),
      ...(e.vlan === undefined ? {} : { vlan: e.vlan }),
    }));
  // Source lists may name stations, whose MACs exist only once a lab does: a first lab without
  // sources names them.
  const names = new MacvlanLab({ ...options, endpoints: configs(() => []) }).macs;
  const m = new MacvlanLab({
    ...options,
    endpoints: configs((e) => e.config.sources.map((s) => (typeof s === 'number' ? s : station(names, s, 'sources=')))),
  });
  const wire =
    t.wire === 'direct'
      ? 'straight to ext'
      : t.wire === 'hairpin'
        ? 'a switch with hairpin on toward the lower'
        : 'a switch (hairpin off)';
  const extVlan = t.extVlan === undefined ? '' : `, its port to ext an access port of vlan ${t.extVlan}`;
  const described = endpoints
    .map((e) => `${e.name} (${e.config.mode ?? 'vepa'}${e.vlan === undefined ? '' : `, tapyard vlan=${e.vlan}`})`)
    .join(', ');
  return Object.assign(m, {
    description:
      `macvlan: ${described} on one lower; wire: ${wire}${extVlan}` +
      `${m.macvlan.lowerIsPromiscuous ? '; the lower is promiscuous' : ''}`,
    learn(who: Mac, port: string, kind: FdbEntryOptions) {
      if (m.external === null) throw usage('--fdb needs a switch on the wire (--wire switch or hairpin)');
      if (!m.external.portNames().includes(port)) {
        throw usage(`--fdb: the external switch has ports ${m.external.portNames().join(' and ')}, not ${port}`);
      }
      m.external.learn(who, port, kind);
    },
  });
}

function bridgeLab(t: Extract<TraceTopology, { kind: 'bridge' }>, now: () => number): Learning {
  const b = new BridgeLab({
    ports: t.ports,
    now,
    ...(t.ageingMs === undefined ? {} : { ageingMs: t.ageingMs }),
    bridge: t.multicast,
  });
  const ports = t.ports.map(
    (p) =>
      p.name +
      (p.hairpin ? ' (hairpin)' : '') +
      (p.flood === false ? ' (flood off)' : '') +
      (p.mcastRouter === 2 ? ' (mcast router)' : p.mcastRouter === 0 ? ' (never mcast router)' : '') +
      (p.fastLeave === true ? ' (fastleave)' : ''),
  );
  const snooping = !t.multicast.snooping
    ? 'snooping off'
    : t.multicast.querier
      ? 'snooping, the bridge is querier'
      : 'snooping, no querier';
  return Object.assign(b, {
    description: `bridge: ports ${ports.join(', ')}; every port promiscuous; ${snooping}`,
    learn(who: Mac, port: string, kind: FdbEntryOptions) {
      if (!b.bridge.portNames().includes(port)) throw usage(`--fdb: no bridge port named ${port}`);
      b.bridge.learn(who, port, kind);
    },
  });
}

/** A station's MAC, or a MAC written out. */
export function station(macs: ReadonlyMap<string, Mac>, text: string, where: string): Mac {
  const known = macs.get(text);
  if (known !== undefined) return known;
  const m = parseMac(text);
  if (m === null) throw usage(`${where} ${text} is neither a station (${[...macs.keys()].join(', ')}) nor a MAC`);
  return m;
}

/** The sender and the frame's bytes, with names resolved against the lab's stations. */
export function traceFrame(
  lab: TraceLab,
  from: string | undefined,
  frame: TraceFrame,
): { from: string; bytes: Uint8Array } {
  const sender = from ?? lab.stations()[0];
  const senderMac = sender === undefined ? undefined : lab.macs.get(sender);
  if (sender === undefined || senderMac === undefined)
    throw usage(`--from ${sender} is not a station (${lab.stations().join(', ')})`);
  if ('hex' in frame) {
    const err = new EthernetView().parse(frame.hex, 0, frame.hex.length);
    if (err !== null) throw usage(`--hex is not a valid Ethernet frame (${err})`);
    return { from: sender, bytes: frame.hex };
  }
  if ('mcast' in frame) {
    const src = frame.src === undefined ? senderMac : station(lab.macs, frame.src, '--src');
    const dst = frame.dst === undefined ? undefined : destination(lab.macs, frame.dst);
    return { from: sender, bytes: mcastMessageFrame(frame.mcast, src, undefined, dst) };
  }
  const dst = frame.dst === undefined ? BROADCAST : destination(lab.macs, frame.dst);
  const src = frame.src === undefined ? senderMac : station(lab.macs, frame.src, '--src');
  const bytes = new Uint8Array(MIN_FRAME + (frame.vlan === null ? 0 : 4));
  const tags = frame.vlan === null ? [] : [{ tpid: EtherType.VLAN, tci: frame.vlan }];
  const at = emitEthernet({ dst, src, tags, etherType: frame.etherType }, bytes, 0);
  bytes.set(new TextEncoder().encode('tapyard trace'), at);
  return { from: sender, bytes };
}

function destination(macs: ReadonlyMap<string, Mac>, text: string): Mac {
  if (text === 'broadcast') return BROADCAST;
  const [name, group] = text.split('=', 2) as [string, string | undefined];
  if (name === 'ipv4-mcast') {
    const ip = parseIpv4(group ?? '224.0.0.1');
    if (ip === null || ip >>> 28 !== 0xe) throw usage(`--dst ${text}: '${group}' is not an IPv4 multicast group`);
    return ipv4MulticastMac(ip);
  }
  if (name === 'ipv6-mcast') {
    const ip = parseIpv6(group ?? 'ff02::1');
    if (ip === null || ip[0] !== 0xff) throw usage(`--dst ${text}: '${group}' is not an IPv6 multicast group`);
    return ipv6MulticastMac(u32(ip, 12));
  }
  return station(macs, text, '--dst');
}
