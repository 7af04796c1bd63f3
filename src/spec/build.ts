// The friendly frame spec: `buildFrame({ eth: {...}, ipv4: {...}, udp: {...}, payload })` takes
// addresses as values or text, fills in defaults (`vlan: 10`, `flags: 'S.'`) and turns the spec into
// a FrameRepr that frame/build.ts emits. For tests, the conformance suite, the benchmark generator,
// the built-in guest host and `tapyard send`; not the forwarding path (it allocates). It sits on a
// floor above frame/ so that the bytes layer never reads text.

import { TapyardError } from '../error.js';
import { ArpOperation } from '../frame/arp.js';
import {
  type ChecksumMode,
  emitFrame,
  type FrameRepr,
  networkHeaderLength,
  transportHeaderLength,
} from '../frame/build.js';
import { put16 } from '../frame/bytes.js';
import { EtherType, ethernetHeaderLength, type VlanTag } from '../frame/ethernet.js';
import { Icmpv4Type, Icmpv6Type } from '../frame/icmp.js';
import { IPV6_ADDRESS_LEN, type Ipv4Address, type Ipv6Address } from '../frame/ip-address.js';
import { IpProtocol } from '../frame/ip-protocol.js';
import { IPV4_MAX_HEADER_LEN, ipv4HeaderLength } from '../frame/ipv4.js';
import { IPV6_HEADER_LEN, type Ipv6ExtensionRepr, ipv6HeaderLength } from '../frame/ipv6.js';
import { TCP_MAX_HEADER_LEN, tcpHeaderLength } from '../frame/tcp.js';
import { parseIpv4, parseIpv6 } from '../grammar/ip-address.js';
import { type Mac, parseMac } from '../mac.js';
import { parseTcpFlags } from './tcp-flags.js';

const EMPTY = new Uint8Array(0);

export interface VlanTagSpec {
  vid: number;
  pcp?: number;
  dei?: boolean;
  /** Default: 0x8100 for the innermost tag, 0x88a8 (802.1ad S-tag) for an outer one. */
  tpid?: number;
}

export interface FrameSpec {
  eth: {
    dst: Mac | string;
    src: Mac | string;
    /** Shorthand for one 802.1Q tag with this VLAN id. */
    vlan?: number;
    /** Outermost first. */
    tags?: VlanTagSpec[];
    /** For a frame without ARP or IP. */
    etherType?: number;
  };
  arp?: {
    operation?: 'request' | 'reply' | number;
    /** Default: eth.src. */
    senderMac?: Mac | string;
    senderIp: Ipv4Address | string;
    /** Default: 00:00:00:00:00:00 for a request, eth.dst for a reply. */
    targetMac?: Mac | string;
    targetIp: Ipv4Address | string;
  };
  ipv4?: {
    src: Ipv4Address | string;
    dst: Ipv4Address | string;
    ttl?: number;
    identification?: number;
    /** Default true, as Linux sets it on everything but fragments and some ICMP. */
    dontFragment?: boolean;
    moreFragments?: boolean;
    fragmentOffset?: number;
    dscp?: number;
    ecn?: number;
    options?: Uint8Array;
    /** For a packet without an ICMP/UDP/TCP header. */
    protocol?: number;
  };
  ipv6?: {
    src: Ipv6Address | string;
    dst: Ipv6Address | string;
    hopLimit?: number;
    trafficClass?: number;
    flowLabel?: number;
    extensions?: Ipv6ExtensionRepr[];
    protocol?: number;
  };
  /** ICMP over IPv4, ICMPv6 over IPv6. Default: an echo request. */
  icmp?: {
    type?: 'echo-request' | 'echo-reply' | number;
    code?: number;
    identifier?: number;
    sequence?: number;
  };
  udp?: { srcPort: number; dstPort: number };
  tcp?: {
    srcPort: number;
    dstPort: number;
    seq?: number;
    ack?: number;
    /** TcpFlag bits, or tcpdump letters: 'S', 'S.', 'P.', 'F.', 'R'. Default 'S'. */
    flags?: number | string;
    window?: number;
    urgent?: number;
    options?: Uint8Array;
  };
  /** Text is sent as UTF-8. */
  payload?: Uint8Array | string;
  checksum?: ChecksumMode;
  /** Pad with zeros to at least this many bytes (60: the Ethernet minimum without FCS). */
  padTo?: number;
}

function specError(message: string): TapyardError {
  return new TapyardError('bad-frame-spec', message);
}

function mac(value: Mac | string, what: string): Mac {
  if (typeof value === 'number') return value;
  const parsed = parseMac(value);
  if (parsed === null) throw specError(`The ${what} value '${value}' is not a MAC address.`);
  return parsed;
}

function ipv4Address(value: Ipv4Address | string, what: string): Ipv4Address {
  if (typeof value === 'number') return value;
  const parsed = parseIpv4(value);
  if (parsed === null) throw specError(`The ${what} value '${value}' is not an IPv4 address.`);
  return parsed;
}

function ipv6Address(value: Ipv6Address | string, what: string): Ipv6Address {
  if (typeof value !== 'string') {
    if (value.length !== IPV6_ADDRESS_LEN) throw specError(`The ${what} value has ${value.length} bytes, not 16.`);
    return value;
  }
  const parsed = parseIpv6(value);
  if (parsed === null) throw specError(`The ${what} value '${value}' is not an IPv6 address.`);
  return parsed;
}

function vlanTags(eth: FrameSpec['eth']): VlanTag[] {
  const specs = eth.tags ?? (eth.vlan === undefined ? [] : [{ vid: eth.vlan }]);
  return specs.map((tag, i) => {
    if (tag.vid < 0 || tag.vid > 0xfff) throw specError(`VLAN id ${tag.vid} is outside 0..4095.`);
    const inner = i === specs.length - 1;
    const tci = ((tag.pcp ?? 0) << 13) | (tag.dei ? 0x1000 : 0) | tag.vid;
    return { tpid: tag.tpid ?? (inner ? EtherType.VLAN : EtherType.QINQ), tci };
  });
}

function icmpType(type: 'echo-request' | 'echo-reply' | number | undefined, v6: boolean): number {
  if (type === undefined || type === 'echo-request') return v6 ? Icmpv6Type.ECHO_REQUEST : Icmpv4Type.ECHO_REQUEST;
  if (type === 'echo-reply') return v6 ? Icmpv6Type.ECHO_REPLY : Icmpv4Type.ECHO_REPLY;
  return type;
}

/** The FrameRepr a spec describes; throws a TapyardError for a spec that describes no frame. */
export function frameSpecRepr(spec: FrameSpec): FrameRepr {
  const layers3 = [spec.arp, spec.ipv4, spec.ipv6].filter((l) => l !== undefined).length;
  const layers4 = [spec.icmp, spec.udp, spec.tcp].filter((l) => l !== undefined).length;
  if (layers3 > 1) throw specError('A frame carries one of arp, ipv4 and ipv6, not several.');
  if (layers4 > 1) throw specError('A frame carries one of icmp, udp and tcp, not several.');
  if (layers4 === 1 && !spec.ipv4 && !spec.ipv6) {
    throw specError('An icmp, udp or tcp header needs ipv4 or ipv6 under it.');
  }
  const src = mac(spec.eth.src, 'eth.src');
  const dst = mac(spec.eth.dst, 'eth.dst');
  const payload = typeof spec.payload === 'string' ? new TextEncoder().encode(spec.payload) : (spec.payload ?? EMPTY);
  const repr: FrameRepr = {
    ethernet: { dst, src, tags: vlanTags(spec.eth), etherType: spec.eth.etherType ?? EtherType.EXPERIMENTAL },
    payload,
    trailer: EMPTY,
    checksum: spec.checksum ?? 'full',
  };
  if (spec.arp) repr.arp = arpFromSpec(spec.arp, src, dst);
  if (spec.ipv4) repr.ipv4 = ipv4FromSpec(spec.ipv4);
  if (spec.ipv6) {
    const s = spec.ipv6;
    for (const ext of s.extensions ?? []) checkExtension(ext);
    repr.ipv6 = {
      trafficClass: s.trafficClass ?? 0,
      flowLabel: s.flowLabel ?? 0,
      hopLimit: s.hopLimit ?? 64,
      src: ipv6Address(s.src, 'ipv6.src'),
      dst: ipv6Address(s.dst, 'ipv6.dst'),
      extensions: s.extensions ?? [],
      protocol: s.protocol ?? IpProtocol.NO_NEXT_HEADER,
      payloadLength: 0,
    };
  }
  if (spec.icmp) {
    const s = spec.icmp;
    repr.icmp = {
      type: icmpType(s.type, spec.ipv6 !== undefined),
      code: s.code ?? 0,
      identifier: s.identifier ?? 0,
      sequence: s.sequence ?? 0,
    };
  }
  if (spec.udp) repr.udp = { srcPort: spec.udp.srcPort, dstPort: spec.udp.dstPort, payloadLength: 0 };
  if (spec.tcp) repr.tcp = tcpFromSpec(spec.tcp);
  const l4Length = transportHeaderLength(repr) + payload.length;
  // IPv4 counts its header in the total length, IPv6 only the extension headers.
  const ipLength = repr.ipv4
    ? ipv4HeaderLength(repr.ipv4) + l4Length
    : repr.ipv6
      ? ipv6HeaderLength(repr.ipv6) - IPV6_HEADER_LEN + l4Length
      : 0;
  if (ipLength > 0xffff) throw specError(`A ${l4Length}-byte IP payload does not fit in the 16-bit length field.`);
  const unpadded = ethernetHeaderLength(repr.ethernet) + networkHeaderLength(repr) + l4Length;
  if (spec.padTo !== undefined && spec.padTo > unpadded) repr.trailer = new Uint8Array(spec.padTo - unpadded);
  return repr;
}

/** An ARP packet's fields. A sender MAC not given is the frame's SRC; a target MAC, 0 in a request, else DST. */
function arpFromSpec(a: NonNullable<FrameSpec['arp']>, src: Mac, dst: Mac): NonNullable<FrameRepr['arp']> {
  const op = a.operation ?? 'request';
  const operation = op === 'request' ? ArpOperation.REQUEST : op === 'reply' ? ArpOperation.REPLY : op;
  return {
    operation,
    senderMac: a.senderMac === undefined ? src : mac(a.senderMac, 'arp.senderMac'),
    senderIp: ipv4Address(a.senderIp, 'arp.senderIp'),
    targetMac:
      a.targetMac !== undefined ? mac(a.targetMac, 'arp.targetMac') : operation === ArpOperation.REQUEST ? 0 : dst,
    targetIp: ipv4Address(a.targetIp, 'arp.targetIp'),
  };
}

function ipv4FromSpec(s: NonNullable<FrameSpec['ipv4']>): NonNullable<FrameRepr['ipv4']> {
  const options = s.options ?? EMPTY;
  const fragmentOffset = s.fragmentOffset ?? 0;
  if (fragmentOffset % 8 !== 0 || fragmentOffset > 0xfff8) {
    throw specError(`Fragment offset ${fragmentOffset} is not a multiple of 8 below 65536.`);
  }
  const ipv4 = {
    dscp: s.dscp ?? 0,
    ecn: s.ecn ?? 0,
    identification: s.identification ?? 0,
    dontFragment: s.dontFragment ?? true,
    moreFragments: s.moreFragments ?? false,
    fragmentOffset,
    ttl: s.ttl ?? 64,
    protocol: s.protocol ?? IpProtocol.NO_NEXT_HEADER,
    src: ipv4Address(s.src, 'ipv4.src'),
    dst: ipv4Address(s.dst, 'ipv4.dst'),
    options,
    payloadLength: 0,
  };
  if (ipv4HeaderLength(ipv4) > IPV4_MAX_HEADER_LEN) {
    throw specError(`${options.length} bytes of IPv4 options do not fit (40 at most).`);
  }
  return ipv4;
}

function tcpFromSpec(s: NonNullable<FrameSpec['tcp']>): NonNullable<FrameRepr['tcp']> {
  const flags = typeof s.flags === 'string' ? parseTcpFlags(s.flags) : (s.flags ?? parseTcpFlags('S'));
  if (flags === null) throw specError(`TCP flags '${String(s.flags)}' use a letter other than S F P R U E W e '.'.`);
  const tcp = {
    srcPort: s.srcPort,
    dstPort: s.dstPort,
    seq: s.seq ?? 0,
    ack: s.ack ?? 0,
    flags,
    window: s.window ?? 65535,
    urgent: s.urgent ?? 0,
    options: s.options ?? EMPTY,
    payloadLength: 0,
  };
  if (tcpHeaderLength(tcp) > TCP_MAX_HEADER_LEN) {
    throw specError(`${tcp.options.length} bytes of TCP options do not fit (40 at most).`);
  }
  return tcp;
}

function checkExtension(ext: Ipv6ExtensionRepr): void {
  const length = 2 + ext.body.length;
  const fits =
    ext.protocol === IpProtocol.FRAGMENT
      ? length === 8
      : ext.protocol === IpProtocol.AH
        ? length % 8 === 0 && length >= 16 && length <= 1024
        : length % 8 === 0 && length <= 2048;
  if (!fits) throw specError(`An IPv6 extension header of type ${ext.protocol} cannot be ${length} bytes long.`);
}

/** Build a frame from a spec: `buildFrame({ eth: {...}, ipv4: {...}, udp: {...}, payload })`. */
export function buildFrame(spec: FrameSpec): Uint8Array {
  return emitFrame(frameSpecRepr(spec));
}

// --- IPv6 extension headers --------------------------------------------------------------------

/** PadN filling `length` bytes (RFC 8200 §4.2), or Pad1 for one byte. */
function padding(length: number): Uint8Array {
  if (length === 0) return EMPTY;
  if (length === 1) return new Uint8Array([0]);
  const pad = new Uint8Array(length);
  pad[0] = 1;
  pad[1] = length - 2;
  return pad;
}

function optionsBody(options: Uint8Array): Uint8Array {
  const length = Math.ceil((options.length + 2) / 8) * 8 - 2;
  const body = new Uint8Array(length);
  body.set(options);
  body.set(padding(length - options.length), options.length);
  return body;
}

/** Extension headers as plain data, for specs and tests. */
export const Ipv6Extension = {
  /** Hop-by-hop options: the TLVs given, padded with PadN (default: padding only). */
  hopByHop(options: Uint8Array = EMPTY): Ipv6ExtensionRepr {
    return { protocol: IpProtocol.HOP_BY_HOP, body: optionsBody(options) };
  },
  destinationOptions(options: Uint8Array = EMPTY): Ipv6ExtensionRepr {
    return { protocol: IpProtocol.DESTINATION_OPTIONS, body: optionsBody(options) };
  },
  /** A routing header of a type whose data is an address list (0, 2, 4: RFC 8754 SRH). */
  routing(type: number, segmentsLeft: number, addresses: Array<Ipv6Address | string>): Ipv6ExtensionRepr {
    const body = new Uint8Array(6 + IPV6_ADDRESS_LEN * addresses.length);
    body[0] = type;
    body[1] = segmentsLeft;
    // SRH: last entry; other types keep these four bytes reserved.
    if (type === 4) body[2] = addresses.length - 1;
    addresses.forEach((a, i) => {
      body.set(ipv6Address(a, 'routing address'), 6 + IPV6_ADDRESS_LEN * i);
    });
    return { protocol: IpProtocol.ROUTING, body };
  },
  /** `offset` in bytes, a multiple of 8. */
  fragment(offset: number, more: boolean, identification: number): Ipv6ExtensionRepr {
    const body = new Uint8Array(6);
    put16(body, 0, (offset & 0xfff8) | (more ? 1 : 0));
    put16(body, 2, identification >>> 16);
    put16(body, 4, identification & 0xffff);
    return { protocol: IpProtocol.FRAGMENT, body };
  },
  /** AH (RFC 4302) with an ICV of `icv.length` bytes; 12 + icv.length must be a multiple of 8. */
  authentication(spi: number, sequence: number, icv: Uint8Array): Ipv6ExtensionRepr {
    const body = new Uint8Array(10 + icv.length);
    put16(body, 2, spi >>> 16);
    put16(body, 4, spi & 0xffff);
    put16(body, 6, sequence >>> 16);
    put16(body, 8, sequence & 0xffff);
    body.set(icv, 10);
    return { protocol: IpProtocol.AH, body };
  },
} as const;
