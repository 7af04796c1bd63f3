// A model of the Linux bridge's forwarding (net/bridge/): learn the source, then send a frame
// to the one port its destination was learned on, or flood it.
//
//   br_handle_frame          a frame whose source MAC is not a valid unicast address is dropped
//   br_handle_frame_finish   learn (br_fdb_update), then: destination is a local address → the
//                            bridge's own stack; known → that port (br_forward); unknown
//                            unicast, broadcast, multicast → br_flood; broadcast and (without
//                            snooping) multicast also go up to the bridge's own stack
//   should_deliver           never back out of the ingress port unless that port has hairpin on
//   br_flood                 only to ports with flood / bcast_flood / mcast_flood for the class
//   br_fdb_cleanup           a learned entry expires ageing_time after it was last refreshed
//   br_manage_promisc        with VLAN filtering off, every port is promiscuous
//
// Ports map to forwarder ports through bind(): role=host is the bridge device itself (its own
// stack, mac= its MAC), every other port a bridge port. Port options: hairpin, flood,
// bcast-flood, mcast-flood, learning (on/off) and local-mac= (an address the bridge itself owns
// on that port, like a Linux bridge port device's MAC: a local FDB entry).
// Multicast snooping is not modelled: every group frame is flooded, as a bridge with
// mcast_snooping 0 (or with no querier) does.

import { TapyardError } from '../error.js';
import type { EthernetView } from '../frame/ethernet.js';
import { formatMac, type Mac, parseMac } from '../mac.js';
import type { Decision, Switch, SwitchPort, SwitchReport } from './decision.js';
import { ABSENT, Fdb } from './fdb.js';
import { DST, isBroadcastAt, isGroupAt, isZeroAt, SRC } from './frame-address.js';
import { loopNow } from './loop-clock.js';
import { MacTable } from './mac-table.js';

export const BridgeReason = {
  INVALID_SOURCE: 'bridge: the source MAC is not a valid unicast address: dropped',
  LEARNING_OFF: 'bridge: learning is off on the ingress port',
  LEARNED: 'bridge: learned the source MAC on the ingress port',
  LOCAL: "bridge: the destination is one of the bridge's own addresses: up to its stack",
  KNOWN: 'bridge: known destination: forwarded to the one port it was learned on',
  SAME_PORT: 'bridge: the destination was learned on the ingress port and hairpin is off: dropped',
  HAIRPIN: 'bridge: the destination was learned on the ingress port and hairpin is on: sent back',
  EXPIRED: 'bridge: the FDB entry aged out',
  FLOOD_UNKNOWN: 'bridge: unknown unicast flooded to ports with flood on',
  FLOOD_BROADCAST: 'bridge: broadcast flooded to ports with bcast_flood on',
  FLOOD_MULTICAST: 'bridge: multicast flooded to ports with mcast_flood on',
  FLOOD_HAIRPIN: 'bridge: flooded back out the ingress port (hairpin on)',
  GROUP_LOCAL: "bridge: broadcast and multicast also go up to the bridge's own stack",
  FLOOD_NOBODY: 'bridge: flooded, but no other port takes this class of frame',
  HOST_SEND: "bridge: sent by the bridge's own stack (br_dev_xmit)",
} as const;

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
}

export interface BridgeConfig {
  ports: readonly BridgePortConfig[];
  /** The bridge device's MAC (a local entry). */
  mac?: Mac | null;
  ageingMs?: number;
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
}

export class LearningBridge implements Switch {
  private ports: BridgePort[] = [];
  private readonly fdb: Fdb;
  /** The bridge's own addresses: its MAC and its ports' MACs (br_fdb_insert_local); a set, the
   *  values unused. */
  private readonly local = new MacTable();
  private hostPort = -1;
  private byPort: (BridgePort | null)[] = [];

  constructor(config: Partial<BridgeConfig> = {}) {
    this.fdb = new Fdb(config.now ?? loopNow, config.ageingMs ?? DEFAULT_AGEING_MS);
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
    }));
    this.byPort = [...this.ports];
    this.fdb.clear();
    this.local.clear();
    if (config.mac !== undefined && config.mac !== null) this.local.set(config.mac, 0);
    for (const c of config.ports) if (c.mac !== undefined && c.mac !== null) this.local.set(c.mac, 0);
    this.hostPort = -1;
  }

  bind(ports: readonly SwitchPort[]): void {
    const configs: BridgePortConfig[] = [];
    const indexes: number[] = [];
    let bridgeMac: Mac | null = null;
    this.hostPort = -1;
    ports.forEach((p, index) => {
      const o = p.options;
      const known = new Set(['role', 'mac', 'local-mac']);
      const flag = (key: string, fallback: boolean): boolean => {
        known.add(key);
        const v = o[key];
        if (v === undefined) return fallback;
        if (v === 'on' || v === 'yes' || v === 'true' || v === '1') return true;
        if (v === 'off' || v === 'no' || v === 'false' || v === '0') return false;
        throw new TapyardError('EUSAGE', `port ${p.name}: ${key}=${v} must be on or off`);
      };
      const mac = (key: string): Mac | null => {
        const text = o[key];
        if (text === undefined) return null;
        const m = parseMac(text);
        if (m === null) throw new TapyardError('EUSAGE', `port ${p.name}: ${key}=${text} is not a MAC address`);
        return m;
      };
      const role = o.role ?? 'port';
      if (role === 'host') {
        if (this.hostPort >= 0)
          throw new TapyardError('EUSAGE', `two ports have role=host (${ports[this.hostPort]!.name} and ${p.name})`);
        this.hostPort = index;
        // The bridge's own stack answers to the MAC of the port that stands for it.
        bridgeMac = mac('mac') ?? p.mac;
      } else if (role === 'port') {
        // A port's own MAC is the station's behind it (a tap's peer, a macvtap's guest), so it is
        // learned like any other; only local-mac= names an address the bridge itself owns there.
        if (o.mac !== undefined)
          throw new TapyardError(
            'EUSAGE',
            `port ${p.name}: mac= is for role=host; use local-mac= for an address the bridge owns`,
          );
        configs.push({
          name: p.name,
          hairpin: flag('hairpin', false),
          flood: flag('flood', true),
          bcastFlood: flag('bcast-flood', true),
          mcastFlood: flag('mcast-flood', true),
          learning: flag('learning', true),
          mac: mac('local-mac'),
        });
        indexes.push(index);
      } else {
        throw new TapyardError('EUSAGE', `port ${p.name}: role=${role} must be port or host`);
      }
      for (const key of Object.keys(o)) {
        if (!known.has(key))
          throw new TapyardError('EUSAGE', `port ${p.name}: option '${key}' means nothing to the bridge`);
      }
    });
    const host = this.hostPort;
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

  /** `bridge fdb add MAC dev PORT master static`. */
  addStatic(mac: Mac, portName: string): void {
    this.fdb.addStatic(mac, this.portNamed(portName).index);
  }

  /** Learn as if a frame from `mac` had arrived on `portName` now. */
  learn(mac: Mac, portName: string): void {
    this.fdb.learn(mac, this.portNamed(portName).index);
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
    if (!port.learning) d.step(port.name, BridgeReason.LEARNING_OFF);
    else if (!this.local.hasAt(bytes, src)) {
      this.fdb.learnAt(bytes, src, port.index);
      if (d.steps !== null) d.step(port.name, BridgeReason.LEARNED, formatMac(frame.src));
    }
    this.forwardFrom(port, frame, d);
  }

  private forwardFrom(ingress: BridgePort | null, frame: EthernetView, d: Decision): void {
    const bytes = frame.bytes;
    const dst = frame.offset + DST;
    if (isGroupAt(bytes, dst)) {
      if (isBroadcastAt(bytes, dst)) this.flood(ingress, FloodClass.BROADCAST, BridgeReason.FLOOD_BROADCAST, d);
      else this.flood(ingress, FloodClass.MULTICAST, BridgeReason.FLOOD_MULTICAST, d);
      if (ingress !== null) this.toHost(BridgeReason.GROUP_LOCAL, d);
      return;
    }
    if (this.local.hasAt(bytes, dst)) {
      if (ingress !== null) this.toHost(BridgeReason.LOCAL, d);
      else d.discard(BridgeReason.LOCAL);
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

  /** br_flood with should_deliver: the port's flag for the class, and hairpin for the ingress port. */
  private flood(ingress: BridgePort | null, floodClass: number, reason: string, d: Decision): void {
    const before = d.outputs.length;
    for (const p of this.ports) {
      if ((p.floods & floodClass) === 0) continue;
      if (p === ingress) {
        if (p.hairpin) d.forward(p.port, BridgeReason.FLOOD_HAIRPIN);
        continue;
      }
      d.forward(p.port, reason);
    }
    if (d.outputs.length === before) d.step('bridge', BridgeReason.FLOOD_NOBODY);
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
