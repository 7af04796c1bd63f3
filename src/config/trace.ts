// `tapyard trace`'s command line, declared: a topology (macvlan endpoints or bridge ports, read
// through the same keys as `forward --switch`), what the switches already learned, and a frame.

import type { Wire } from '../sim/topology.js';
import { WIRES } from '../sim/topology.js';
import type { BridgePortConfig } from '../switch/learning-bridge.js';
import { MACVLAN_MODE_NAMES } from '../switch/macvlan.js';
import { type Flags, flagHelp, HELP_FLAG, onOff, parseCommandLine, repeated, valued } from './argv.js';
import { key, keyHelp, Options } from './keys.js';
import { quote } from './quote.js';
import {
  BRIDGE_KEYS,
  BRIDGE_PORT_KEYS,
  MACVLAN_ENDPOINT_KEYS,
  readBridgePort,
  readEndpoint,
  type SourceRef,
} from './switch.js';
import { flag, hexOrDecimal, integer, oneOf, seconds, text, usageError } from './value.js';

export const COMMON_TRACE_FLAGS = {
  fdb: repeated(
    'fdb',
    text('WHO=PORT[,static][,sticky]'),
    'the switch already knows WHO (a station or a MAC) on PORT: learned, or a static entry',
  ),
  after: valued('after', seconds(), 'let this much time pass after --fdb before the frame is sent (entries age)'),
  from: valued('from', text('STATION'), 'who sends the frame (default: the first station)'),
  dst: valued('dst', text('WHERE'), 'a station, a MAC, broadcast, ipv4-mcast[=GROUP], ipv6-mcast[=GROUP]'),
  src: valued('src', text('WHO'), "a station or a MAC (default: the sender's own MAC)"),
  vlan: valued('vlan', integer(0, 4095), 'add an 802.1Q tag with this VID'),
  ethertype: valued('ethertype', hexOrDecimal(0, 0xffff), 'e.g. 0x0800', '0x88b5'),
  hex: valued('hex', text('BYTES', 65536), 'the whole frame as hex instead of --dst/--src/--vlan/--ethertype'),
  json: onOff('json', 'one JSON object: the frame, every hop, and the copies per station'),
  help: HELP_FLAG,
} as const;

export const MACVLAN_FLAGS = {
  mode: valued('mode', oneOf(MACVLAN_MODE_NAMES), 'mode of the default endpoints a and b', 'vepa'),
  endpoint: repeated('endpoint', text('NAME=MODE[,key...]'), 'an endpoint (replaces the default ones)'),
  wire: valued('wire', oneOf(WIRES), 'what the lower is cabled to (hairpin: 802.1Qbg reflective relay)', 'switch'),
  hairpin: onOff('hairpin', 'short for --wire hairpin'),
  lowerUnicastFilter: onOff('lower-unicast-filter', 'the lower NIC has unicast filter slots (veth has none)'),
  bcCutoff: valued('bc-cutoff', integer(-1, 1 << 30), 'IFLA_MACVLAN_BC_CUTOFF', '1'),
  ...COMMON_TRACE_FLAGS,
} as const;

export const BRIDGE_FLAGS = {
  port: repeated('port', text('NAME[,key...]'), 'a bridge port (default: p1, p2, p3)'),
  ageing: valued('ageing', seconds(), 'ageing_time in seconds', String(BRIDGE_KEYS.ageing.fallback)),
  ...COMMON_TRACE_FLAGS,
} as const;

/** A macvlan endpoint for trace: its source list may name stations, resolved once the lab exists. */
export interface TraceEndpoint {
  readonly name: string;
  readonly config: ReturnType<typeof readEndpoint>;
}

export type TraceTopology =
  | {
      readonly kind: 'macvlan';
      /** null: the default endpoints a and b (a alone for passthru) in `mode`. */
      readonly endpoints: readonly TraceEndpoint[] | null;
      readonly mode: (typeof MACVLAN_MODE_NAMES)[number];
      readonly wire: Wire;
      readonly lowerUnicastFilter: boolean;
      readonly bcCutoff: number | undefined;
    }
  | { readonly kind: 'bridge'; readonly ports: readonly BridgePortConfig[]; readonly ageingMs: number | undefined };

export type TraceFrame =
  | { readonly hex: Uint8Array }
  | { readonly dst?: string; readonly src?: string; readonly vlan: number | null; readonly etherType: number };

export interface TraceFdbEntry {
  readonly who: string;
  readonly port: string;
  /** `bridge fdb add ... static`: never ages; it moves when WHO appears elsewhere, unless sticky. */
  readonly static: boolean;
  readonly sticky: boolean;
}

const FDB_KEYS = {
  static: key('static', flag, false, 'a static entry (never ages)'),
  sticky: key('sticky', flag, false, 'a sticky static entry (never moves)'),
} as const;

export interface TraceConfig {
  readonly topology: TraceTopology;
  readonly fdb: readonly TraceFdbEntry[];
  /** Seconds that pass between teaching the FDB and sending the frame. */
  readonly afterS: number;
  readonly from: string | undefined;
  readonly frame: TraceFrame;
  readonly json: boolean;
}

const NAME = /^[A-Za-z][A-Za-z0-9_-]{0,14}$/;

/** The typed configuration, or null when --help was asked for. */
export function readTraceConfig(argv: readonly string[]): TraceConfig | null {
  if (argv.includes('--help') || argv.includes('-h')) return null;
  const [kind, ...rest] = argv;
  if (kind === undefined || kind.startsWith('-')) {
    throw usageError('say which topology: tapyard trace macvlan ... or tapyard trace bridge ...');
  }
  if (kind === 'macvlan' || kind === 'bridge') refuseOtherTopology(kind, rest);
  if (kind === 'macvlan') {
    const { values, positionals } = parseCommandLine(rest, MACVLAN_FLAGS);
    noPositionals(positionals);
    if (values.hairpin && values.wire !== undefined && values.wire !== 'hairpin') {
      throw usageError(`--hairpin contradicts --wire ${values.wire}`);
    }
    const endpoints = values.endpoint.map(readTraceEndpoint);
    return common(values, {
      kind,
      endpoints: endpoints.length > 0 ? endpoints : null,
      mode: values.mode ?? 'vepa',
      wire: values.hairpin ? 'hairpin' : (values.wire ?? 'switch'),
      lowerUnicastFilter: values.lowerUnicastFilter,
      bcCutoff: values.bcCutoff,
    });
  }
  if (kind === 'bridge') {
    const { values, positionals } = parseCommandLine(rest, BRIDGE_FLAGS);
    noPositionals(positionals);
    const ports = (values.port.length > 0 ? values.port : ['p1', 'p2', 'p3']).map(readTraceBridgePort);
    return common(values, {
      kind,
      ports,
      ageingMs: values.ageing === undefined ? undefined : values.ageing * 1000,
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
    const flag = word.split('=')[0]!;
    if (!own.has(flag) && names(other).has(flag)) throw usageError(`${flag} is not a ${kind} option`);
  }
}

function noPositionals(positionals: readonly string[]): void {
  if (positionals.length > 0) throw usageError(`unexpected argument ${quote(positionals[0]!)}`);
}

function common(
  values: {
    fdb: readonly string[];
    after?: number;
    from?: string;
    dst?: string;
    src?: string;
    vlan?: number;
    ethertype?: number;
    hex?: string;
    json: boolean;
  },
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
  const frame: TraceFrame =
    values.hex !== undefined
      ? { hex: parseHex(values.hex) }
      : {
          ...(values.dst === undefined ? {} : { dst: values.dst }),
          ...(values.src === undefined ? {} : { src: values.src }),
          vlan: values.vlan ?? null,
          etherType: values.ethertype ?? 0x88b5,
        };
  return Object.freeze({ topology, fdb, afterS: values.after ?? 0, from: values.from, frame, json: values.json });
}

/** NAME=MODE[,key=value...]: the MODE is mode= of the endpoint keys forward uses. */
export function readTraceEndpoint(text: string): TraceEndpoint {
  const [head = '', ...parts] = text.split(',');
  const eq = head.indexOf('=');
  const name = eq < 0 ? head : head.slice(0, eq);
  if (!NAME.test(name)) throw usageError(`--endpoint ${quote(text)}: ${quote(name)} is not an endpoint name`);
  const o = new Options(`--endpoint ${name}`, eq < 0 ? parts : [`mode=${head.slice(eq + 1)}`, ...parts]);
  const config = readEndpoint(o);
  o.finish(Object.values(MACVLAN_ENDPOINT_KEYS).map((k) => k.name));
  return { name, config };
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
  return Uint8Array.from(clean.match(/../g)!.map((b) => Number.parseInt(b, 16)));
}

export type { SourceRef };

export function traceHelp(): string {
  const flags = (f: Flags) => flagHelp(f, 26).join('\n');
  const {
    fdb: _f,
    from: _fr,
    dst: _d,
    src: _s,
    vlan: _v,
    ethertype: _e,
    hex: _h,
    json: _j,
    help: _he,
    ...topologyFlags
  } = MACVLAN_FLAGS;
  return `usage: tapyard trace macvlan [TOPOLOGY] [FRAME] [--json]
       tapyard trace bridge  [TOPOLOGY] [FRAME] [--json]

Follow one frame through a model of the kernel's macvlan or bridge and print every hop, every
copy and the reason for each, using the same decisions as tapyard forward --switch.

macvlan (endpoints on one lower device; the host stack owns the lower):
${flags(topologyFlags)}
  endpoint keys (the same as forward --switch macvlan, role=endpoint; sources= may name stations):
${keyHelp(Object.values(MACVLAN_ENDPOINT_KEYS), '      ', 26).join('\n')}
  stations: each endpoint, host (the lower's own stack), ext (the external host)

bridge (a Linux bridge; host is the bridge device's own stack):
${flags({ port: BRIDGE_FLAGS.port, ageing: BRIDGE_FLAGS.ageing })}
  port keys (the same as forward --switch bridge, role=port):
${keyHelp(Object.values(BRIDGE_PORT_KEYS), '      ', 26).join('\n')}
  stations: one behind each port (named after it) and host

both (for macvlan, --fdb teaches the external switch, whose ports are lower and ext):
${flags(COMMON_TRACE_FLAGS)}

Examples:
  tapyard trace macvlan --mode private --hairpin --from a --dst broadcast
  tapyard trace macvlan --mode vepa --from a --dst b            # no hairpin: b never sees it
  tapyard trace macvlan --endpoint a=bridge --endpoint v=vepa --from a --dst ipv6-mcast
  tapyard trace macvlan --endpoint s=source,sources=ext,nodst --endpoint a=vepa --from ext --dst a
  tapyard trace macvlan --mode passthru --endpoint p=passthru --from ext --dst 02:00:00:00:99:99
  tapyard trace bridge --port p1,hairpin --port p2 --fdb p2=p1 --from p1 --dst p2
  tapyard trace bridge --port p1 --port p2 --port p3,flood=off --from p1 --dst 02:00:00:00:77:77

Exit status: 0 when traced, 2 on bad input.`;
}
