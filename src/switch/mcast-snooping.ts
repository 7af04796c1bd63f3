// The bridge's multicast snooping (net/bridge/br_multicast.c, net/ipv4/igmp.c ip_mc_check_igmp,
// net/ipv6/mcast_snoop.c ipv6_mc_check_mld): what br_multicast_rcv learns from a group frame
// and what br_handle_frame_finish then does with it.
//
//   br_multicast_rcv       IGMP and MLD reports and leaves change the mdb; a general query makes
//                          its sender "another querier" (for multicast_querier_interval, 255 s,
//                          after a delay of its max response time) and its port a router port
//                          (mcast_router 1); a malformed IGMP/MLD message (or IPv4 header) is
//                          dropped; other IP multicast, outside 224.0.0.x and ff02::1, is marked
//                          "for router ports only" (mrouters_only)
//   br_mdb_entry_skb_get   IP data is looked up by its destination IP; IGMP/MLD never
//   br_handle_frame_finish with an entry or mrouters_only AND a querier (br_multicast_querier_exists:
//                          the bridge's own, mcast_querier 1, or another one heard), the frame
//                          goes to the members and router ports only (br_multicast_flood, which
//                          ignores mcast_flood) and up to the bridge's own stack only if it joined
//                          or the bridge is a router; otherwise it floods as without snooping
//
// Left out: IGMPv3/MLDv2 source filtering (the kernel's default igmp_version 2 / mld_version 1
// treats every record as a join, or as a leave for INCLUDE {}), the querier election by lowest
// address (a query heard always wins), the delay after mcast_querier is switched on, PIM hellos
// and multicast router discovery, mcast_router 3, per-VLAN snooping, the hash_max limit.

import { checksumValid, ipv6PseudoHeaderSum } from '../frame/checksum.js';
import type { EthernetView } from '../frame/ethernet.js';
import { EtherType } from '../frame/ethernet.js';
import { ICMP_HEADER_LEN } from '../frame/icmp.js';
import { GroupRecordType, IgmpRecordField, IgmpType, IgmpView } from '../frame/igmp.js';
import { formatIpv4, formatIpv6, readIpv4 } from '../frame/ip-address.js';
import { IpProtocol } from '../frame/ip-protocol.js';
import { Ipv4Field, Ipv4View } from '../frame/ipv4.js';
import { IPV6_HEADER_LEN, Ipv6Field, Ipv6View } from '../frame/ipv6.js';
import { MldRecordField, MldType, MldView } from '../frame/mld.js';
import { reasons } from '../reason.js';
import type { Decision } from './decision.js';
import { ALL_MEMBERS, HOST_MEMBER, LAST_MEMBER_MS, McastProto, Mdb } from './mdb.js';

export const SnoopReason = reasons({
  INVALID: [
    'bridge-mcast-invalid',
    'bridge: a malformed IGMP or MLD message (or IPv4 header) to a group: snooping drops it',
  ],
  REPORT: ['bridge-mcast-report', 'bridge: a membership report: the sender joins the group in the mdb'],
  LEAVE: ['bridge-mcast-leave', 'bridge: a leave (IGMP leave, MLD done): the membership ends within 2 s'],
  FAST_LEAVE: ['bridge-mcast-fast-leave', 'bridge: a leave on a port with fastleave: the membership ends now'],
  LEAVE_IGNORED: ['bridge-mcast-leave-ignored', 'bridge: a leave while another querier is heard: left to that querier'],
  QUERY: [
    'bridge-mcast-query',
    'bridge: a general query: another querier is present, its port a multicast router port',
  ],
  GROUP_QUERY: [
    'bridge-mcast-group-query',
    "bridge: a group-specific query: the group's memberships end unless reported again",
  ],
  LINK_LOCAL: ['bridge-mcast-link-local', 'bridge: a link-local group (224.0.0.x, ff02::1) is always flooded'],
  NO_QUERIER: ['bridge-mcast-no-querier', 'bridge: snooping without a querier: the group frame floods'],
  TO_MEMBER: ['bridge-mcast-member', 'bridge: a member of the group is behind this port (mdb)'],
  TO_ROUTER: ['bridge-mcast-router', 'bridge: a multicast router port gets every snooped group frame'],
  HOST_JOINED: ['bridge-mcast-host-joined', "bridge: the bridge's own stack joined the group"],
  HOST_ROUTER: ['bridge-mcast-host-router', 'bridge: the bridge itself is a multicast router: up to its stack'],
  NOT_JOINED: ['bridge-mcast-not-joined', 'bridge: nobody joined the group and no router port takes it: not forwarded'],
});

/** multicast_querier_interval: how long a heard querier, and the router port it came by, last. */
export const QUERIER_INTERVAL_MS = 255_000;
/** A v2 query with max response code 0 is a v1 query: 10 s (br_ip4_multicast_query). */
const V1_QUERY_DELAY_MS = 10_000;

/** What br_multicast_rcv and br_mdb_entry_skb_get leave for the forwarding decision. */
export const Snooped = {
  /** Not for snooping (not IP, link-local, or no querier): flood as without snooping. */
  FLOOD: 0,
  /** Dropped: d.drop says why. */
  DROPPED: 1,
  /** Members of `row` (when >= 0) and router ports only. */
  SELECTIVE: 2,
} as const;
export type Snooped = (typeof Snooped)[keyof typeof Snooped];

export type McastRouter = 0 | 1 | 2;

export interface SnoopingConfig {
  /** mcast_querier: the bridge queries itself, so a querier always exists. */
  querier: boolean;
  /** The bridge device's own mcast_router (1: a router while queries come from its own stack). */
  router: McastRouter;
  /** Per bridge port: mcast_router and fastleave. */
  ports: readonly { router: McastRouter; fastLeave: boolean }[];
  /** Whether the bridge has an IPv6 address to query from (BROPT_HAS_IPV6_ADDR): without one
   *  its own querier does not count for MLD. */
  ipv6: boolean;
}

const isLinkLocalIpv4 = (bytes: Uint8Array, at: number) =>
  bytes[at] === 224 && bytes[at + 1] === 0 && bytes[at + 2] === 0;

function isAllNodes(bytes: Uint8Array, at: number): boolean {
  if (bytes[at] !== 0xff || bytes[at + 1] !== 0x02 || bytes[at + 15] !== 1) return false;
  for (let i = 2; i < 15; i++) if (bytes[at + i] !== 0) return false;
  return true;
}

const IPV4_ALL_HOSTS = 0xe000_0001;

export class MulticastSnooping {
  readonly mdb: Mdb;
  private config: SnoopingConfig = { querier: false, router: 1, ports: [], ipv6: true };
  /** Per protocol: until when another querier is heard, and the delay after it was first heard. */
  private readonly otherQuerierUntil = new Float64Array(2);
  private readonly querierDelayUntil = new Float64Array(2);
  private readonly bridgeRouterUntil = new Float64Array(2);
  /** Per protocol and bridge port: until when it is a router port by the queries it brought. The
   *  Float64Arrays here are indexed by a McastProto (0 or 1) and a bridge port, inside their sizes. */
  private routerUntil: [Float64Array, Float64Array] = [new Float64Array(0), new Float64Array(0)];
  /** After classify: the protocol of the frame and its mdb row (-1: routers only). */
  proto: McastProto = McastProto.IPV4;
  row = -1;

  private readonly ipv4 = new Ipv4View();
  private readonly ipv6 = new Ipv6View();
  private readonly igmp = new IgmpView();
  private readonly mld = new MldView();

  constructor(private readonly now: () => number) {
    this.mdb = new Mdb(now, 0);
  }

  configure(config: SnoopingConfig): void {
    this.config = config;
    this.mdb.reset(config.ports.length);
    this.otherQuerierUntil.fill(0);
    this.querierDelayUntil.fill(0);
    this.bridgeRouterUntil.fill(0);
    this.routerUntil = [new Float64Array(config.ports.length), new Float64Array(config.ports.length)];
  }

  /** br_multicast_querier_exists for the protocol. */
  querierExists(proto: McastProto): boolean {
    const now = this.now();
    if (now < this.querierDelayUntil[proto]!) return false;
    const own = this.config.querier && (proto === McastProto.IPV4 || this.config.ipv6);
    return own || now < this.otherQuerierUntil[proto]!;
  }

  /** Whether bridge port `port` is a multicast router port for `proto` now. */
  isRouterPort(proto: McastProto, port: number): boolean {
    const mode = this.config.ports[port]!.router;
    return mode === 2 || (mode === 1 && this.now() < this.routerUntil[proto][port]!);
  }

  /** br_multicast_is_router: the bridge device itself. */
  bridgeIsRouter(proto: McastProto): boolean {
    const mode = this.config.router;
    return mode === 2 || (mode === 1 && this.now() < this.bridgeRouterUntil[proto]!);
  }

  /**
   * br_multicast_rcv for a group (not broadcast) frame from bridge port `port` (HOST_MEMBER: the
   * bridge's own stack), then what br_handle_frame_finish makes of it. Per frame: nothing here
   * allocates.
   */
  classify(port: number, frame: EthernetView, d: Decision): Snooped {
    const bytes = frame.bytes;
    const at = frame.payloadOffset;
    const rest = frame.payloadLength;
    let mroutersOnly: boolean;
    if (frame.etherType === EtherType.IPV4) {
      this.proto = McastProto.IPV4;
      const ip = this.ipv4;
      // ip_mc_check_iphdr: a header that does not check out is an error, and errors drop.
      if (ip.parse(bytes, at, rest) !== null || !ip.checksumValid()) return this.invalid(d);
      if (ip.protocol === IpProtocol.IGMP) {
        const igmp = this.igmp;
        const length = ip.payloadLength;
        if (igmp.parse(bytes, ip.payloadOffset, length) !== null || !checksumValid(bytes, igmp.offset, length, 0))
          return this.invalid(d);
        const verdict = this.igmpMessage(port, d);
        if (verdict !== null) return verdict;
        mroutersOnly = igmp.type === IgmpType.V1_REPORT || igmp.type === IgmpType.V2_REPORT;
        this.row = -1;
      } else {
        const dst = ip.offset + Ipv4Field.DST;
        if (isLinkLocalIpv4(bytes, dst)) return this.flood(SnoopReason.LINK_LOCAL, d);
        mroutersOnly = true;
        this.row = this.mdb.findAt(McastProto.IPV4, bytes, dst);
      }
    } else if (frame.etherType === EtherType.IPV6) {
      this.proto = McastProto.IPV6;
      // ipv6_mc_check_ip6hdr: the fixed header must be there, whole.
      if (rest < IPV6_HEADER_LEN || bytes[at]! >>> 4 !== 6) return this.invalid(d);
      if (IPV6_HEADER_LEN + ((bytes[at + 4]! << 8) | bytes[at + 5]!) > rest) return this.invalid(d);
      const mld = this.mldMessage(port, bytes, at, rest, d);
      if (mld === Snooped.DROPPED) return mld;
      if (mld === Snooped.SELECTIVE) {
        mroutersOnly = this.mld.type === MldType.V1_REPORT;
        this.row = -1;
      } else {
        const dst = at + Ipv6Field.DST;
        if (isAllNodes(bytes, dst)) return this.flood(SnoopReason.LINK_LOCAL, d);
        mroutersOnly = true;
        this.row = this.mdb.findAt(McastProto.IPV6, bytes, dst);
      }
    } else {
      // An L2 group: only `bridge mdb add ... grp MAC` entries would match, and there are none.
      return Snooped.FLOOD;
    }
    if (!(this.row >= 0 || mroutersOnly)) return Snooped.FLOOD;
    if (!this.querierExists(this.proto)) return this.flood(SnoopReason.NO_QUERIER, d);
    return Snooped.SELECTIVE;
  }

  private invalid(d: Decision): Snooped {
    d.discard(SnoopReason.INVALID);
    return Snooped.DROPPED;
  }

  private flood(reason: string, d: Decision): Snooped {
    d.step('bridge', reason);
    return Snooped.FLOOD;
  }

  /** What an IGMP message does to the state; a verdict for the frame when it ends there. */
  private igmpMessage(port: number, d: Decision): Snooped | null {
    const igmp = this.igmp;
    const bytes = igmp.bytes;
    const group = igmp.offset + 4;
    switch (igmp.type) {
      case IgmpType.V1_REPORT:
      case IgmpType.V2_REPORT:
        this.join(McastProto.IPV4, bytes, group, port, d);
        return null;
      case IgmpType.LEAVE:
        this.leave(McastProto.IPV4, bytes, group, port, d);
        return null;
      case IgmpType.V3_REPORT: {
        let at = igmp.firstRecordOffset;
        for (let i = 0; i < igmp.recordCount; i++) {
          this.record(McastProto.IPV4, bytes, at, port, d);
          at += igmp.recordLengthAt(at);
        }
        return null;
      }
      case IgmpType.QUERY: {
        // ip_mc_check_igmp_query: 8 bytes or at least 12; a general one goes to 224.0.0.1.
        if (igmp.length !== 8 && igmp.length < 12) return this.invalid(d);
        const general = igmp.group === 0;
        if (general && this.ipv4.dst !== IPV4_ALL_HOSTS) return this.invalid(d);
        if (igmp.querySourceCount > 0) return null;
        let delay = igmp.maxRespMs;
        let isGeneral = general;
        if (!igmp.isV3Query && delay === 0) {
          delay = V1_QUERY_DELAY_MS;
          isGeneral = true;
        }
        if (igmp.isV3Query && delay === 0) delay = 1;
        if (isGeneral) this.queryHeard(McastProto.IPV4, port, delay, d);
        else this.groupQuery(McastProto.IPV4, bytes, group, delay, d);
        return null;
      }
      default:
        return null; // -ENOMSG: snooping treats it as data, by its destination
    }
  }

  /** ipv6_mc_check_mld and what the message does: SELECTIVE for an MLD message (the frame is then
   *  snooped as one), FLOOD for anything else, which is data to its destination. */
  private mldMessage(port: number, bytes: Uint8Array, at: number, rest: number, d: Decision): Snooped {
    // ipv6_mc_check_exthdrs: MLD always carries a hop-by-hop header (the router alert) first.
    if (bytes[at + Ipv6Field.NEXT_HEADER] !== IpProtocol.HOP_BY_HOP) return Snooped.FLOOD;
    const ip = this.ipv6;
    if (ip.parse(bytes, at, rest) !== null) return this.invalid(d);
    if (ip.upperProtocol !== IpProtocol.ICMPV6 || ip.isFragment) return Snooped.FLOOD;
    const length = ip.upperLength;
    // ipv6_mc_check_icmpv6: shorter than an ICMPv6 header is -ENODATA (data); a bad checksum drops.
    if (length < ICMP_HEADER_LEN) return Snooped.FLOOD;
    const sum = ipv6PseudoHeaderSum(bytes, ip.offset, IpProtocol.ICMPV6, length, ip.finalDestinationOffset);
    if (!checksumValid(bytes, ip.upperOffset, length, sum)) return this.invalid(d);
    const type = bytes[ip.upperOffset]!;
    if (type !== MldType.QUERY && type !== MldType.V1_REPORT && type !== MldType.DONE && type !== MldType.V2_REPORT)
      return Snooped.FLOOD;
    const mld = this.mld;
    const error = mld.parse(bytes, ip.upperOffset, length);
    if (error !== null) {
      // ipv6_mc_check_mld_msg: a v1 message cut short is -ENODATA; a short v2 report or query is -EINVAL.
      return type === MldType.V1_REPORT || type === MldType.DONE ? Snooped.FLOOD : this.invalid(d);
    }
    const address = mld.addressOffset;
    switch (type) {
      case MldType.V1_REPORT:
        this.join(McastProto.IPV6, bytes, address, port, d);
        break;
      case MldType.DONE:
        this.leave(McastProto.IPV6, bytes, address, port, d);
        break;
      case MldType.V2_REPORT: {
        let r = mld.firstRecordOffset;
        for (let i = 0; i < mld.recordCount; i++) {
          this.record(McastProto.IPV6, bytes, r, port, d);
          r += mld.recordLengthAt(r);
        }
        break;
      }
      default: {
        // ipv6_mc_check_mld_query: from a link-local source; a general one to ff02::1.
        const src = at + Ipv6Field.SRC;
        if (bytes[src] !== 0xfe || (bytes[src + 1]! & 0xc0) !== 0x80) return this.invalid(d);
        const general = mld.isGeneralQuery;
        if (general && !isAllNodes(bytes, at + Ipv6Field.DST)) return this.invalid(d);
        // br_ip6_multicast_query: a v1 query with no delay, or a v2 one with sources, names no group.
        if (mld.isV2Query ? mld.querySourceCount > 0 : mld.maxDelayCode === 0) break;
        const delay = Math.max(mld.maxDelayMs, 1);
        if (general) this.queryHeard(McastProto.IPV6, port, delay, d);
        else this.groupQuery(McastProto.IPV6, bytes, address, delay, d);
      }
    }
    return Snooped.SELECTIVE;
  }

  /** An IGMPv3 / MLDv2 group record, as igmp_version 2 / mld_version 1 read it: a join, or a
   *  leave for INCLUDE {} and TO_INCLUDE {}; unknown record types are skipped. */
  private record(proto: McastProto, bytes: Uint8Array, at: number, port: number, d: Decision): void {
    const v4 = proto === McastProto.IPV4;
    const group = at + (v4 ? IgmpRecordField.GROUP : MldRecordField.ADDRESS);
    const nsrcsField = v4 ? IgmpRecordField.NSRCS : MldRecordField.NSRCS;
    const type = bytes[at]!;
    if (type < GroupRecordType.MODE_IS_INCLUDE || type > GroupRecordType.BLOCK_OLD_SOURCES) return;
    const nsrcs = (bytes[at + nsrcsField]! << 8) | bytes[at + nsrcsField + 1]!;
    const include = type === GroupRecordType.MODE_IS_INCLUDE || type === GroupRecordType.CHANGE_TO_INCLUDE;
    if (include && nsrcs === 0) this.leave(proto, bytes, group, port, d);
    else this.join(proto, bytes, group, port, d);
  }

  /** br_ip4/ip6_multicast_add_group: link-local groups are never entered. */
  private join(proto: McastProto, bytes: Uint8Array, group: number, port: number, d: Decision): void {
    if (proto === McastProto.IPV4 ? isLinkLocalIpv4(bytes, group) : isAllNodes(bytes, group)) return;
    this.mdb.join(proto, bytes, group, port);
    d.step('bridge', SnoopReason.REPORT, d.steps === null ? undefined : this.groupText(proto, bytes, group));
  }

  /** br_multicast_leave_group. */
  private leave(proto: McastProto, bytes: Uint8Array, group: number, port: number, d: Decision): void {
    const detail = d.steps === null ? undefined : this.groupText(proto, bytes, group);
    if (port !== HOST_MEMBER && this.config.ports[port]!.fastLeave) {
      this.mdb.remove(proto, bytes, group, port);
      d.step('bridge', SnoopReason.FAST_LEAVE, detail);
    } else if (this.now() < this.otherQuerierUntil[proto]!) {
      d.step('bridge', SnoopReason.LEAVE_IGNORED, detail);
    } else {
      this.mdb.shorten(proto, bytes, group, port, LAST_MEMBER_MS);
      d.step('bridge', SnoopReason.LEAVE, detail);
    }
  }

  /** br_multicast_query_received: another querier, and its port (or the bridge) a router. */
  private queryHeard(proto: McastProto, port: number, delayMs: number, d: Decision): void {
    const now = this.now();
    if (now >= this.otherQuerierUntil[proto]!) this.querierDelayUntil[proto] = now + delayMs;
    this.otherQuerierUntil[proto] = now + QUERIER_INTERVAL_MS;
    if (port === HOST_MEMBER) {
      if (this.config.router === 1) this.bridgeRouterUntil[proto] = now + QUERIER_INTERVAL_MS;
    } else if (this.config.ports[port]!.router === 1) {
      this.routerUntil[proto][port] = now + QUERIER_INTERVAL_MS;
    }
    d.step('bridge', SnoopReason.QUERY);
  }

  /** A group-specific query from another querier: members must answer within last_member_count
   *  times its max response time. */
  private groupQuery(proto: McastProto, bytes: Uint8Array, group: number, delayMs: number, d: Decision): void {
    this.mdb.shorten(proto, bytes, group, ALL_MEMBERS, 2 * delayMs);
    d.step('bridge', SnoopReason.GROUP_QUERY, d.steps === null ? undefined : this.groupText(proto, bytes, group));
  }

  private groupText(proto: McastProto, bytes: Uint8Array, at: number): string {
    return proto === McastProto.IPV4 ? formatIpv4(readIpv4(bytes, at)) : formatIpv6(bytes, at);
  }
}
