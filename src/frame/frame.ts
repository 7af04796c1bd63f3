// The whole-frame parse: Ethernet, then ARP / IPv4 / IPv6, then ICMP / UDP / TCP, through views
// that are allocated once with the Frame and re-pointed for every frame. This is what the
// forwarder, trace and describe read; nothing in `parse` allocates.

import { ArpView } from './arp.js';
import { EMPTY_BYTES } from './bytes.js';
import { checksumValid, ipv4PseudoHeaderSum, ipv6PseudoHeaderSum } from './checksum.js';
import type { FrameError } from './error.js';
import { EthernetView, EtherType } from './ethernet.js';
import { IcmpView } from './icmp.js';
import { IgmpView } from './igmp.js';
import { IpProtocol } from './ip-protocol.js';
import { Ipv4View } from './ipv4.js';
import { Ipv6View } from './ipv6.js';
import { TcpView } from './tcp.js';
import { UdpView } from './udp.js';

/** `network`, `ipProtocol` and `transport` when there is no such layer (or it did not parse). */
export const NONE = -1;

export class Frame {
  readonly ethernet = new EthernetView();
  readonly arp = new ArpView();
  readonly ipv4 = new Ipv4View();
  readonly ipv6 = new Ipv6View();
  readonly icmp = new IcmpView();
  readonly igmp = new IgmpView();
  readonly udp = new UdpView();
  readonly tcp = new TcpView();

  bytes: Uint8Array = EMPTY_BYTES;
  offset = 0;
  length = 0;
  /** EtherType of the network header that parsed (ARP, IPV4, IPV6), or NONE. */
  network = NONE;
  /** The IP protocol after the IPv4 header or the IPv6 extension headers, or NONE when not IP. */
  ipProtocol = NONE;
  /** IpProtocol of the transport header that parsed (ICMP, ICMPV6, IGMP, UDP, TCP), or NONE. Fragments
   *  are left unparsed: only reassembly knows the transport lengths. */
  transport = NONE;
  /** The bytes the transport checksum covers: the IP payload after any extension headers,
   *  cut to the UDP length for UDP. */
  transportOffset = 0;
  transportLength = 0;
  /** What `parse` returned: the first layer that failed, or null. Layers before it stay valid. */
  error: FrameError | null = null;
  /** The Ethernet header parsed (whatever happened above it). */
  ethernetValid = false;

  parse(bytes: Uint8Array, offset: number, length: number): FrameError | null {
    this.bytes = bytes;
    this.offset = offset;
    this.length = length;
    this.network = NONE;
    this.ipProtocol = NONE;
    this.transport = NONE;
    this.transportOffset = 0;
    this.transportLength = 0;
    let error = this.ethernet.parse(bytes, offset, length);
    this.ethernetValid = error === null;
    if (error === null) {
      const at = this.ethernet.payloadOffset;
      const rest = offset + length - at;
      switch (this.ethernet.etherType) {
        case EtherType.IPV4:
          error = this.parseIpv4(at, rest);
          break;
        case EtherType.IPV6:
          error = this.parseIpv6(at, rest);
          break;
        case EtherType.ARP:
          error = this.arp.parse(bytes, at, rest);
          if (error === null) this.network = EtherType.ARP;
          break;
      }
    }
    this.error = error;
    return error;
  }

  private parseIpv4(at: number, rest: number): FrameError | null {
    const ip = this.ipv4;
    const error = ip.parse(this.bytes, at, rest);
    if (error !== null) return error;
    this.network = EtherType.IPV4;
    this.ipProtocol = ip.protocol;
    this.transportOffset = ip.offset + ip.headerLength;
    this.transportLength = ip.totalLength - ip.headerLength;
    return ip.isFragment ? null : this.parseTransport();
  }

  private parseIpv6(at: number, rest: number): FrameError | null {
    const ip = this.ipv6;
    const error = ip.parse(this.bytes, at, rest);
    if (error !== null) return error;
    this.network = EtherType.IPV6;
    this.ipProtocol = ip.upperProtocol;
    this.transportOffset = ip.upperOffset;
    this.transportLength = ip.upperLength;
    return ip.isFragment ? null : this.parseTransport();
  }

  /** UDP and TCP here, the rest apart: V8 inlines this into `parse` only while it is short. */
  private parseTransport(): FrameError | null {
    const protocol = this.ipProtocol;
    let error: FrameError | null;
    if (protocol === IpProtocol.UDP) {
      error = this.udp.parse(this.bytes, this.transportOffset, this.transportLength);
      if (error === null) this.transportLength = this.udp.udpLength;
    } else if (protocol === IpProtocol.TCP) {
      error = this.tcp.parse(this.bytes, this.transportOffset, this.transportLength);
    } else return this.parseControl(protocol);
    if (error === null) this.transport = protocol;
    return error;
  }

  /** ICMP and IGMP over IPv4, ICMPv6 over IPv6; any other protocol is left unparsed. */
  private parseControl(protocol: number): FrameError | null {
    let error: FrameError | null;
    switch (protocol) {
      case IpProtocol.ICMP:
        if (this.network !== EtherType.IPV4) return null;
        error = this.icmp.parse(this.bytes, this.transportOffset, this.transportLength);
        break;
      case IpProtocol.ICMPV6:
        if (this.network !== EtherType.IPV6) return null;
        error = this.icmp.parse(this.bytes, this.transportOffset, this.transportLength);
        break;
      case IpProtocol.IGMP:
        if (this.network !== EtherType.IPV4) return null;
        error = this.igmp.parse(this.bytes, this.transportOffset, this.transportLength);
        break;
      default:
        return null;
    }
    if (error === null) this.transport = protocol;
    return error;
  }

  /** The transport pseudo-header sum; 0 for ICMPv4 and IGMP, which have none. Valid when `transport` is set. */
  pseudoHeaderSum(): number {
    if (this.network === EtherType.IPV6) {
      return ipv6PseudoHeaderSum(
        this.bytes,
        this.ipv6.offset,
        this.ipProtocol,
        this.transportLength,
        this.ipv6.finalDestinationOffset,
      );
    }
    if (this.ipProtocol === IpProtocol.ICMP || this.ipProtocol === IpProtocol.IGMP) return 0;
    return ipv4PseudoHeaderSum(
      this.bytes,
      this.ipv4.offset,
      this.ipProtocol,
      this.transportLength,
      this.ipv4.finalDestinationOffset,
    );
  }

  /** The transport checksum verifies; false when no transport header parsed. UDP over IPv4 with
   *  checksum 0 carries none and counts as valid (RFC 768). */
  transportChecksumValid(): boolean {
    if (this.transport === NONE) return false;
    if (this.transport === IpProtocol.UDP && this.network === EtherType.IPV4 && this.udp.checksum === 0) return true;
    return checksumValid(this.bytes, this.transportOffset, this.transportLength, this.pseudoHeaderSum());
  }
}
