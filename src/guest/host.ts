// A small userspace host that plays the VM behind a port: what a booted guest's stack answers.
// ARP requests for its address get a reply, and it announces itself with a gratuitous ARP when
// it starts (as a booting VM does); IPv4 and IPv6 echo requests get replies; IPv6 neighbour
// solicitations for its address get an advertisement; UDP to the echo port comes back; a TCP
// SYN gets a RST, as from a closed port. Everything it receives is counted by what it was, and
// what it does not answer is counted too.

import { EtherType } from '../frame/ethernet.js';
import { Frame } from '../frame/frame.js';
import { formatIpv4, type Ipv4Address, type Ipv6Address } from '../frame/ip-address.js';
import { IpProtocol } from '../frame/ip-protocol.js';
import { TcpFlag } from '../frame/tcp.js';
import { BROADCAST, isGroup, type Mac } from '../mac.js';
import { buildFrame } from '../spec/build.js';

export interface GuestHostConfig {
  readonly mac: Mac;
  readonly ipv4: Ipv4Address;
  readonly ipv6: Ipv6Address | null;
  /** The UDP port that echoes, or null. */
  readonly udpEcho: number | null;
}

/** What the guest received, by kind, and how much of it was answered. */
export interface GuestCounts {
  arp: number;
  icmp: number;
  icmpv6: number;
  udp: number;
  tcp: number;
  other: number;
  answered: number;
  unanswered: number;
}

const ICMP_ECHO_REQUEST = 8;
const ICMPV6_ECHO_REQUEST = 128;
const ICMPV6_NEIGHBOR_SOLICIT = 135;
const ICMPV6_NEIGHBOR_ADVERT = 136;
const ARP_REQUEST = 1;

export class GuestHost {
  readonly counts: GuestCounts = { arp: 0, icmp: 0, icmpv6: 0, udp: 0, tcp: 0, other: 0, answered: 0, unanswered: 0 };
  private readonly frame = new Frame();

  constructor(public config: GuestHostConfig) {}

  /** Answers to MAC from now on (the macvtap it stands behind changed its address). */
  setMac(mac: Mac): void {
    this.config = { ...this.config, mac };
  }

  /** The gratuitous ARP a booting guest sends: its address, announced to everyone. */
  announce(): Uint8Array {
    const { mac, ipv4 } = this.config;
    return buildFrame({
      eth: { dst: BROADCAST, src: mac },
      arp: { operation: 'request', senderIp: formatIpv4(ipv4), targetIp: formatIpv4(ipv4) },
      padTo: 60,
    });
  }

  /** One frame for the guest; the reply it sends, or null. */
  receive(bytes: Uint8Array, offset: number, length: number): Uint8Array | null {
    const f = this.frame;
    f.parse(bytes, offset, length);
    const reply = f.ethernetValid ? this.answer(f) : null;
    if (reply === null) this.counts.unanswered++;
    else this.counts.answered++;
    return reply;
  }

  private answer(f: Frame): Uint8Array | null {
    const eth = f.ethernet;
    const { mac } = this.config;
    const toMe = eth.dst === mac;
    if (!toMe && !isGroup(eth.dst)) {
      this.counts.other++;
      return null; // another station's unicast: a NIC's filter would have dropped it
    }
    if (f.network === EtherType.ARP) {
      this.counts.arp++;
      const arp = f.arp;
      if (arp.operation !== ARP_REQUEST || arp.targetIp !== this.config.ipv4) return null;
      return buildFrame({
        eth: { dst: arp.senderMac, src: mac },
        arp: {
          operation: 'reply',
          senderIp: formatIpv4(this.config.ipv4),
          targetMac: arp.senderMac,
          targetIp: formatIpv4(arp.senderIp),
        },
        padTo: 60,
      });
    }
    if (f.network === EtherType.IPV4) return this.ipv4(f);
    if (f.network === EtherType.IPV6) return this.ipv6(f);
    this.counts.other++;
    return null;
  }

  private ipv4(f: Frame): Uint8Array | null {
    const ip = f.ipv4;
    const back = {
      eth: { dst: f.ethernet.src, src: this.config.mac },
      ipv4: { src: formatIpv4(ip.dst), dst: formatIpv4(ip.src) },
    };
    const mine = ip.dst === this.config.ipv4;
    switch (f.transport) {
      case IpProtocol.ICMP:
        this.counts.icmp++;
        if (!mine || f.icmp.type !== ICMP_ECHO_REQUEST) return null;
        return buildFrame({
          ...back,
          icmp: this.echo(f, 'echo-reply'),
          payload: this.payload(f, f.icmp.payloadOffset, f.icmp.payloadLength),
          padTo: 60,
        });
      case IpProtocol.UDP:
        return this.udp(f, mine, back);
      case IpProtocol.TCP:
        return this.tcp(f, mine, back);
      default:
        this.counts.other++;
        return null;
    }
  }

  private ipv6(f: Frame): Uint8Array | null {
    const ip = f.ipv6;
    const own = this.config.ipv6;
    const dst = f.bytes.subarray(ip.dstOffset, ip.dstOffset + 16);
    const src = f.bytes.subarray(ip.srcOffset, ip.srcOffset + 16);
    const mine = own !== null && equal(dst, own);
    const back = {
      eth: { dst: f.ethernet.src, src: this.config.mac },
      ipv6: { src: own ?? dst, dst: src, hopLimit: 255 },
    };
    switch (f.transport) {
      case IpProtocol.ICMPV6: {
        this.counts.icmpv6++;
        const icmp = f.icmp;
        if (own === null) return null;
        if (icmp.type === ICMPV6_NEIGHBOR_SOLICIT) {
          const target = f.bytes.subarray(icmp.payloadOffset, icmp.payloadOffset + 16);
          if (target.length < 16 || !equal(target, own)) return null;
          // Solicited and override (RFC 4861 §4.4), the target, and our link-layer address.
          const option = new Uint8Array([2, 1, ...macBytes(this.config.mac)]);
          return buildFrame({
            ...back,
            ipv6: { ...back.ipv6, src: own },
            icmp: { type: ICMPV6_NEIGHBOR_ADVERT, code: 0, identifier: 0x6000, sequence: 0 },
            payload: new Uint8Array([...own, ...option]),
          });
        }
        if (!mine || icmp.type !== ICMPV6_ECHO_REQUEST) return null;
        return buildFrame({
          ...back,
          ipv6: { ...back.ipv6, hopLimit: 64 },
          icmp: this.echo(f, 'echo-reply'),
          payload: this.payload(f, icmp.payloadOffset, icmp.payloadLength),
        });
      }
      case IpProtocol.UDP:
        return this.udp(f, mine, { ...back, ipv6: { ...back.ipv6, hopLimit: 64 } });
      case IpProtocol.TCP:
        return this.tcp(f, mine, { ...back, ipv6: { ...back.ipv6, hopLimit: 64 } });
      default:
        this.counts.other++;
        return null;
    }
  }

  private udp(f: Frame, mine: boolean, back: object): Uint8Array | null {
    this.counts.udp++;
    const udp = f.udp;
    if (!mine || this.config.udpEcho === null || udp.dstPort !== this.config.udpEcho) return null;
    return buildFrame({
      ...(back as Pick<Parameters<typeof buildFrame>[0], 'eth'>),
      udp: { srcPort: udp.dstPort, dstPort: udp.srcPort },
      payload: this.payload(f, udp.payloadOffset, udp.payloadLength),
      padTo: 60,
    });
  }

  /** A closed port: a SYN gets RST|ACK acknowledging it (RFC 793, "if the connection does not exist"). */
  private tcp(f: Frame, mine: boolean, back: object): Uint8Array | null {
    this.counts.tcp++;
    const tcp = f.tcp;
    if (!mine || (tcp.flags & TcpFlag.SYN) === 0 || (tcp.flags & TcpFlag.ACK) !== 0) return null;
    return buildFrame({
      ...(back as Pick<Parameters<typeof buildFrame>[0], 'eth'>),
      tcp: {
        srcPort: tcp.dstPort,
        dstPort: tcp.srcPort,
        seq: 0,
        ack: (tcp.seq + 1) >>> 0,
        flags: TcpFlag.RST | TcpFlag.ACK,
        window: 0,
      },
      padTo: 60,
    });
  }

  private echo(f: Frame, type: 'echo-reply') {
    return { type, identifier: f.icmp.identifier, sequence: f.icmp.sequence };
  }

  private payload(f: Frame, offset: number, length: number): Uint8Array {
    return f.bytes.slice(offset, offset + length);
  }
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function macBytes(mac: Mac): number[] {
  return [40, 32, 24, 16, 8, 0].map((shift) => Math.floor(mac / 2 ** shift) % 256);
}
