// A one-line summary of a frame in the spirit of `tcpdump -e -n`, for trace, logs and test
// failures:
//
//   02:00:00:00:00:01 > ff:ff:ff:ff:ff:ff vlan 10 ARP who-has 10.77.0.2 tell 10.77.0.1
//   02:00:00:00:00:01 > 02:00:00:00:00:02 IPv4 10.77.0.1 > 10.77.0.2 ICMP echo request id 7 seq 1
//   02:00:00:00:00:01 > 33:33:00:00:00:fb IPv6 fd77::1.5353 > ff02::fb.5353 UDP len 37
//   runt (9 bytes)
//
// A layer that does not parse ends the line with `<layer> malformed: <FrameError> (<n> bytes)`.
// It builds strings, so it is for people, not for the forwarding path.

import { formatMac } from '../mac.js';
import { ArpOperation } from './arp.js';
import { FrameError } from './error.js';
import { EtherType } from './ethernet.js';
import { Frame, NONE } from './frame.js';
import { Icmpv4Type, Icmpv6Type } from './icmp.js';
import { IgmpType } from './igmp.js';
import { formatIpv4, formatIpv6 } from './ip-address.js';
import { IpProtocol } from './ip-protocol.js';
import { ipv6ExtensionLength } from './ipv6.js';
import { formatTcpFlags, TcpFlag } from './tcp.js';

const frame = new Frame();

export function describe(bytes: Uint8Array, offset: number, length: number): string {
  const error = frame.parse(bytes, offset, length);
  if (error === FrameError.RUNT) return `runt (${length} bytes)`;
  const eth = frame.ethernet;
  let line = `${formatMac(eth.src)} > ${formatMac(eth.dst)}`;
  if (!frame.ethernetValid) return `${line} malformed: ${error} (${length} bytes)`;
  if (eth.tagCount > 0) line += ` ${vlanText(eth.outerTpid, eth.outerTci)}`;
  if (eth.tagCount > 1) line += ` ${vlanText(eth.innerTpid, eth.innerTci)}`;
  const rest = eth.payloadLength;
  switch (eth.etherType) {
    case EtherType.ARP:
      return `${line} ${arpText(rest)}`;
    case EtherType.IPV4:
      return `${line} ${ipv4Text(rest)}`;
    case EtherType.IPV6:
      return `${line} ${ipv6Text(rest)}`;
    default:
      // Below 0x600 the field is an 802.3 length, not a type.
      if (eth.etherType < 0x600) return `${line} 802.3 len ${eth.etherType}`;
      return `${line} ethertype 0x${eth.etherType.toString(16).padStart(4, '0')} len ${rest}`;
  }
}

function malformed(layer: string, available: number): string {
  return `${layer} malformed: ${frame.error} (${available} bytes)`;
}

/** `vlan 15`, `s-vlan 100 p 5`: one tag as a frame's line shows it (trace's hops show it too). */
export function vlanText(tpid: number, tci: number): string {
  const name = tpid === EtherType.VLAN ? 'vlan' : 's-vlan';
  const pcp = tci >>> 13;
  return `${name} ${tci & 0xfff}${pcp === 0 ? '' : ` p ${pcp}`}`;
}

function arpText(available: number): string {
  if (frame.network !== EtherType.ARP) return malformed('ARP', available);
  const arp = frame.arp;
  switch (arp.operation) {
    case ArpOperation.REQUEST:
      return `ARP who-has ${formatIpv4(arp.targetIp)} tell ${formatIpv4(arp.senderIp)}`;
    case ArpOperation.REPLY:
      return `ARP reply ${formatIpv4(arp.senderIp)} is-at ${formatMac(arp.senderMac)}`;
    default:
      return `ARP op ${arp.operation} ${formatIpv4(arp.senderIp)} > ${formatIpv4(arp.targetIp)}`;
  }
}

function ipv4Text(available: number): string {
  if (frame.network !== EtherType.IPV4) return malformed('IPv4', available);
  const ip = frame.ipv4;
  const src = formatIpv4(ip.src);
  const dst = formatIpv4(ip.dst);
  if (ip.isFragment) {
    const more = ip.moreFragments ? '+' : '';
    const fragment = `${ip.identification}:${ip.payloadLength}@${ip.fragmentOffset}${more}`;
    return `IPv4 ${src} > ${dst} ${protocolName(ip.protocol)} frag ${fragment}`;
  }
  return `IPv4 ${transportText(src, dst, 'IPv4')}`;
}

const EXTENSION_NAMES: Record<number, string> = {
  [IpProtocol.HOP_BY_HOP]: 'HBH',
  [IpProtocol.DESTINATION_OPTIONS]: 'DSTOPT',
  [IpProtocol.ROUTING]: 'RT',
  [IpProtocol.FRAGMENT]: 'frag',
  [IpProtocol.AH]: 'AH',
};

function ipv6Text(available: number): string {
  if (frame.network !== EtherType.IPV6) return malformed('IPv6', available);
  const ip = frame.ipv6;
  const src = formatIpv6(ip.bytes, ip.srcOffset);
  const dst = formatIpv6(ip.bytes, ip.dstOffset);
  // The extension headers, in order, as tcpdump names them.
  let chain = '';
  let next = ip.nextHeader;
  for (let at = ip.payloadOffset; at < ip.upperOffset; ) {
    // A fragment says so at the end of the line, with its id, length and offset.
    if (next !== IpProtocol.FRAGMENT || !ip.isFragment) chain += ` ${EXTENSION_NAMES[next]}`;
    if (next === IpProtocol.ROUTING) chain += `${ip.bytes[at + 2]}`;
    const length = ipv6ExtensionLength(ip.bytes, at, next);
    next = ip.bytes[at]!;
    at += length;
  }
  if (ip.isFragment) {
    const more = ip.moreFragments ? '+' : '';
    const fragment = `${ip.fragmentIdentification}:${ip.upperLength}@${ip.fragmentOffset}${more}`;
    return `IPv6 ${src} > ${dst}${chain} ${protocolName(ip.upperProtocol)} frag ${fragment}`;
  }
  return `IPv6 ${transportText(src, dst, 'IPv6', chain)}`;
}

function protocolName(protocol: number): string {
  switch (protocol) {
    case IpProtocol.ICMP:
      return 'ICMP';
    case IpProtocol.ICMPV6:
      return 'ICMPv6';
    case IpProtocol.IGMP:
      return 'IGMP';
    case IpProtocol.UDP:
      return 'UDP';
    case IpProtocol.TCP:
      return 'TCP';
    case IpProtocol.ESP:
      return 'ESP';
    case IpProtocol.NO_NEXT_HEADER:
      return 'no-next-header';
    default:
      return `proto ${protocol}`;
  }
}

/** `a.p > b.q UDP len n`, `a > b ICMP echo request id 7 seq 1`, or the malformed transport. */
function transportText(src: string, dst: string, ipName: string, chain = ''): string {
  const protocol = frame.ipProtocol;
  const name = protocolName(protocol);
  if (frame.transport === NONE) {
    const known = protocol === IpProtocol.UDP || protocol === IpProtocol.TCP;
    const icmp =
      (protocol === IpProtocol.ICMP && ipName === 'IPv4') || (protocol === IpProtocol.ICMPV6 && ipName === 'IPv6');
    if (frame.error !== null && (known || icmp)) {
      return `${src} > ${dst}${chain} ${malformed(name, frame.transportLength)}`;
    }
    return `${src} > ${dst}${chain} ${name} len ${frame.transportLength}`;
  }
  switch (frame.transport) {
    case IpProtocol.UDP: {
      const udp = frame.udp;
      return `${src}.${udp.srcPort} > ${dst}.${udp.dstPort}${chain} UDP len ${udp.payloadLength}`;
    }
    case IpProtocol.TCP: {
      const tcp = frame.tcp;
      const ack = (tcp.flags & TcpFlag.ACK) !== 0 ? ` ack ${tcp.ack}` : '';
      return (
        `${src}.${tcp.srcPort} > ${dst}.${tcp.dstPort}${chain} TCP [${formatTcpFlags(tcp.flags)}] ` +
        `seq ${tcp.seq}${ack} win ${tcp.window} len ${tcp.payloadLength}`
      );
    }
    case IpProtocol.IGMP:
      return `${src} > ${dst} IGMP ${igmpText()}`;
    default:
      return `${src} > ${dst}${chain} ${name} ${icmpText(frame.transport === IpProtocol.ICMPV6)}`;
  }
}

/** As tcpdump says it: `v2 report 239.1.1.1`, `leave 239.1.1.1`, `v3 report, 1 group record(s)`. */
function igmpText(): string {
  const igmp = frame.igmp;
  const group = formatIpv4(igmp.group);
  switch (igmp.type) {
    case IgmpType.QUERY:
      return igmp.group === 0 ? 'query' : `query ${group}`;
    case IgmpType.V1_REPORT:
      return `v1 report ${group}`;
    case IgmpType.V2_REPORT:
      return `v2 report ${group}`;
    case IgmpType.LEAVE:
      return `leave ${group}`;
    case IgmpType.V3_REPORT:
      return `v3 report, ${igmp.recordCount} group record(s)`;
    default:
      return `type 0x${igmp.type.toString(16)}`;
  }
}

const ICMPV4_NAMES: Record<number, string> = {
  [Icmpv4Type.ECHO_REPLY]: 'echo reply',
  [Icmpv4Type.DESTINATION_UNREACHABLE]: 'destination unreachable',
  [Icmpv4Type.REDIRECT]: 'redirect',
  [Icmpv4Type.ECHO_REQUEST]: 'echo request',
  [Icmpv4Type.TIME_EXCEEDED]: 'time exceeded',
  [Icmpv4Type.PARAMETER_PROBLEM]: 'parameter problem',
};

const ICMPV6_NAMES: Record<number, string> = {
  [Icmpv6Type.DESTINATION_UNREACHABLE]: 'destination unreachable',
  [Icmpv6Type.PACKET_TOO_BIG]: 'packet too big',
  [Icmpv6Type.TIME_EXCEEDED]: 'time exceeded',
  [Icmpv6Type.PARAMETER_PROBLEM]: 'parameter problem',
  [Icmpv6Type.ECHO_REQUEST]: 'echo request',
  [Icmpv6Type.ECHO_REPLY]: 'echo reply',
  [Icmpv6Type.MLD_QUERY]: 'multicast listener query',
  [Icmpv6Type.MLD_REPORT]: 'multicast listener report',
  [Icmpv6Type.MLD_DONE]: 'multicast listener done',
  [Icmpv6Type.ROUTER_SOLICITATION]: 'router solicitation',
  [Icmpv6Type.ROUTER_ADVERTISEMENT]: 'router advertisement',
  [Icmpv6Type.NEIGHBOR_SOLICITATION]: 'neighbor solicitation',
  [Icmpv6Type.NEIGHBOR_ADVERTISEMENT]: 'neighbor advertisement',
  [Icmpv6Type.REDIRECT]: 'redirect',
  [Icmpv6Type.MLDV2_REPORT]: 'multicast listener report v2',
};

/** Neighbor discovery messages carry their target right after the 8-byte header (RFC 4861). */
const ND_TARGET_OFFSET = 8;

function icmpText(v6: boolean): string {
  const icmp = frame.icmp;
  const type = icmp.type;
  const name = (v6 ? ICMPV6_NAMES : ICMPV4_NAMES)[type];
  const echo = v6
    ? type === Icmpv6Type.ECHO_REQUEST || type === Icmpv6Type.ECHO_REPLY
    : type === Icmpv4Type.ECHO_REQUEST || type === Icmpv4Type.ECHO_REPLY;
  if (echo) return `${name} id ${icmp.identifier} seq ${icmp.sequence}`;
  const hasTarget = v6 && (type === Icmpv6Type.NEIGHBOR_SOLICITATION || type === Icmpv6Type.NEIGHBOR_ADVERTISEMENT);
  if (hasTarget && icmp.length >= ND_TARGET_OFFSET + 16) {
    const target = formatIpv6(icmp.bytes, icmp.offset + ND_TARGET_OFFSET);
    return type === Icmpv6Type.NEIGHBOR_SOLICITATION ? `${name} who-has ${target}` : `${name} tgt is ${target}`;
  }
  if (name === undefined) return `type ${type} code ${icmp.code}`;
  return icmp.code === 0 ? name : `${name} code ${icmp.code}`;
}
