// `tapyard trace`'s command line, declared: a topology (macvlan endpoints or bridge ports, read
// through the same keys as `forward --switch`), what the switches already learned, and a frame.

import { MCAST_MESSAGE_KINDS, type McastMessage, type McastMessageKind } from '../frame/mcast-message.js';
import { type Flags, flagHelp, HELP_FLAG, onOff, parseCommandLine, repeated, valued } from '../grammar/argv.js';
import { parseIpv4, parseIpv6 } from '../grammar/ip-address.js';
import { key, keyHelp, Options, optional } from '../grammar/keys.js';
import { quote } from '../grammar/quote.js';
import { flag, hexOrDecimal, integer, oneOf, seconds, text, usageError } from '../grammar/value.js';
import { WIRES } from '../sim/topology.js';
import type {
  TraceConfig,
  TraceEndpoint,
  TraceFdbEntry,
  TraceFrame,
  TraceMdbEntry,
  TraceSend,
  TraceTopology,
} from '../sim/trace-config.js';
import type { BridgePortConfig } from '../switch/learning-bridge.js';
import { MACVLAN_MODE_NAMES } from '../switch/macvlan.js';
import {
  BRIDGE_KEYS,
  BRIDGE_PORT_KEYS,
  MACVLAN_ENDPOINT_KEYS,
  readBridgePort,
  readEndpoint,
  type SourceRef,
} from './switch.js';

/** What each frame of a trace is: the first one's flags, and again after every --then. */
export const FRAME_FLAGS = {
  after: valued('after', seconds(), 'let this much time pass before the frame is sent (entries age)'),
  from: valued('from', text('STATION'), 'who sends the frame (default: the first station)'),
  dst: valued('dst', text('WHERE'), 'a station, a MAC, broadcast, ipv4-mcast[=GROUP], ipv6-mcast[=GROUP]'),
  src: valued('src', text('WHO'), "a station or a MAC (default: the sender's own MAC)"),
  vlan: valued('vlan', integer(0, 4095), 'add an 802.1Q tag with this VID'),
  ethertype: valued('ethertype', hexOrDecimal(0, 0xffff), 'e.g. 0x0800', '0x88b5'),
  mcast: valued(
    'mcast',
    text('MESSAGE=GROUP'),
    `an IP frame for snooping: ${MCAST_MESSAGE_KINDS.join('|')}=GROUP (IGMP for v4, MLD for v6; query=4|6|GROUP)`,
  ),
  hex: valued('hex', text('BYTES', 65536), 'the whole frame as hex instead of --dst/--src/--vlan/--ethertype'),
} as const;

/** The word that starts the next frame of a sequence. */
export const THEN = '--then';

export const COMMON_TRACE_FLAGS = {
  fdb: repeated(
    'fdb',
    text('WHO=PORT[,static][,sticky]'),
    'the switch already knows WHO (a station or a MAC) on PORT: learned, or a static entry',
  ),
  ...FRAME_FLAGS,
  json: onOff('json', 'one JSON object: the frame, every hop, and the copies per station'),
  verify: onOff(
    'verify',
    "build the topology in throwaway namespaces, send the frames again and show the kernel's own drop reasons",
  ),
  help: HELP_FLAG,
} as const;

export const MACVLAN_FLAGS = {
  mode: valued(
    'mode',
    oneOf(MACVLAN_MODE_NAMES),
    "mode of the default endpoints a and b, as the kernel's (lab up macvtap builds bridge unless told)",
    'vepa',
  ),
  endpoint: repeated('endpoint', text('NAME=MODE[,key...]'), 'an endpoint (replaces the default ones)'),
  wire: valued('wire', oneOf(WIRES), 'what the lower is cabled to (hairpin: 802.1Qbg reflective relay)', 'switch'),
  hairpin: onOff('hairpin', 'short for --wire hairpin'),
  lowerUnicastFilter: onOff('lower-unicast-filter', 'the lower NIC has unicast filter slots (veth has none)'),
  bcCutoff: valued('bc-cutoff', integer(-1, 1 << 30), 'IFLA_MACVLAN_BC_CUTOFF', '1'),
  extVlan: valued(
    'ext-vlan',
    integer(1, 4094),
    "the external switch's port to ext is an access port of this VLAN (toward the lower: a trunk)",
  ),
  ...COMMON_TRACE_FLAGS,
} as const;

export const BRIDGE_FLAGS = {
  port: repeated('port', text('NAME[,key...]'), 'a bridge port (default: p1, p2, p3)'),
  ageing: valued('ageing', seconds(), 'ageing_time in seconds', String(BRIDGE_KEYS.ageing.fallback)),
  querier: onOff('querier', 'mcast_querier 1: the bridge is a querier, so snooped groups go to members only'),
  snooping: valued('snooping', flag, 'mcast_snooping (the kernel default is on)', 'on'),
  mcastRouter: repeated('mcast-router', text('PORT'), 'this port is a multicast router port (mcast_router 2)'),
  mdb: repeated(
    'mdb',
    text('GROUP=PORT[,permanent]'),
    'a member of GROUP (an IP group) is behind PORT, or host: the bridge stack joined',
  ),
  ...COMMON_TRACE_FLAGS,
} as const;

/** Trace only: what `forward`'s vlan= on the guest's port (and trunk= on the macvtap's) would do. */
const TRACE_ENDPOINT_VLAN = optional(
  'vlan',
  integer(1, 4094),
  "a tapyard between the guest and its macvtap: the guest's port vlan=VID, the macvtap's trunk=VID",
);

const FDB_KEYS = {
  static: key('static', flag, false, 'a static entry (never ages)'),
  sticky: key('sticky', flag, false, 'a sticky static entry (never moves)'),
} as const;

const MDB_KEYS = {
  permanent: key('permanent', flag, false, 'a permanent entry (never ages)'),
} as const;

const NAME = /^[A-Za-z][A-Za-z0-9_-]{0,14}$/;

/** The typed configuration, or null when --help was asked for. */
export function readTraceConfig(argv: readonly string[]): TraceConfig | null {
  if (argv.includes('--help') || argv.includes('-h')) return null;
  const [kind, ...rest] = argv;
  if (kind === undefined || kind.startsWith('-')) {
    throw usageError('say which topology: tapyard trace macvlan ... or tapyard trace bridge ...');
  }
  const [first, ...later] = splitThen(rest);
  const then = later.map(readSend);
  if (kind === 'macvlan' || kind === 'bridge') refuseOtherTopology(kind, first);
  if (kind === 'macvlan') {
    const { values, positionals } = parseCommandLine(first, MACVLAN_FLAGS);
    noPositionals(positionals);
    if (values.hairpin && values.wire !== undefined && values.wire !== 'hairpin') {
      throw usageError(`--hairpin contradicts --wire ${values.wire}`);
    }
    const endpoints = values.endpoint.map(readTraceEndpoint);
    return common(values, then, [], {
      kind,
      endpoints: endpoints.length > 0 ? endpoints : null,
      mode: values.mode ?? 'vepa',
      wire: values.hairpin ? 'hairpin' : (values.wire ?? 'switch'),
      lowerUnicastFilter: values.lowerUnicastFilter,
      bcCutoff: values.bcCutoff,
      extVlan: values.extVlan,
    });
  }
  if (kind === 'bridge') {
    const { values, positionals } = parseCommandLine(first, BRIDGE_FLAGS);
    noPositionals(positionals);
    const ports = (values.port.length > 0 ? values.port : ['p1', 'p2', 'p3']).map(readTraceBridgePort);
    const names = ports.map((p) => p.name);
    for (const r of values.mcastRouter)
      if (!names.includes(r)) throw usageError(`--mcast-router ${quote(r)}: no bridge port named ${r}`);
    const mdb = values.mdb.map((entry) => readMdbEntry(entry, names));
    return common(values, then, mdb, {
      kind,
      ports: ports.map((p) => (values.mcastRouter.includes(p.name) ? { ...p, mcastRouter: 2 as const } : p)),
      ageingMs: values.ageing === undefined ? undefined : values.ageing * 1000,
      multicast: { snooping: values.snooping ?? true, querier: values.querier },
    });
  }
  throw usageError(`unknown topology ${quote(kind)}: say macvlan or bridge`);
}

/** A flag of the other topology gets a sentence that says so, not "unknown option". */
export function refuseOtherTopology(
  kind: 'macvlan' | 'bridge',
  argv: readonly string[],
  mine: Flags = kind === 'macvlan' ? MACVLAN_FLAGS : BRIDGE_FLAGS,
  other: Flags = kind === 'macvlan' ? BRIDGE_FLAGS : MACVLAN_FLAGS,
): void {
  const names = (f: Flags) => new Set(Object.values(f).map((x) => `--${x.name}`));
  const own = names(mine);
  for (const word of argv) {
    const flag = word.split('=', 1)[0] ?? word;
    if (!own.has(flag) && names(other).has(flag)) throw usageError(`${flag} is not a ${kind} option`);
  }
}

function noPositionals(positionals: readonly string[]): void {
  const [extra] = positionals;
  if (extra !== undefined) throw usageError(`unexpected argument ${quote(extra)}`);
}

type FrameValues = {
  after?: number;
  from?: string;
  dst?: string;
  src?: string;
  vlan?: number;
  ethertype?: number;
  mcast?: string;
  hex?: string;
};

/** The words of each frame: before the first --then (with the topology), and after each. */
function splitThen(argv: readonly string[]): [string[], ...string[][]] {
  let part: string[] = [];
  const parts: [string[], ...string[][]] = [part];
  for (const word of argv) {
    if (word !== THEN) part.push(word);
    else {
      part = [];
      parts.push(part);
    }
  }
  return parts;
}

function readSend(words: readonly string[], i: number): TraceSend {
  const { values, positionals } = parseCommandLine(words, FRAME_FLAGS);
  noPositionals(positionals);
  if (words.length === 0) throw usageError(`--then number ${i + 1} is followed by no frame`);
  return { from: values.from, frame: readFrame(values), afterS: values.after ?? 0 };
}

function readFrame(values: FrameValues): TraceFrame {
  if (values.hex !== undefined) return { hex: parseHex(values.hex) };
  if (values.mcast !== undefined) {
    if (values.vlan !== undefined || values.ethertype !== undefined)
      throw usageError('--mcast builds its own IP frame: no --vlan or --ethertype with it');
    return {
      mcast: readMcast(values.mcast),
      ...(values.dst === undefined ? {} : { dst: values.dst }),
      ...(values.src === undefined ? {} : { src: values.src }),
    };
  }
  return {
    ...(values.dst === undefined ? {} : { dst: values.dst }),
    ...(values.src === undefined ? {} : { src: values.src }),
    vlan: values.vlan ?? null,
    etherType: values.ethertype ?? 0x88b5,
  };
}

/** MESSAGE=GROUP: an IPv4 group for IGMP, an IPv6 one for MLD; query=4 and query=6 are general. */
function readMcast(text: string): McastMessage {
  const eq = text.indexOf('=');
  const kind = (eq < 0 ? text : text.slice(0, eq)) as McastMessageKind;
  if (!MCAST_MESSAGE_KINDS.includes(kind))
    throw usageError(`--mcast ${quote(text)}: say ${MCAST_MESSAGE_KINDS.join(', ')} (=GROUP)`);
  const group = eq < 0 ? '' : text.slice(eq + 1);
  if (kind === 'query' && (group === '4' || group === '')) return { kind, group: 0 };
  if (kind === 'query' && group === '6') return { kind, group: new Uint8Array(16) };
  const v4 = parseIpv4(group);
  if (v4 !== null && v4 >>> 28 === 0xe) return { kind, group: v4 };
  const v6 = parseIpv6(group);
  if (v6 !== null && v6[0] === 0xff) return { kind, group: v6 };
  throw usageError(`--mcast ${quote(text)}: '${group}' is not an IPv4 or IPv6 multicast group`);
}

/** GROUP=PORT[,permanent]: the port is a member of GROUP (host: the bridge stack). */
function readMdbEntry(entry: string, ports: readonly string[]): TraceMdbEntry {
  const [head = '', ...parts] = entry.split(',');
  const eq = head.lastIndexOf('=');
  if (eq <= 0) throw usageError(`--mdb ${quote(entry)} must be GROUP=PORT[,permanent]`);
  const groupText = head.slice(0, eq);
  const port = head.slice(eq + 1);
  const o = new Options(`--mdb ${head}`, parts);
  const { permanent } = o.take(MDB_KEYS);
  o.finish(Object.values(MDB_KEYS).map((k) => k.name));
  if (port !== 'host' && !ports.includes(port))
    throw usageError(`--mdb ${quote(entry)}: no bridge port named ${port} (nor host)`);
  const v4 = parseIpv4(groupText);
  const group =
    v4 !== null ? Uint8Array.of(v4 >>> 24, (v4 >>> 16) & 0xff, (v4 >>> 8) & 0xff, v4 & 0xff) : parseIpv6(groupText);
  if (group === null) throw usageError(`--mdb ${quote(entry)}: '${groupText}' is not an IP group`);
  return { group, port, permanent };
}

function common(
  values: FrameValues & { fdb: readonly string[]; json: boolean; verify: boolean },
  then: readonly TraceSend[],
  mdb: readonly TraceMdbEntry[],
  topology: TraceTopology,
): TraceConfig {
  const fdb = values.fdb.map((entry): TraceFdbEntry => {
    const [head = '', ...parts] = entry.split(',');
    const eq = head.lastIndexOf('=');
    if (eq <= 0) throw usageError(`--fdb ${quote(entry)} must be WHO=PORT[,static][,sticky]`);
    const o = new Options(`--fdb ${head}`, parts);
    const keys = o.take(FDB_KEYS);
    o.finish(Object.values(FDB_KEYS).map((k) => k.name));
    return { who: head.slice(0, eq), port: head.slice(eq + 1), ...keys };
  });
  const frame = readFrame(values);
  return Object.freeze({
    topology,
    fdb,
    mdb,
    afterS: values.after ?? 0,
    from: values.from,
    frame,
    then,
    json: values.json,
    verify: values.verify,
  });
}

/** NAME=MODE[,key=value...]: the MODE is mode= of the endpoint keys forward uses. */
export function readTraceEndpoint(text: string): TraceEndpoint {
  const [head = '', ...parts] = text.split(',');
  const eq = head.indexOf('=');
  const name = eq < 0 ? head : head.slice(0, eq);
  if (!NAME.test(name)) throw usageError(`--endpoint ${quote(text)}: ${quote(name)} is not an endpoint name`);
  const o = new Options(`--endpoint ${name}`, eq < 0 ? parts : [`mode=${head.slice(eq + 1)}`, ...parts]);
  const config = readEndpoint(o);
  const vlan = o.takeOne(TRACE_ENDPOINT_VLAN);
  o.finish([...Object.values(MACVLAN_ENDPOINT_KEYS).map((k) => k.name), TRACE_ENDPOINT_VLAN.name]);
  return { name, config, vlan };
}

/** NAME[,key=value...]: the keys of a bridge port in `forward --switch bridge`. */
export function readTraceBridgePort(text: string): BridgePortConfig {
  const [name = '', ...parts] = text.split(',');
  if (!NAME.test(name)) throw usageError(`--port ${quote(text)}: ${quote(name)} is not a port name`);
  const o = new Options(`--port ${name}`, parts);
  const port = readBridgePort(o);
  o.finish(Object.values(BRIDGE_PORT_KEYS).map((k) => k.name));
  return { name, ...port };
}

function parseHex(text: string): Uint8Array {
  const clean = text.replace(/[\s:.-]/g, '');
  if (!/^([0-9a-fA-F]{2})+$/.test(clean)) throw usageError('--hex must be pairs of hex digits');
  return Uint8Array.from(Buffer.from(clean, 'hex'));
}

export type { SourceRef };

export function traceHelp(): string {
  const flags = (f: Flags) => flagHelp(f, 26).join('\n');
  const own = (f: Flags) => Object.fromEntries(Object.entries(f).filter(([k]) => !(k in COMMON_TRACE_FLAGS))) as Flags;
  const topologyFlags = own(MACVLAN_FLAGS);
  return `usage: tapyard trace macvlan [TOPOLOGY] [FRAME] [--then FRAME...] [--json]
       tapyard trace bridge  [TOPOLOGY] [FRAME] [--then FRAME...] [--json]

Follow one frame, or a sequence, through a model of the kernel's macvlan or bridge and print every
hop, every copy (with how the receiving stack classifies it) and the reason for each, using the
same decisions as tapyard forward --switch.

macvlan (endpoints on one lower device; the host stack owns the lower):
${flags(topologyFlags)}
  endpoint keys (the same as forward --switch macvlan, role=endpoint; sources= may name stations):
${keyHelp(Object.values(MACVLAN_ENDPOINT_KEYS), '      ', 26).join('\n')}
  stations: each endpoint, host (the lower's own stack), ext (the external host)

bridge (a Linux bridge; host is the bridge device's own stack):
${flags(own(BRIDGE_FLAGS))}
  port keys (the same as forward --switch bridge, role=port):
${keyHelp(Object.values(BRIDGE_PORT_KEYS), '      ', 26).join('\n')}
  stations: one behind each port (named after it) and host

both (for macvlan, --fdb teaches the external switch, whose ports are lower and ext):
${flags(COMMON_TRACE_FLAGS)}
  --then                    the next frame of a sequence: --after, --from and the frame flags again;
                            it meets what the earlier frames taught (FDB, mdb, a heard querier)

Examples:
  tapyard trace macvlan --mode private --hairpin --from a --dst broadcast
  tapyard trace macvlan --mode vepa --from a --dst b            # no hairpin: b never sees it
  tapyard trace macvlan --endpoint a=bridge --endpoint v=vepa --from a --dst ipv6-mcast
  tapyard trace macvlan --endpoint s=source,sources=ext,nodst --endpoint a=vepa --from ext --dst a
  tapyard trace macvlan --mode passthru --endpoint p=passthru --from ext --dst 02:00:00:00:99:99
  tapyard trace bridge --port p1,hairpin --port p2 --fdb p2=p1 --from p1 --dst p2
  tapyard trace bridge --port p1 --port p2 --port p3,flood=off --from p1 --dst 02:00:00:00:77:77
  tapyard trace bridge --querier --from p2 --mcast report=239.1.1.1 --then --from p1 --mcast data=239.1.1.1
  tapyard trace bridge --querier --mcast-router p3 --mdb ff0e::1:3=p2 --from p1 --mcast data=ff0e::1:3

Exit status: 0 when traced, 2 on bad input.`;
}
