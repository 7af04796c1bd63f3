// A model of the Linux bridge's forwarding (net/bridge/): learn the source, then send a frame
// to the one port its destination was learned on, or flood it.
//
//   br_handle_frame          a frame whose source MAC is not a valid unicast address is dropped;
//                            a reserved link-local group 01:80:c2:00:00:0X is not bridged: PAUSE
//                            (:01) is dropped, the others are learned from and passed up the
//                            ingress port's own stack unless group_fwd_mask (the bridge's or the
//                            port's) has bit X; :00, the STP group, is bridged because STP is off
//   br_handle_frame_finish   learn (br_fdb_update), then: destination is a local address → the
//                            bridge's own stack; known → that port (br_forward); unknown
//                            unicast, broadcast, multicast → br_flood; broadcast and (without
//                            snooping) multicast also go up to the bridge's own stack
//   should_deliver           never back out of the ingress port unless that port has hairpin on
//   br_flood                 only to ports with flood / bcast_flood / mcast_flood for the class;
//                            broadcast and multicast the bridge's own stack sends skip the
//                            bcast_flood / mcast_flood test (skb->dev is the bridge), unknown
//                            unicast does not
//   br_dev_xmit              the bridge's own stack: a frame for a port's own MAC leaves by that
//                            port (its local FDB entry points at it); one for the bridge's MAC is
//                            dropped (br_forward to no port)
//   br_fdb_cleanup           a learned entry expires ageing_time after it was last refreshed
//   br_multicast_rcv         with mcast_snooping (on by default) IGMP/MLD build an mdb; with a
//                            querier, IP multicast goes to members and router ports only
//                            (mcast-snooping.ts says what is modelled and what is left out)
//   br_manage_promisc        with VLAN filtering off, every port is promiscuous
//
// Ports map to forwarder ports through bind(), by the typed roles the bridge was made with
// (src/switch/roles.ts; the CLI reads them from the port specs in src/config/switch.ts).

import { TapyardError } from '../error.js';
import type { EthernetView } from '../frame/ethernet.js';
import { formatMac, type Mac } from '../mac.js';
import { reasons } from '../reason.js';
import type { Decision, Switch, SwitchPort, SwitchReport } from './decision.js';
import { ABSENT, Fdb } from './fdb.js';
import { DST, isBroadcastAt, isGroupAt, isZeroAt, SRC } from './frame-address.js';
import { loopNow } from './loop-clock.js';
import { MacTable } from './mac-table.js';
import { type McastRouter, MulticastSnooping, Snooped, SnoopReason } from './mcast-snooping.js';
import { HOST_MEMBER, McastProto } from './mdb.js';
import type { BridgeRole } from './roles.js';

export { SnoopReason, type McastRouter };

export const BridgeReason = reasons({
  INVALID_SOURCE: ['bridge-invalid-source', 'bridge: the source MAC is not a valid unicast address: dropped'],
  LEARNING_OFF: ['bridge-learning-off', 'bridge: learning is off on the ingress port'],
  LEARNED: ['bridge-learned', 'bridge: learned the source MAC on the ingress port'],
  LOCAL: ['bridge-local', "bridge: the destination is one of the bridge's own addresses: up to its stack"],
  KNOWN: ['bridge-known', 'bridge: known destination: forwarded to the one port it was learned on'],
  SAME_PORT: [
    'bridge-same-port',
    'bridge: the destination was learned on the ingress port and hairpin is off: dropped',
  ],
  HAIRPIN: ['bridge-hairpin', 'bridge: the destination was learned on the ingress port and hairpin is on: sent back'],
  EXPIRED: ['bridge-expired', 'bridge: the FDB entry aged out'],
  FLOOD_UNKNOWN: ['bridge-flood-unknown', 'bridge: unknown unicast flooded to ports with flood on'],
  FLOOD_BROADCAST: ['bridge-flood-broadcast', 'bridge: broadcast flooded to ports with bcast_flood on'],
  FLOOD_MULTICAST: ['bridge-flood-multicast', 'bridge: multicast flooded to ports with mcast_flood on'],
  FLOOD_HAIRPIN: ['bridge-flood-hairpin', 'bridge: flooded back out the ingress port (hairpin on)'],
  GROUP_LOCAL: ['bridge-group-local', "bridge: broadcast and multicast also go up to the bridge's own stack"],
  FLOOD_NOBODY: ['bridge-flood-nobody', 'bridge: flooded, but no other port takes this class of frame'],
  HOST_SEND: ['bridge-host-send', "bridge: sent by the bridge's own stack (br_dev_xmit)"],
  HOST_TO_PORT_MAC: [
    'bridge-host-to-port-mac',
    "bridge: the destination is a port's own MAC: its local FDB entry points at that port",
  ],
  FLOOD_LOCAL_ORIG: [
    'bridge-flood-local-orig',
    "bridge: sent by the bridge's own stack, so this port's bcast_flood/mcast_flood off does not apply",
  ],
  PAUSE: ['bridge-pause', 'bridge: 01:80:c2:00:00:01 is MAC Control (PAUSE): never bridged, dropped'],
  LINK_LOCAL_PORT_STACK: [
    'bridge-link-local-port-stack',
    "bridge: a reserved link-local group that group_fwd_mask does not forward: up the ingress port's own stack",
  ],
  LINK_LOCAL_FORWARDED: [
    'bridge-link-local-forwarded',
    'bridge: a reserved link-local group bridged (in group_fwd_mask, or the STP group with STP off)',
  ],
});

/** group_fwd_mask bits the kernel refuses: on the bridge STP, PAUSE and LACP (BR_GROUPFWD_RESTRICTED),
 *  on a port PAUSE only (br_setport's IFLA_BRPORT_GROUP_FWD_MASK check). */
export const BRIDGE_GROUP_FWD_RESTRICTED = 0x0007;
export const PORT_GROUP_FWD_RESTRICTED = 0x0002;

/** The kernel's default ageing_time: 300 s (BR_DEFAULT_AGEING_TIME). */
export const DEFAULT_AGEING_MS = 300_000;

export interface BridgePortConfig {
  name: string;
  hairpin?: boolean;
  flood?: boolean;
  bcastFlood?: boolean;
  mcastFlood?: boolean;
  learning?: boolean;
  /** The port device's own MAC: a permanent local FDB entry. */
  mac?: Mac | null;
  /** group_fwd_mask on the port: bit X bridges 01:80:c2:00:00:0X from this port (16 bits). */
  groupFwdMask?: number;
  /** mcast_router: 0 never a router port, 1 while queries arrive on it (default), 2 always. */
  mcastRouter?: McastRouter;
  /** fastleave: a leave ends the port's membership at once. */
  fastLeave?: boolean;
}

/** The bridge's multicast settings (`ip link set BR type bridge mcast_...`). */
export interface BridgeMulticastConfig {
  /** mcast_snooping, on by default as in the kernel. */
  snooping?: boolean;
  /** mcast_querier: the bridge sends queries itself, so a querier exists (default off). */
  querier?: boolean;
  /** The bridge device's own mcast_router (default 1). */
  mcastRouter?: McastRouter;
  /** The bridge has an IPv6 address to send MLD queries from (default yes). */
  ipv6?: boolean;
}

export interface BridgeConfig extends BridgeMulticastConfig {
  ports: readonly BridgePortConfig[];
  /** The bridge device's MAC (a local entry). */
  mac?: Mac | null;
  ageingMs?: number;
  /** The bridge's group_fwd_mask: bit X bridges 01:80:c2:00:00:0X from every port (16 bits, default 0). */
  groupFwdMask?: number;
  /** Milliseconds, monotonic; injectable so that tests can age entries. By default
   *  performance.now(), read once per turn of the event loop (loop-clock.ts says why). */
  now?: () => number;
}

/** The classes of frame br_flood tells apart, as bits: a port's flood flags are one mask. */
const FloodClass = { UNKNOWN: 1, BROADCAST: 2, MULTICAST: 4 } as const;

interface BridgePort {
  name: string;
  /** Position in the bridge's port list: what the FDB records. */
  index: number;
  /** Forwarder port index. */
  port: number;
  hairpin: boolean;
  /** FloodClass bits for flood, bcast_flood and mcast_flood, where on. */
  floods: number;
  learning: boolean;
  groupFwdMask: number;
}

/** Options of a static entry (`bridge fdb add MAC dev PORT master static [sticky]`). */
export interface FdbEntryOptions {
  static?: boolean;
  sticky?: boolean;
}

/** What `local` maps the bridge device's own MAC to: no port (a local entry with dst NULL). */
const BRIDGE_ITSELF = 0x7fff_ffff;

/** The low nibble X of a reserved link-local group 01:80:c2:00:00:0X (is_link_local_ether_addr), else -1. */
function reservedGroupAt(bytes: Uint8Array, at: number): number {
  if (bytes[at] !== 0x01 || bytes[at + 1] !== 0x80 || bytes[at + 2] !== 0xc2) return -1;
  if (bytes[at + 3] !== 0 || bytes[at + 4] !== 0 || (bytes[at + 5]! & 0xf0) !== 0) return -1;
  return bytes[at + 5]!;
}

const PAUSE_GROUP = 0x01;

function checkRouter(mode: number, what: string): McastRouter {
  if (mode !== 0 && mode !== 1 && mode !== 2)
    throw new TapyardError('EUSAGE', `${what} mcast_router is 0, 1 or 2, not ${mode}`);
  return mode;
}

/** The multicast settings a configure() call names (undefined ones keep the bridge's own). */
function definedOnly(c: BridgeMulticastConfig): BridgeMulticastConfig {
  const out: BridgeMulticastConfig = {};
  if (c.snooping !== undefined) out.snooping = c.snooping;
  if (c.querier !== undefined) out.querier = c.querier;
  if (c.mcastRouter !== undefined) out.mcastRouter = c.mcastRouter;
  if (c.ipv6 !== undefined) out.ipv6 = c.ipv6;
  return out;
}

function checkMask(mask: number, restricted: number, what: string): number {
  if ((mask | 0) !== mask || mask < 0 || mask > 0xffff)
    throw new TapyardError('EUSAGE', `${what} group_fwd_mask must be a 16-bit number, not ${mask}`);
  if ((mask & restricted) !== 0)
    throw new TapyardError(
      'EUSAGE',
      `${what} group_fwd_mask 0x${mask.toString(16)} may not include 0x${restricted.toString(16)}: ` +
        'the kernel refuses it',
    );
  return mask;
}

export class LearningBridge implements Switch {
  private ports: BridgePort[] = [];
  private readonly fdb: Fdb;
  /** The bridge's own addresses: its MAC and its ports' MACs (br_fdb_insert_local); a set, the
   *  values unused. */
  private readonly local = new MacTable();
  private hostPort = -1;
  private byPort: (BridgePort | null)[] = [];
  private groupFwdMask = 0;
  private readonly snoop: MulticastSnooping;
  private snooping = true;
  /** The multicast settings the bridge was made with, for configure() calls that omit them. */
  private readonly multicast: BridgeMulticastConfig;

  /**
   * `roles` says what each forwarder port is (by index) when the bridge is bound to a
   * forwarder; a model run by the simulator is configured directly instead.
   */
  constructor(
    config: Partial<BridgeConfig> = {},
    private readonly roles: readonly BridgeRole[] = [],
  ) {
    this.fdb = new Fdb(config.now ?? loopNow, config.ageingMs ?? DEFAULT_AGEING_MS);
    this.snoop = new MulticastSnooping(config.now ?? loopNow);
    const { snooping, querier, mcastRouter, ipv6 } = config;
    this.multicast = { snooping, querier, mcastRouter, ipv6 };
    if (config.ports !== undefined) this.configure(config as BridgeConfig);
  }

  get ageingMs(): number {
    return this.fdb.ageingMs;
  }

  configure(config: BridgeConfig): void {
    const ageingMs = config.ageingMs ?? this.fdb.ageingMs;
    if (!(ageingMs > 0)) throw new TapyardError('EUSAGE', `ageing time must be positive, not ${ageingMs} ms`);
    this.fdb.ageingMs = ageingMs;
    this.ports = config.ports.map((c, i) => ({
      name: c.name,
      index: i,
      port: i,
      hairpin: c.hairpin ?? false,
      floods:
        ((c.flood ?? true) ? FloodClass.UNKNOWN : 0) |
        ((c.bcastFlood ?? true) ? FloodClass.BROADCAST : 0) |
        ((c.mcastFlood ?? true) ? FloodClass.MULTICAST : 0),
      learning: c.learning ?? true,
      groupFwdMask: checkMask(c.groupFwdMask ?? 0, PORT_GROUP_FWD_RESTRICTED, `port ${c.name}:`),
    }));
    this.groupFwdMask = checkMask(config.groupFwdMask ?? 0, BRIDGE_GROUP_FWD_RESTRICTED, 'the bridge');
    const m = { ...this.multicast, ...definedOnly(config) };
    this.snooping = m.snooping ?? true;
    this.snoop.configure({
      querier: m.querier ?? false,
      router: checkRouter(m.mcastRouter ?? 1, 'the bridge:'),
      ipv6: m.ipv6 ?? true,
      ports: config.ports.map((c) => ({
        router: checkRouter(c.mcastRouter ?? 1, `port ${c.name}:`),
        fastLeave: c.fastLeave ?? false,
      })),
    });
    this.byPort = [...this.ports];
    this.fdb.clear();
    this.local.clear();
    // A port's entry is set after the bridge's, so a port MAC equal to the bridge's points at the
    // port: fdb_add_local keeps the first local entry, and the port's exists before the bridge
    // device takes that MAC from its lowest-numbered port.
    if (config.mac !== undefined && config.mac !== null) this.local.set(config.mac, BRIDGE_ITSELF);
    config.ports.forEach((c, i) => {
      if (c.mac !== undefined && c.mac !== null) this.local.set(c.mac, i);
    });
    this.hostPort = -1;
  }

  /**
   * Map forwarder ports to the bridge, each by its role (by index; a port without one is a
   * bridge port). The port that stands for the bridge's own stack answers to its own MAC unless
   * the role names one; a bridge port's own MAC is the station's behind it (a tap's peer, a
   * macvtap's guest), so it is learned like any other; only local-mac= names an address the
   * bridge itself owns there.
   */
  bind(ports: readonly SwitchPort[]): void {
    const configs: BridgePortConfig[] = [];
    const indexes: number[] = [];
    let bridgeMac: Mac | null = null;
    let host = -1;
    ports.forEach((p, index) => {
      const role: BridgeRole = this.roles[index] ?? { role: 'port', port: {} };
      if (role.role === 'host') {
        if (host >= 0)
          throw new TapyardError('EUSAGE', `two ports have role=host (${ports[host]!.name} and ${p.name})`);
        host = index;
        bridgeMac = role.mac ?? p.mac;
      } else {
        configs.push({ ...role.port, name: p.name });
        indexes.push(index);
      }
    });
    this.configure({ ports: configs, mac: bridgeMac });
    this.hostPort = host;
    this.byPort = ports.map(() => null);
    this.ports.forEach((bp, i) => {
      bp.port = indexes[i]!;
      this.byPort[bp.port] = bp;
    });
  }

  /** Bind with synthetic port numbers: bridge ports 0..n-1, then the bridge's own stack. */
  bindNodes(): { host: number } {
    this.hostPort = this.ports.length;
    return { host: this.hostPort };
  }

  report(): SwitchReport {
    return {
      promiscuous: this.ports.map((p) => p.name),
      notes: ['every bridge port is promiscuous: VLAN filtering is off (br_manage_promisc)'],
    };
  }

  /** `bridge fdb add MAC dev PORT master static [sticky]`. */
  addStatic(mac: Mac, portName: string, sticky = false): void {
    this.fdb.addStatic(mac, this.portNamed(portName).index, sticky);
  }

  /** Learn as if a frame from `mac` had arrived on `portName` now; with `static`, add a static
   *  entry instead (what `trace --fdb WHO=PORT,static` means). */
  learn(mac: Mac, portName: string, options: FdbEntryOptions = {}): void {
    const port = this.portNamed(portName);
    if (options.static === true || options.sticky === true)
      this.fdb.addStatic(mac, port.index, options.sticky === true);
    else if (!this.local.has(mac)) this.fdb.learn(mac, port.index);
  }

  /** `ip link set BR type bridge fdb_flush`: forget every learned entry. */
  flush(): void {
    this.fdb.flush();
  }

  /** The port a MAC is learned on now (expired entries count as absent), or null. */
  lookup(mac: Mac): string | null {
    const index = this.fdb.port(mac);
    return index === ABSENT ? null : this.ports[index]!.name;
  }

  /** `bridge mdb add dev BR port PORT grp GROUP [permanent]`, or (port null) the bridge's own stack
   *  joining: `group` is 4 or 16 bytes. Link-local groups are refused, as the kernel does. */
  joinGroup(group: Uint8Array, portName: string | null, permanent = false): void {
    const proto = group.length === 4 ? McastProto.IPV4 : McastProto.IPV6;
    if (group.length !== 4 && group.length !== 16)
      throw new TapyardError('EUSAGE', 'a group is an IPv4 or IPv6 address');
    if (proto === McastProto.IPV4 ? group[0]! >>> 4 !== 0xe : group[0] !== 0xff)
      throw new TapyardError('EUSAGE', 'an mdb group must be a multicast address');
    const allNodes =
      proto === McastProto.IPV6 && group[1] === 2 && group[15] === 1 && group.subarray(2, 15).every((b) => b === 0);
    if ((proto === McastProto.IPV4 && group[0] === 224 && group[1] === 0 && group[2] === 0) || allNodes)
      throw new TapyardError('EUSAGE', 'link-local groups (224.0.0.x, ff02::1) are always flooded: no mdb entry');
    this.snoop.mdb.join(proto, group, 0, portName === null ? HOST_MEMBER : this.portNamed(portName).index, permanent);
  }

  /** The mdb now: each group's address bytes, its member ports by name, and whether the host joined. */
  mdbEntries(): { group: Uint8Array; ports: string[]; host: boolean }[] {
    return this.snoop.mdb
      .entries()
      .map((e) => ({ group: e.address, ports: e.ports.map((i) => this.ports[i]!.name), host: e.host }));
  }

  private portNamed(name: string): BridgePort {
    const port = this.ports.find((p) => p.name === name);
    if (port === undefined) throw new TapyardError('EUSAGE', `no bridge port named ${name}`);
    return port;
  }

  portNames(): string[] {
    return this.ports.map((p) => p.name);
  }

  // --- deciding ---------------------------------------------------------------------------------
  // Per frame, so nothing here allocates: addresses are tested where they lie in the frame
  // (frame-address.ts says why a MAC must not travel as a number), reasons are constants.

  decide(ingress: number, frame: EthernetView, d: Decision): void {
    if (ingress === this.hostPort) {
      d.step('bridge', BridgeReason.HOST_SEND);
      this.forwardFrom(null, frame, d);
      return;
    }
    const port = this.byPort[ingress] ?? null;
    if (port === null) throw new TapyardError('EUSAGE', `port ${ingress} is not bound to the bridge`);
    const bytes = frame.bytes;
    const src = frame.offset + SRC;
    if (isGroupAt(bytes, src) || isZeroAt(bytes, src)) {
      d.discard(BridgeReason.INVALID_SOURCE);
      return;
    }
    // br_handle_frame: the reserved groups are sorted out before br_handle_frame_finish.
    const reserved = reservedGroupAt(bytes, frame.offset + DST);
    if (reserved === PAUSE_GROUP) {
      d.discard(BridgeReason.PAUSE);
      return;
    }
    if (!port.learning) d.step(port.name, BridgeReason.LEARNING_OFF);
    else if (!this.local.hasAt(bytes, src)) {
      this.fdb.learnAt(bytes, src, port.index);
      if (d.steps !== null) d.step(port.name, BridgeReason.LEARNED, formatMac(frame.src));
    }
    if (reserved > 0) {
      // __br_handle_local_finish learned the source above; the frame itself is RX_HANDLER_PASS.
      if (((port.groupFwdMask | this.groupFwdMask) & (1 << reserved)) === 0) {
        d.discard(BridgeReason.LINK_LOCAL_PORT_STACK);
        return;
      }
    }
    if (reserved >= 0) d.step('bridge', BridgeReason.LINK_LOCAL_FORWARDED);
    this.forwardFrom(port, frame, d);
  }

  private forwardFrom(ingress: BridgePort | null, frame: EthernetView, d: Decision): void {
    const bytes = frame.bytes;
    const dst = frame.offset + DST;
    if (isGroupAt(bytes, dst)) {
      if (isBroadcastAt(bytes, dst)) this.flood(ingress, FloodClass.BROADCAST, BridgeReason.FLOOD_BROADCAST, d);
      else {
        const snooped = this.snooping
          ? this.snoop.classify(ingress === null ? HOST_MEMBER : ingress.index, frame, d)
          : Snooped.FLOOD;
        if (snooped === Snooped.DROPPED) return;
        if (snooped === Snooped.SELECTIVE) {
          this.toMembers(ingress, d);
          return;
        }
        this.flood(ingress, FloodClass.MULTICAST, BridgeReason.FLOOD_MULTICAST, d);
      }
      if (ingress !== null) this.toHost(BridgeReason.GROUP_LOCAL, d);
      return;
    }
    const local = this.local.getAt(bytes, dst);
    if (local !== ABSENT) {
      if (ingress !== null) this.toHost(BridgeReason.LOCAL, d);
      else if (local === BRIDGE_ITSELF) d.discard(BridgeReason.LOCAL);
      else d.forward(this.ports[local]!.port, BridgeReason.HOST_TO_PORT_MAC);
      return;
    }
    if (d.steps !== null && this.fdb.has(frame.dst) && this.fdb.port(frame.dst) === ABSENT)
      d.step('bridge', BridgeReason.EXPIRED, formatMac(frame.dst));
    const learned = this.fdb.portAt(bytes, dst);
    if (learned === ABSENT) {
      this.flood(ingress, FloodClass.UNKNOWN, BridgeReason.FLOOD_UNKNOWN, d);
      return;
    }
    const out = this.ports[learned]!;
    if (out !== ingress) d.forward(out.port, BridgeReason.KNOWN);
    else if (out.hairpin) d.forward(out.port, BridgeReason.HAIRPIN);
    else d.discard(BridgeReason.SAME_PORT);
  }

  /** br_flood with should_deliver: the port's flag for the class (not for broadcast and multicast
   *  the bridge's own stack sends), and hairpin for the ingress port. */
  private flood(ingress: BridgePort | null, floodClass: number, reason: string, d: Decision): void {
    const before = d.outputs.length;
    for (const p of this.ports) {
      if ((p.floods & floodClass) === 0) {
        if (ingress === null && floodClass !== FloodClass.UNKNOWN) d.forward(p.port, BridgeReason.FLOOD_LOCAL_ORIG);
        continue;
      }
      if (p === ingress) {
        if (p.hairpin) d.forward(p.port, BridgeReason.FLOOD_HAIRPIN);
        continue;
      }
      d.forward(p.port, reason);
    }
    if (d.outputs.length === before) d.step('bridge', BridgeReason.FLOOD_NOBODY);
  }

  /** br_multicast_flood: the group's members and the router ports, whatever their mcast_flood;
   *  up to the bridge's own stack if it joined or is a router (local_rcv). */
  private toMembers(ingress: BridgePort | null, d: Decision): void {
    const proto = this.snoop.proto;
    const row = this.snoop.row;
    const mdb = this.snoop.mdb;
    for (const p of this.ports) {
      const member = row >= 0 && mdb.isMember(row, p.index);
      if (!member && !this.snoop.isRouterPort(proto, p.index)) continue;
      if (p === ingress && !p.hairpin) continue;
      d.forward(p.port, member ? SnoopReason.TO_MEMBER : SnoopReason.TO_ROUTER);
    }
    if (ingress !== null) {
      if (row >= 0 && mdb.isMember(row, HOST_MEMBER)) this.toHost(SnoopReason.HOST_JOINED, d);
      else if (this.snoop.bridgeIsRouter(proto)) this.toHost(SnoopReason.HOST_ROUTER, d);
    }
    if (d.outputs.length === 0 && d.drop === null) d.discard(SnoopReason.NOT_JOINED);
  }

  private toHost(reason: string, d: Decision): void {
    if (this.hostPort >= 0) d.forward(this.hostPort, reason);
    else if (d.outputs.length === 0) d.discard(reason);
    else d.step('bridge', reason);
  }

  /** Expire every aged entry now (what the gc work does); returns how many went. */
  age(): number {
    return this.fdb.age();
  }
}
