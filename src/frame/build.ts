// Crafting frames: for tests, the conformance suite and the benchmark generator, not the
// forwarding path (it allocates).
//
// Two levels. `emitFrame` writes a FrameRepr — plain data for every layer, as `frameRepr` reads
// it back from a parsed Frame — and fills in every length, next-header and checksum, so that
// emitFrame(frameRepr(f)) gives f's bytes again. `buildFrame` takes a friendlier FrameSpec
// (address text, defaults, `vlan: 10`, `flags: 'S.'`) and turns it into a FrameRepr.

import { TapyardError } from '../error.js';
import { type Mac, parseMac } from '../mac.js';
import { ARP_LEN, ArpOperation, type ArpRepr, arpRepr, emitArp } from './arp.js';
import { put16 } from './bytes.js';
import { checksumWithField, fold, ipv4PseudoHeaderSum, ipv6PseudoHeaderSum } from './checksum.js';
import {
  type EthernetRepr,
  EtherType,
  emitEthernet,
  ethernetHeaderLength,
  ethernetRepr,
  type VlanTag,
} from './ethernet.js';
import { type Frame, NONE } from './frame.js';
import { emitIcmp, ICMP_HEADER_LEN, IcmpField, type IcmpRepr, Icmpv4Type, Icmpv6Type, icmpRepr } from './icmp.js';
import { emitIgmp, IgmpField, type IgmpRepr, igmpLength, igmpRepr } from './igmp.js';
import { IPV6_ADDRESS_LEN, type Ipv4Address, type Ipv6Address, parseIpv4, parseIpv6 } from './ip-address.js';
import { IpProtocol } from './ip-protocol.js';
import {
  emitIpv4,
  IPV4_MAX_HEADER_LEN,
  type Ipv4Repr,
  ipv4FinalDestinationOffset,
  ipv4HeaderLength,
  ipv4Repr,
} from './ipv4.js';
import {
  emitIpv6,
  IPV6_HEADER_LEN,
  type Ipv6ExtensionRepr,
  type Ipv6Repr,
  Ipv6View,
  ipv6HeaderLength,
  ipv6Repr,
} from './ipv6.js';
import { emitTcp, parseTcpFlags, TCP_MAX_HEADER_LEN, TcpField, type TcpRepr, tcpHeaderLength, tcpRepr } from './tcp.js';
import { emitUdp, UDP_HEADER_LEN, UdpField, type UdpRepr, udpRepr } from './udp.js';

/**
 * How the UDP/TCP checksum field is filled. `full`: the checksum. `partial`: the folded
 * pseudo-header sum, which is what a sender with checksum offload leaves in the frame
 * (CHECKSUM_PARTIAL; a virtio NEEDS_CSUM frame). ICMP is always complete: nobody offloads it.
 */
export type ChecksumMode = 'full' | 'partial';

export interface FrameRepr {
  ethernet: EthernetRepr;
  arp?: ArpRepr;
  ipv4?: Ipv4Repr;
  ipv6?: Ipv6Repr;
  icmp?: IcmpRepr;
  igmp?: IgmpRepr;
  udp?: UdpRepr;
  tcp?: TcpRepr;
  /** The bytes after the innermost header. */
  payload: Uint8Array;
  /** The bytes after the network packet (Ethernet padding). */
  trailer: Uint8Array;
  checksum?: ChecksumMode;
}

const EMPTY = new Uint8Array(0);

/** A parsed frame as plain data, layer by layer as far as it parsed; the rest is payload. One
 *  case does not come back byte for byte: a UDP datagram shorter than its IP payload keeps the
 *  surplus in `payload`, so emitting the repr writes a longer UDP length. */
export function frameRepr(frame: Frame): FrameRepr {
  const bytes = frame.bytes;
  const frameEnd = frame.offset + frame.length;
  if (!frame.ethernetValid) {
    throw new TapyardError('bad-frame', `A frame that does not parse as Ethernet (${frame.error}) has no repr.`);
  }
  const repr: FrameRepr = { ethernet: ethernetRepr(frame.ethernet), payload: EMPTY, trailer: EMPTY };
  let payloadStart = frame.ethernet.payloadOffset;
  let packetEnd = frameEnd;
  if (frame.network === EtherType.ARP) {
    repr.arp = arpRepr(frame.arp);
    payloadStart = packetEnd = frame.arp.offset + ARP_LEN;
  } else if (frame.network === EtherType.IPV4) {
    repr.ipv4 = ipv4Repr(frame.ipv4);
    payloadStart = frame.ipv4.payloadOffset;
    packetEnd = frame.ipv4.offset + frame.ipv4.totalLength;
  } else if (frame.network === EtherType.IPV6) {
    repr.ipv6 = ipv6Repr(frame.ipv6);
    payloadStart = frame.ipv6.upperOffset;
    packetEnd = frame.ipv6.upperOffset + frame.ipv6.upperLength;
  }
  if (frame.transport === IpProtocol.UDP) {
    repr.udp = udpRepr(frame.udp);
    payloadStart = frame.udp.payloadOffset;
  } else if (frame.transport === IpProtocol.TCP) {
    repr.tcp = tcpRepr(frame.tcp);
    payloadStart = frame.tcp.payloadOffset;
  } else if (frame.transport === IpProtocol.IGMP) {
    repr.igmp = igmpRepr(frame.igmp);
    payloadStart = frame.igmp.offset + igmpLength(repr.igmp);
  } else if (frame.transport !== NONE) {
    repr.icmp = icmpRepr(frame.icmp);
    payloadStart = frame.icmp.payloadOffset;
  }
  repr.payload = bytes.slice(payloadStart, packetEnd);
  repr.trailer = bytes.slice(packetEnd, frameEnd);
  return repr;
}

/** Write a whole frame: lengths, EtherType, protocol numbers and checksums are computed. */
export function emitFrame(repr: FrameRepr): Uint8Array {
  const l4Length = transportHeaderLength(repr) + repr.payload.length;
  const ipv4 = repr.ipv4 && {
    ...repr.ipv4,
    protocol: transportProtocol(repr, 4) ?? repr.ipv4.protocol,
    payloadLength: l4Length,
  };
  const ipv6 = repr.ipv6 && {
    ...repr.ipv6,
    protocol: transportProtocol(repr, 6) ?? repr.ipv6.protocol,
    payloadLength: l4Length,
  };
  const etherType = repr.arp ? EtherType.ARP : ipv4 ? EtherType.IPV4 : ipv6 ? EtherType.IPV6 : repr.ethernet.etherType;
  const ethernet = { ...repr.ethernet, etherType };
  const l3Length = networkHeaderLength(repr);
  const bytes = new Uint8Array(ethernetHeaderLength(ethernet) + l3Length + l4Length + repr.trailer.length);

  let at = emitEthernet(ethernet, bytes, 0);
  const l3Offset = at;
  if (repr.arp) at += emitArp(repr.arp, bytes, at);
  else if (ipv4) at += emitIpv4(ipv4, bytes, at);
  else if (ipv6) at += emitIpv6(ipv6, bytes, at);
  const l4Offset = at;
  if (repr.udp) at += emitUdp({ ...repr.udp, payloadLength: repr.payload.length }, bytes, at);
  else if (repr.tcp) at += emitTcp({ ...repr.tcp, payloadLength: repr.payload.length }, bytes, at);
  else if (repr.icmp) at += emitIcmp(repr.icmp, bytes, at);
  else if (repr.igmp) at += emitIgmp(repr.igmp, bytes, at);
  bytes.set(repr.payload, at);
  bytes.set(repr.trailer, at + repr.payload.length);

  const field = repr.udp
    ? UdpField.CHECKSUM
    : repr.tcp
      ? TcpField.CHECKSUM
      : repr.icmp
        ? IcmpField.CHECKSUM
        : repr.igmp
          ? IgmpField.CHECKSUM
          : -1;
  // ICMPv4 and IGMP have no pseudo-header and no checksum offload.
  const plain = repr.icmp !== undefined || repr.igmp !== undefined;
  if (field < 0 || !(ipv4 || ipv6)) return bytes;
  const protocol = ipv4 ? ipv4.protocol : ipv6!.protocol;
  let pseudo = 0;
  if (ipv4 && !plain) {
    const dst = ipv4FinalDestinationOffset(bytes, l3Offset, l4Offset - l3Offset);
    pseudo = ipv4PseudoHeaderSum(bytes, l3Offset, protocol, l4Length, dst);
  }
  if (ipv6) pseudo = ipv6PseudoHeaderSum(bytes, l3Offset, protocol, l4Length, finalDestinationOffset(bytes, l3Offset));
  let checksum: number;
  if (repr.checksum === 'partial' && !plain) checksum = fold(pseudo);
  else {
    checksum = checksumWithField(bytes, l4Offset, l4Length, field, pseudo);
    // A computed 0 goes out as 0xffff for UDP: a zero field means "no checksum" (RFC 768).
    if (repr.udp && checksum === 0) checksum = 0xffff;
  }
  put16(bytes, l4Offset + field, checksum);
  return bytes;
}

function networkHeaderLength(repr: FrameRepr): number {
  if (repr.arp) return ARP_LEN;
  if (repr.ipv4) return ipv4HeaderLength(repr.ipv4);
  if (repr.ipv6) return ipv6HeaderLength(repr.ipv6);
  return 0;
}

function transportHeaderLength(repr: FrameRepr): number {
  if (repr.udp) return UDP_HEADER_LEN;
  if (repr.tcp) return tcpHeaderLength(repr.tcp);
  if (repr.icmp) return ICMP_HEADER_LEN;
  if (repr.igmp) return igmpLength(repr.igmp);
  return 0;
}

function transportProtocol(repr: FrameRepr, ipVersion: 4 | 6): number | undefined {
  if (repr.udp) return IpProtocol.UDP;
  if (repr.tcp) return IpProtocol.TCP;
  if (repr.icmp) return ipVersion === 4 ? IpProtocol.ICMP : IpProtocol.ICMPV6;
  if (repr.igmp) return IpProtocol.IGMP;
  return undefined;
}

/** The pseudo-header destination of the IPv6 packet just written (a routing header may name it). */
function finalDestinationOffset(bytes: Uint8Array, ipOffset: number): number {
  const view = new Ipv6View();
  view.parse(bytes, ipOffset, bytes.length - ipOffset);
  return view.finalDestinationOffset;
}

// --- the friendly spec -------------------------------------------------------------------------

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
