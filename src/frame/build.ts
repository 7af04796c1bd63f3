// Crafting frames: for tests, the conformance suite and the benchmark generator, not the
// forwarding path (it allocates).
//
// `emitFrame` writes a FrameRepr — plain data for every layer, as `frameRepr` reads it back from a
// parsed Frame — and fills in every length, next-header and checksum, so that
// emitFrame(frameRepr(f)) gives f's bytes again. The friendlier FrameSpec (address text, defaults,
// `vlan: 10`, `flags: 'S.'`) that turns into a FrameRepr is in src/spec/build.ts: this floor holds bytes only.

import { TapyardError } from '../error.js';
import { ARP_LEN, type ArpRepr, arpRepr, emitArp } from './arp.js';
import { put16 } from './bytes.js';
import { checksumWithField, fold, ipv4PseudoHeaderSum, ipv6PseudoHeaderSum } from './checksum.js';
import { type EthernetRepr, EtherType, emitEthernet, ethernetHeaderLength, ethernetRepr } from './ethernet.js';
import { type Frame, NONE } from './frame.js';
import { emitIcmp, ICMP_HEADER_LEN, IcmpField, type IcmpRepr, icmpRepr } from './icmp.js';
import { emitIgmp, IgmpField, type IgmpRepr, igmpLength, igmpRepr } from './igmp.js';
import { IpProtocol } from './ip-protocol.js';
import { emitIpv4, type Ipv4Repr, ipv4FinalDestinationOffset, ipv4HeaderLength, ipv4Repr } from './ipv4.js';
import { emitIpv6, type Ipv6Repr, Ipv6View, ipv6HeaderLength, ipv6Repr } from './ipv6.js';
import { emitTcp, TcpField, type TcpRepr, tcpHeaderLength, tcpRepr } from './tcp.js';
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

/** The bytes of the ARP body or the IP header (with IPv6 extensions) a repr emits. */
export function networkHeaderLength(repr: FrameRepr): number {
  if (repr.arp) return ARP_LEN;
  if (repr.ipv4) return ipv4HeaderLength(repr.ipv4);
  if (repr.ipv6) return ipv6HeaderLength(repr.ipv6);
  return 0;
}

/** The bytes of the UDP/TCP/ICMP/IGMP header a repr emits. */
export function transportHeaderLength(repr: FrameRepr): number {
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
