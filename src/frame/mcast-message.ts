// Whole frames for the messages multicast snooping reads: IGMP and MLD reports, leaves and
// queries, and UDP data to a group, as hosts send them (IGMP with a router alert option, MLD
// behind a hop-by-hop header carrying one, TTL / hop limit 1). `tapyard trace` sends these
// through the bridge model; the conformance tests send the same bytes through a Linux bridge.

import { ipv4MulticastMac, ipv6MulticastMac, type Mac } from '../mac.js';
import { EMPTY_BYTES, u32 } from './bytes.js';
import { checksumWithField, ipv6PseudoHeaderSum } from './checksum.js';
import { EtherType, emitEthernet } from './ethernet.js';
import { emitIgmp, GroupRecordType, IgmpField, type IgmpRepr, IgmpType, igmpLength } from './igmp.js';
import { IPV6_ADDRESS_LEN, type Ipv4Address, type Ipv6Address } from './ip-address.js';
import { IpProtocol } from './ip-protocol.js';
import { emitIpv4 } from './ipv4.js';
import { emitIpv6, IPV6_HEADER_LEN } from './ipv6.js';
import { emitMld, MldField, type MldRepr, MldType, mldLength } from './mld.js';
import { emitUdp, UDP_HEADER_LEN, UdpField } from './udp.js';

/** What to send: v4 groups are numbers, v6 groups 16 bytes. */
export type McastMessageKind = 'data' | 'report' | 'report3' | 'leave' | 'leave3' | 'query';
export const MCAST_MESSAGE_KINDS: readonly McastMessageKind[] = [
  'data',
  'report',
  'report3',
  'leave',
  'leave3',
  'query',
];

export interface McastMessage {
  kind: McastMessageKind;
  /** The group (for a query: 0 or :: for a general one). */
  group: Ipv4Address | Ipv6Address;
  /** A query's max response time, in milliseconds (default 1 s). */
  maxRespMs?: number;
}

const MIN_FRAME = 60;
const ALL_HOSTS = 0xe000_0001;
const ALL_ROUTERS = 0xe000_0002;
const IGMPV3_REPORTS = 0xe000_0016;
/** IP option Router Alert (RFC 2113), value 0: what Linux puts on every IGMP message. */
const ROUTER_ALERT = Uint8Array.of(0x94, 0x04, 0x00, 0x00);
/** A hop-by-hop body (after next/len): Router Alert, MLD (RFC 2711), then a PadN of 2. */
const MLD_HOP_BY_HOP = Uint8Array.of(0x05, 0x02, 0x00, 0x00, 0x01, 0x00);
const ipv6 = (text: number[]) => Uint8Array.from(text);
const ALL_NODES6 = ipv6([0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
const ALL_ROUTERS6 = ipv6([0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]);
const MLDV2_REPORTS = ipv6([0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x16]);

export function isIpv6Group(group: Ipv4Address | Ipv6Address): group is Ipv6Address {
  return typeof group !== 'number';
}

/** The link-local address a station with this MAC uses (fe80:: and the MAC, not EUI-64: any
 *  link-local address does). */
export function linkLocalFor(mac: Mac): Ipv6Address {
  const a = new Uint8Array(IPV6_ADDRESS_LEN);
  a[0] = 0xfe;
  a[1] = 0x80;
  for (let i = 0; i < 6; i++) a[10 + i] = Math.floor(mac / 2 ** (8 * (5 - i))) & 0xff;
  return a;
}

/** The Ethernet group an IP group maps to. */
export function groupMac(group: Ipv4Address | Ipv6Address): Mac {
  if (!isIpv6Group(group)) return ipv4MulticastMac(group);
  return ipv6MulticastMac(u32(group, 12));
}

/**
 * The frame for `message` from a station with MAC `src` (IPv4 source 192.0.2.N from the MAC's
 * last byte; IPv6 source its link-local address). `payload` is appended inside the IP payload,
 * checksummed with the message (the conformance tests' marks travel there); `dst` overrides
 * the destination MAC.
 */
export function mcastMessageFrame(
  message: McastMessage,
  src: Mac,
  payload: Uint8Array = EMPTY_BYTES,
  dst?: Mac,
): Uint8Array {
  return isIpv6Group(message.group)
    ? ipv6Frame(message, message.group, src, payload, dst)
    : ipv4Frame(message, message.group, src, payload, dst);
}

function ipv4Frame(m: McastMessage, group: Ipv4Address, src: Mac, payload: Uint8Array, dst?: Mac): Uint8Array {
  let upper: IgmpRepr | null = null;
  let to = group;
  const record = (type: number) => ({ type, group, sources: [] });
  switch (m.kind) {
    case 'data':
      break;
    case 'report':
      upper = { type: IgmpType.V2_REPORT, maxRespCode: 0, group, records: [], v3Query: false };
      break;
    case 'leave':
      upper = { type: IgmpType.LEAVE, maxRespCode: 0, group, records: [], v3Query: false };
      to = ALL_ROUTERS;
      break;
    case 'report3':
    case 'leave3': {
      const type = m.kind === 'report3' ? GroupRecordType.CHANGE_TO_EXCLUDE : GroupRecordType.CHANGE_TO_INCLUDE;
      upper = { type: IgmpType.V3_REPORT, maxRespCode: 0, group: 0, records: [record(type)], v3Query: false };
      to = IGMPV3_REPORTS;
      break;
    }
    case 'query':
      upper = {
        type: IgmpType.QUERY,
        maxRespCode: Math.max(1, Math.round((m.maxRespMs ?? 1000) / 100)),
        group,
        records: [],
        v3Query: false,
      };
      if (group === 0) to = ALL_HOSTS;
      break;
  }
  const upperLength = (upper === null ? UDP_HEADER_LEN : igmpLength(upper)) + payload.length;
  const options = upper === null ? EMPTY_BYTES : ROUTER_ALERT;
  const ipLength = 20 + options.length + upperLength;
  const bytes = new Uint8Array(Math.max(MIN_FRAME, 14 + ipLength));
  let at = emitEthernet({ dst: dst ?? groupMac(to), src, tags: [], etherType: EtherType.IPV4 }, bytes, 0);
  at += emitIpv4(
    {
      dscp: upper === null ? 0 : 0x30,
      ecn: 0,
      identification: 0,
      dontFragment: true,
      moreFragments: false,
      fragmentOffset: 0,
      ttl: 1,
      protocol: upper === null ? IpProtocol.UDP : IpProtocol.IGMP,
      src: (0xc0_00_02_00 | (src % 256)) >>> 0,
      dst: to,
      options,
      payloadLength: upperLength,
    },
    bytes,
    at,
  );
  if (upper === null) {
    emitUdp({ srcPort: 5000, dstPort: 5000, payloadLength: payload.length }, bytes, at);
    bytes.set(payload, at + UDP_HEADER_LEN);
    // UDP over IPv4 may carry no checksum (0); the snooping bridge does not look.
  } else {
    const length = emitIgmp(upper, bytes, at);
    bytes.set(payload, at + length);
    const sum = checksumWithField(bytes, at, upperLength, IgmpField.CHECKSUM, 0);
    bytes[at + IgmpField.CHECKSUM] = sum >>> 8;
    bytes[at + IgmpField.CHECKSUM + 1] = sum & 0xff;
  }
  return bytes;
}

function ipv6Frame(m: McastMessage, group: Ipv6Address, src: Mac, payload: Uint8Array, dst?: Mac): Uint8Array {
  let upper: MldRepr | null = null;
  let to = group;
  const none = new Uint8Array(IPV6_ADDRESS_LEN);
  const record = (type: number) => ({ type, address: group, sources: [] });
  switch (m.kind) {
    case 'data':
      break;
    case 'report':
      upper = { type: MldType.V1_REPORT, maxDelayCode: 0, address: group, records: [], v2Query: false };
      break;
    case 'leave':
      upper = { type: MldType.DONE, maxDelayCode: 0, address: group, records: [], v2Query: false };
      to = ALL_ROUTERS6;
      break;
    case 'report3':
    case 'leave3': {
      const type = m.kind === 'report3' ? GroupRecordType.CHANGE_TO_EXCLUDE : GroupRecordType.CHANGE_TO_INCLUDE;
      upper = { type: MldType.V2_REPORT, maxDelayCode: 0, address: none, records: [record(type)], v2Query: false };
      to = MLDV2_REPORTS;
      break;
    }
    case 'query':
      upper = { type: MldType.QUERY, maxDelayCode: m.maxRespMs ?? 1000, address: group, records: [], v2Query: false };
      if (group.every((b) => b === 0)) to = ALL_NODES6;
      break;
  }
  const upperLength = (upper === null ? UDP_HEADER_LEN : mldLength(upper)) + payload.length;
  const extensions = upper === null ? [] : [{ protocol: IpProtocol.HOP_BY_HOP, body: MLD_HOP_BY_HOP }];
  const headers = IPV6_HEADER_LEN + extensions.reduce((n, e) => n + 2 + e.body.length, 0);
  const bytes = new Uint8Array(Math.max(MIN_FRAME, 14 + headers + upperLength));
  const ip = emitEthernet({ dst: dst ?? groupMac(to), src, tags: [], etherType: EtherType.IPV6 }, bytes, 0);
  const protocol = upper === null ? IpProtocol.UDP : IpProtocol.ICMPV6;
  const at =
    ip +
    emitIpv6(
      {
        trafficClass: 0,
        flowLabel: 0,
        hopLimit: 1,
        src: linkLocalFor(src),
        dst: to,
        extensions,
        protocol,
        payloadLength: upperLength,
      },
      bytes,
      ip,
    );
  const field = upper === null ? UdpField.CHECKSUM : MldField.CHECKSUM;
  if (upper === null) emitUdp({ srcPort: 5000, dstPort: 5000, payloadLength: payload.length }, bytes, at);
  else emitMld(upper, bytes, at);
  bytes.set(payload, at + upperLength - payload.length);
  const sum = checksumWithField(bytes, at, upperLength, field, ipv6PseudoHeaderSum(bytes, ip, protocol, upperLength));
  bytes[at + field] = sum >>> 8;
  bytes[at + field + 1] = sum & 0xff;
  return bytes;
}
