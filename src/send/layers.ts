// The layered frame grammar of `tapyard send`, for the frame to send and for the frames to
// expect back: layers from the outside in, separated by ` / `, each a name, maybe a value, and
// key=value options.
//
//   eth dst=ff:ff:ff:ff:ff:ff / vlan 15 / ipv4 src=10.0.0.1 dst=10.0.0.2 / udp dport=7 / text hello
//   icmp type=echo-reply                 (as a match: any frame with an ICMP echo reply)
//
// Layer names and values are the words `describe` prints (vlan, s-vlan, echo-reply, S.), keys
// are declared once here (the help is printed from them), and an unknown key gets the closest
// known one. `text` and `hex` carry the payload and take the rest of the line. This file reads
// text into typed layers; frame-spec.ts builds a frame from them and match.ts matches with them.

import { type Key, keyHelp, Options, optional } from '../grammar/keys.js';
import { quote } from '../grammar/quote.js';
import { flag, hexOrDecimal, integer, mac, usageError } from '../grammar/value.js';
import {
  arpOperation,
  hexBytes,
  icmpv4Type,
  icmpv6Type,
  ipv4Address,
  ipv6Address,
  parseHexBytes,
  tcpFlags,
} from './layer-values.js';

/** An on|off key that may be written bare (`dei`), meaning on. */
function flagKey(name: string, help: string): Key<boolean | undefined> {
  return { ...optional(name, flag, help), bare: true };
}

const u8 = integer(0, 255);
const u16 = integer(0, 0xffff);
const u32 = integer(0, 0xffff_ffff);
const l4port = integer(0, 0xffff);

const ETH_KEYS = {
  dst: optional('dst', mac, 'destination MAC (default ff:ff:ff:ff:ff:ff)'),
  src: optional('src', mac, "source MAC (default: a macvtap's or a pcap interface's own)"),
  type: optional('type', hexOrDecimal(0, 0xffff), 'EtherType, for a frame with no arp/ip layer (default 0x88b5)'),
  pad: optional('pad', integer(0, 65535), 'pad with zeros to this many bytes (60: the Ethernet minimum)'),
} as const;
const VLAN_KEYS = {
  pcp: optional('pcp', integer(0, 7), 'priority code point (default 0)'),
  dei: flagKey('dei', 'drop eligible indicator (default off)'),
  tpid: optional('tpid', hexOrDecimal(0x600, 0xffff), 'tag protocol id (default 0x8100 vlan, 0x88a8 s-vlan)'),
} as const;
const ARP_KEYS = {
  op: optional('op', arpOperation, 'operation (default request)'),
  sender: optional('sender', ipv4Address, "sender's IPv4 address (default 0.0.0.0, a probe)"),
  target: optional('target', ipv4Address, 'target IPv4 address (needed to send)'),
  senderMac: optional('sender-mac', mac, "sender's MAC (default eth src)"),
  targetMac: optional('target-mac', mac, 'target MAC (default 0 for a request, eth dst for a reply)'),
} as const;
const IPV4_KEYS = {
  src: optional('src', ipv4Address, 'source address (needed to send)'),
  dst: optional('dst', ipv4Address, 'destination address (needed to send)'),
  ttl: optional('ttl', u8, 'time to live (default 64)'),
  id: optional('id', hexOrDecimal(0, 0xffff), 'identification (default 0)'),
  tos: optional('tos', hexOrDecimal(0, 0xff), 'type of service: DSCP << 2 | ECN (default 0)'),
  df: flagKey('df', "don't fragment (default on, as Linux sends)"),
  proto: optional('proto', u8, 'protocol number, for a packet with no icmp/udp/tcp layer (default 59)'),
  opts: optional('opts', hexBytes, 'options as hex bytes, : between them allowed (40 at most; padded to 4-byte words)'),
} as const;
const IPV6_KEYS = {
  src: optional('src', ipv6Address, 'source address (needed to send)'),
  dst: optional('dst', ipv6Address, 'destination address (needed to send)'),
  hlim: optional('hlim', u8, 'hop limit (default 64; 255 for neighbour discovery, icmpv6 types 133-137)'),
  tc: optional('tc', hexOrDecimal(0, 0xff), 'traffic class (default 0)'),
  flow: optional('flow', hexOrDecimal(0, 0xfffff), 'flow label (default 0)'),
  nh: optional('nh', u8, 'next header, for a packet with no icmpv6/udp/tcp layer (default 59)'),
} as const;
function icmpKeys(types: typeof icmpv4Type) {
  return {
    type: optional(
      'type',
      types,
      'type: echo-request, echo-reply, unreachable, ... or a number (default echo-request)',
    ),
    code: optional('code', u8, 'code (default 0)'),
    id: optional('id', u16, 'echo identifier (default 0)'),
    seq: optional('seq', u16, 'echo sequence number (default 0)'),
  } as const;
}
const ICMP_KEYS = icmpKeys(icmpv4Type);
const ICMPV6_KEYS = icmpKeys(icmpv6Type);
const UDP_KEYS = {
  sport: optional('sport', l4port, 'source port (default 49152)'),
  dport: optional('dport', l4port, 'destination port (needed to send)'),
} as const;
const TCP_KEYS = {
  sport: optional('sport', l4port, 'source port (default 49152)'),
  dport: optional('dport', l4port, 'destination port (needed to send)'),
  flags: optional('flags', tcpFlags, "tcpdump's letters: S, S., P., F., R, none (default S)"),
  seq: optional('seq', u32, 'sequence number (default 0)'),
  ack: optional('ack', u32, 'acknowledgment number (default 0)'),
  win: optional('win', u16, 'window (default 65535)'),
  opts: optional('opts', hexBytes, 'options as hex bytes, : between them allowed (40 at most; padded to 4-byte words)'),
} as const;

type Given<K> = { -readonly [F in keyof K]: K[F] extends Key<infer T> ? T : never };

export type EthLayer = { kind: 'eth' } & Given<typeof ETH_KEYS>;
export type VlanLayer = { kind: 'vlan' | 's-vlan'; vid: number } & Given<typeof VLAN_KEYS>;
export type ArpLayer = { kind: 'arp' } & Given<typeof ARP_KEYS>;
export type Ipv4Layer = { kind: 'ipv4' } & Given<typeof IPV4_KEYS>;
export type Ipv6Layer = { kind: 'ipv6' } & Given<typeof IPV6_KEYS>;
export type IcmpLayer = { kind: 'icmp' | 'icmpv6' } & Given<typeof ICMP_KEYS>;
export type UdpLayer = { kind: 'udp' } & Given<typeof UDP_KEYS>;
export type TcpLayer = { kind: 'tcp' } & Given<typeof TCP_KEYS>;
export type PayloadLayer = { kind: 'text' | 'hex'; bytes: Uint8Array };
export type Layer =
  | EthLayer
  | VlanLayer
  | ArpLayer
  | Ipv4Layer
  | Ipv6Layer
  | IcmpLayer
  | UdpLayer
  | TcpLayer
  | PayloadLayer;
export type LayerKind = Layer['kind'];

/** Where a layer may stand: each layer's rank is above the one before it (tags may repeat). */
const Rank = { ETH: 0, TAG: 1, NETWORK: 2, TRANSPORT: 3, PAYLOAD: 4 } as const;

interface Declaration {
  readonly rank: number;
  readonly about: string;
  readonly keys: Readonly<Record<string, Key<unknown>>>;
  /** A value right after the name (`vlan 15`), or a payload that takes the rest of the line. */
  readonly value?: { shape: string };
}

export const LAYERS: Readonly<Record<LayerKind, Declaration>> = {
  eth: { rank: Rank.ETH, about: 'Ethernet II (may be left out: eth with its defaults)', keys: ETH_KEYS },
  vlan: { rank: Rank.TAG, about: 'an 802.1Q tag', keys: VLAN_KEYS, value: { shape: 'VID' } },
  's-vlan': {
    rank: Rank.TAG,
    about: 'an 802.1ad S-tag (before a vlan)',
    keys: VLAN_KEYS,
    value: { shape: 'VID' },
  },
  arp: { rank: Rank.NETWORK, about: 'ARP for IPv4 over Ethernet', keys: ARP_KEYS },
  ipv4: { rank: Rank.NETWORK, about: 'IPv4 (length and header checksum computed)', keys: IPV4_KEYS },
  ipv6: { rank: Rank.NETWORK, about: 'IPv6 (payload length computed)', keys: IPV6_KEYS },
  icmp: { rank: Rank.TRANSPORT, about: 'ICMP, over ipv4 (checksum computed)', keys: ICMP_KEYS },
  icmpv6: { rank: Rank.TRANSPORT, about: 'ICMPv6, over ipv6 (checksum computed)', keys: ICMPV6_KEYS },
  udp: { rank: Rank.TRANSPORT, about: 'UDP (length and checksum computed)', keys: UDP_KEYS },
  tcp: { rank: Rank.TRANSPORT, about: 'TCP (checksum computed)', keys: TCP_KEYS },
  text: {
    rank: Rank.PAYLOAD,
    about: 'payload: the rest of the line, as UTF-8',
    keys: {},
    value: { shape: 'WORDS...' },
  },
  hex: {
    rank: Rank.PAYLOAD,
    about: 'payload: the rest of the line, as hex bytes',
    keys: {},
    value: { shape: 'HEX...' },
  },
};

export const LAYER_KINDS = Object.keys(LAYERS) as LayerKind[];

/**
 * Read a layered spec. `what` names the spec in errors (`frame spec`, `--expect`): every error
 * is one sentence naming the layer and the token that is wrong.
 */
export function readLayers(text: string, what: string): Layer[] {
  const layers: Layer[] = [];
  const words = [...text.matchAll(/\S+/g)];
  if (words.length === 0)
    throw usageError(`the ${what} is empty (e.g. 'ipv4 src=10.0.0.1 dst=10.0.0.2 / udp dport=7')`);
  let rank = -1;
  let tags = 0;
  let network: LayerKind | null = null;
  for (let i = 0; i < words.length; ) {
    const nameWord = words[i]!;
    const name = nameWord[0];
    const where = `${what}, layer ${layers.length + 1} (${name})`;
    if (name === '/') throw usageError(`${what}: a layer is missing before the ${ordinal(layers.length + 1)} '/'`);
    if (!Object.hasOwn(LAYERS, name)) {
      throw usageError(`${what}: ${quote(name)} is not a layer (${LAYER_KINDS.join(', ')})`);
    }
    const kind = name as LayerKind;
    const declaration = LAYERS[kind];
    if (declaration.rank === Rank.PAYLOAD) {
      // The payload takes the rest of the line as it was written, slashes and spaces included.
      const rest = text.slice(nameWord.index + name.length).replace(/^\s+/, '');
      if (rest === '') throw usageError(`${where}: the payload is missing (${name} ${declaration.value!.shape})`);
      checkOrder(where, declaration.rank, rank);
      layers.push({ kind: kind as 'text' | 'hex', bytes: payload(kind, rest, where) });
      break;
    }
    let j = i + 1;
    while (j < words.length && words[j]![0] !== '/') j++;
    const args = words.slice(i + 1, j).map((w) => w[0]);
    if (j < words.length && j === words.length - 1) throw usageError(`${what}: a layer is missing after the last '/'`);
    i = j + 1;
    checkOrder(where, declaration.rank, rank);
    if (declaration.rank === Rank.TAG && ++tags > 2)
      throw usageError(`${where}: a frame carries at most two VLAN tags`);
    if (declaration.rank === Rank.TRANSPORT) checkTransport(where, kind, network);
    if (declaration.rank === Rank.NETWORK) network = kind;
    rank = declaration.rank;
    layers.push(readLayer(kind, args, where));
  }
  return layers;
}

function checkOrder(where: string, rank: number, previous: number): void {
  if (rank <= previous && !(rank === Rank.TAG && previous === Rank.TAG)) {
    throw usageError(`${where}: layers go from the outside in (eth / vlan / arp|ipv4|ipv6 / icmp|udp|tcp / text|hex)`);
  }
}

function checkTransport(where: string, kind: LayerKind, network: LayerKind | null): void {
  if (kind === 'icmp' && network === 'ipv6') throw usageError(`${where}: over ipv6 it is icmpv6`);
  if (kind === 'icmpv6' && network === 'ipv4') throw usageError(`${where}: over ipv4 it is icmp`);
  if (network === 'arp') throw usageError(`${where}: ARP carries no ${kind}`);
}

function payload(kind: LayerKind, rest: string, where: string): Uint8Array {
  if (kind === 'hex') return parseHexBytes(rest, `${where}: the payload`);
  return new TextEncoder().encode(rest);
}

function readLayer(kind: LayerKind, args: string[], where: string): Layer {
  const declaration = LAYERS[kind];
  let value: string | undefined;
  if (declaration.value !== undefined) {
    value = args.shift();
    if (value === undefined || value.includes('=')) {
      throw usageError(`${where}: the ${declaration.value.shape} is missing (${kind} ${declaration.value.shape} ...)`);
    }
  } else if (args[0] !== undefined && /^[^a-z]/.test(args[0])) {
    throw usageError(`${where}: ${quote(args[0])} is not key=value`);
  }
  const options = new Options(where, args);
  const given = options.take(declaration.keys) as Record<string, unknown>;
  options.finish(Object.values(declaration.keys).map((k) => k.name));
  const out = { kind, ...given } as Record<string, unknown>;
  if (kind === 'vlan' || kind === 's-vlan') out.vid = integer(0, 4095).parse(value!, `${where}: the VID`);
  return out as unknown as Layer;
}

function ordinal(n: number): string {
  return n === 1 ? 'first' : n === 2 ? 'second' : n === 3 ? 'third' : `${n}th`;
}

/** The grammar, for `tapyard send --help`: every layer and its keys, from the declarations. */
export function layerHelp(): string[] {
  const lines: string[] = [];
  for (const kind of LAYER_KINDS) {
    const d = LAYERS[kind];
    const head = d.value === undefined ? kind : `${kind} ${d.value.shape}`;
    lines.push(`  ${head.padEnd(21)} ${d.about}`);
    lines.push(...keyHelp(Object.values(d.keys), '      ', 24));
  }
  return lines;
}
