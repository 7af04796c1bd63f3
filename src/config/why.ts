// `tapyard why`'s command line: the topology through trace's declarations (the same endpoint
// and bridge-port keys as forward), the guests behind stations, and the question.

import { u32 } from '../frame/bytes.js';
import { type Flags, flagHelp, HELP_FLAG, onOff, parseCommandLine, repeated, valued } from '../grammar/argv.js';
import { parseIpv4, parseIpv6 } from '../grammar/ip-address.js';
import { key, keyHelp, Options } from '../grammar/keys.js';
import { quote } from '../grammar/quote.js';
import { flag, list, text, usageError, type ValueType } from '../grammar/value.js';
import { ipv4MulticastMac, ipv6MulticastMac, isGroup, type Mac, parseMac } from '../mac.js';
import type { Wire } from '../sim/topology.js';
import type { Guest } from '../sim/why.js';
import type { BridgePortConfig } from '../switch/learning-bridge.js';
import type { EndpointConfig, MacvlanMode } from '../switch/macvlan.js';
import {
  BRIDGE_FLAGS,
  COMMON_TRACE_FLAGS,
  MACVLAN_FLAGS,
  readTraceBridgePort,
  readTraceEndpoint,
  refuseOtherTopology,
} from './trace.js';

/** A group as a MAC, or as an IPv4/IPv6 multicast address (mapped the way the NIC sees it). */
export const GROUP: ValueType<Mac> = {
  shape: 'GROUP',
  parse(value, where) {
    const m = parseMac(value);
    if (m !== null && isGroup(m)) return m;
    const v4 = parseIpv4(value);
    if (v4 !== null && v4 >>> 28 === 0xe) return ipv4MulticastMac(v4);
    const v6 = parseIpv6(value);
    if (v6 !== null && v6[0] === 0xff) {
      return ipv6MulticastMac(u32(v6, 12));
    }
    throw usageError(`${where} must be a group MAC or a multicast address, not ${quote(value)}`);
  },
};

export const GUEST_KEYS = {
  groups: key('groups', list(GROUP), [] as readonly Mac[], 'groups the guest joined, besides 224.0.0.1 and ff02::1'),
  allmulti: key('allmulti', flag, false, 'the guest asked for all multicast'),
  promisc: key('promisc', flag, false, 'the guest is promiscuous'),
} as const;

const QUESTION_FLAGS = {
  guest: repeated('guest', text('STATION[,key...]'), "a VM's NIC behind a station, with its receive filter"),
  trust: repeated(
    'trust-guest-rx-filters',
    text('STATION'),
    "the macvtap mirrors that guest's filter (libvirt trustGuestRxFilters='yes')",
  ),
  from: valued('from', text('A'), 'who sends'),
  to: valued('to', text('B'), 'who should get it'),
  dst: COMMON_TRACE_FLAGS.dst,
  compare: onOff('compare', 'answer for the macvtap path and the bridge path side by side (macvlan only)'),
  json: COMMON_TRACE_FLAGS.json,
  verify: COMMON_TRACE_FLAGS.verify,
  help: HELP_FLAG,
} as const;

const MACVLAN_WHY = {
  mode: MACVLAN_FLAGS.mode,
  endpoint: MACVLAN_FLAGS.endpoint,
  wire: MACVLAN_FLAGS.wire,
  hairpin: MACVLAN_FLAGS.hairpin,
  lowerUnicastFilter: MACVLAN_FLAGS.lowerUnicastFilter,
  ...QUESTION_FLAGS,
} as const;
const BRIDGE_WHY = { port: BRIDGE_FLAGS.port, ...QUESTION_FLAGS } as const;

export type WhyTopology =
  | {
      readonly kind: 'macvlan';
      readonly endpoints: readonly EndpointConfig[];
      readonly wire: Wire;
      readonly lowerUnicastFilter: boolean;
      readonly trusted: ReadonlySet<string>;
    }
  | { readonly kind: 'bridge'; readonly ports: readonly BridgePortConfig[] };

export interface WhyConfig {
  readonly topology: WhyTopology;
  readonly guests: ReadonlyMap<string, Guest>;
  readonly from: string;
  readonly to: string;
  /** One frame to ask about instead of a ping (resolved against the stations later). */
  readonly dst: string | undefined;
  readonly compare: boolean;
  readonly json: boolean;
  readonly verify: boolean;
}

export function readWhyConfig(argv: readonly string[]): WhyConfig | null {
  if (argv.includes('--help') || argv.includes('-h')) return null;
  const [kind, ...rest] = argv;
  if (kind !== 'macvlan' && kind !== 'bridge') {
    if (kind === undefined || kind.startsWith('-')) {
      throw usageError('say which topology: tapyard why macvlan ... or tapyard why bridge ...');
    }
    throw usageError(`unknown topology ${quote(kind)}: say macvlan or bridge`);
  }
  refuseOtherTopology(
    kind,
    rest,
    kind === 'macvlan' ? MACVLAN_WHY : BRIDGE_WHY,
    kind === 'macvlan' ? BRIDGE_WHY : MACVLAN_WHY,
  );
  let topology: WhyTopology;
  let q: {
    guest: readonly string[];
    trust: readonly string[];
    from?: string;
    to?: string;
    dst?: string;
    compare: boolean;
    json: boolean;
    verify: boolean;
  };
  if (kind === 'macvlan') {
    const { values, positionals } = parseCommandLine(rest, MACVLAN_WHY);
    const [extra] = positionals;
    if (extra !== undefined) throw usageError(`unexpected argument ${quote(extra)}`);
    if (values.hairpin && values.wire !== undefined && values.wire !== 'hairpin') {
      throw usageError(`--hairpin contradicts --wire ${values.wire}`);
    }
    const mode: MacvlanMode = values.mode ?? 'vepa';
    const given = values.endpoint.map(readTraceEndpoint);
    const endpoints: EndpointConfig[] =
      given.length > 0
        ? given.map((e) => {
            const named = e.config.sources.find((s) => typeof s === 'string');
            if (named !== undefined) throw usageError(`--endpoint ${e.name}: sources= takes MAC addresses here`);
            return { ...e.config, name: e.name, sources: e.config.sources as Mac[] };
          })
        : (mode === 'passthru' ? ['a'] : ['a', 'b']).map((name) => ({ name, mode }));
    topology = {
      kind,
      endpoints,
      wire: values.hairpin ? 'hairpin' : (values.wire ?? 'switch'),
      lowerUnicastFilter: values.lowerUnicastFilter,
      trusted: new Set(values.trust),
    };
    q = values;
  } else {
    const { values, positionals } = parseCommandLine(rest, BRIDGE_WHY);
    const [extra] = positionals;
    if (extra !== undefined) throw usageError(`unexpected argument ${quote(extra)}`);
    if (values.trust.length > 0) throw usageError('--trust-guest-rx-filters is a macvlan option');
    if (values.compare) throw usageError('--compare is a macvlan option (it adds the bridge path beside it)');
    topology = { kind, ports: (values.port.length > 0 ? values.port : ['a', 'b', 'ext']).map(readTraceBridgePort) };
    q = values;
  }
  const guests = new Map<string, Guest>();
  for (const spec of q.guest) {
    const [name = '', ...parts] = spec.split(',');
    if (guests.has(name)) throw usageError(`two --guest specs for ${quote(name)}`);
    const o = new Options(`--guest ${name}`, parts);
    guests.set(name, o.take(GUEST_KEYS));
    o.finish(Object.values(GUEST_KEYS).map((k) => k.name));
  }
  if (topology.kind === 'macvlan') {
    for (const t of topology.trusted) {
      if (!topology.endpoints.some((e) => e.name === t))
        throw usageError(`--trust-guest-rx-filters ${quote(t)} is not an endpoint`);
      if (!guests.has(t)) throw usageError(`--trust-guest-rx-filters ${t} needs a guest behind it (--guest ${t},...)`);
    }
  }
  if (q.from === undefined || q.to === undefined)
    throw usageError('say who sends and who should get it: --from A --to B');
  return Object.freeze({
    topology,
    guests,
    from: q.from,
    to: q.to,
    dst: q.dst,
    compare: q.compare,
    json: q.json,
    verify: q.verify,
  });
}

export function whyHelp(): string {
  const flags = (f: Flags) => flagHelp(f, 26).join('\n');
  const { guest, trust, ...question } = QUESTION_FLAGS;
  const { mode, endpoint, wire, hairpin, lowerUnicastFilter } = MACVLAN_WHY;
  const topologyFlags = { mode, endpoint, wire, hairpin, lowerUnicastFilter };
  return `usage: tapyard why macvlan [TOPOLOGY] --from A --to B [--dst WHERE] [--compare] [--json]
       tapyard why bridge  [TOPOLOGY] --from A --to B [--dst WHERE] [--json]

Can A reach B, and if not, why not? Sends the frames a ping needs (ARP request and reply, echo
request and reply) through a model of the kernel's macvlan or bridge, names the hop where each
lost frame went astray and why, and re-runs the model with candidate changes (hairpin on the
switch, bridge mode, an on-host macvlan, trust-guest-rx-filters, allmulti) to say which would
make every frame arrive. Uses the same decisions and the same topology keys as tapyard trace.

macvlan topology (endpoints on one lower device; the host stack owns the lower):
${flags(topologyFlags)}
  (endpoint and port keys: tapyard trace --help)
  stations: each endpoint, host (the lower's own stack), ext (the external host)

bridge topology:
${flags({ port: { ...BRIDGE_WHY.port, help: 'a bridge port (default: a, b, ext)' } })}
  stations: one behind each port (named after it) and host (the bridge's own stack)

guests (a VM's NIC behind a station, with virtio-net's receive filter):
${flags({ guest, trust })}
  guest keys:
${keyHelp(Object.values(GUEST_KEYS), '      ', 26).join('\n')}

question:
${flags(question)}

Examples:
  tapyard why macvlan --mode vepa --from a --to b
  tapyard why macvlan --mode vepa --from host --to a --compare
  tapyard why macvlan --mode private --hairpin --from a --to b
  tapyard why macvlan --endpoint a=vepa --guest a,groups=224.1.2.3 --from ext --to a --dst ipv4-mcast=224.1.2.3

Exit status: 0 when answered (whether or not A reaches B), 2 on bad input.`;
}
