// A model of the kernel's macvlan/macvtap switching (drivers/net/macvlan.c): one lower device,
// the endpoints stacked on it, and the host stack that owns the lower. Three things can happen
// to a frame, each a section below:
//
//   transmit   an endpoint sends it             macvlan_queue_xmit
//   receive    it arrives on the lower device   macvlan_handle_frame (the lower's rx_handler),
//                                               macvlan_forward_source, macvlan_multicast_rx
//   host       the host stack sends it on the   dev_queue_xmit on the lower: macvlan never
//              lower                            sees it, so it only reaches the wire
//
// What each mode does is the table MACVLAN_MODES (macvlan-modes.ts); the code below only reads it.
//
// Nodes map to forwarder ports through bind(), by typed roles (src/switch/roles.ts): the lower
// (the wire side of the lower device), the host (the lower's own stack; optional) and endpoints.

import { TapyardError } from '../error.js';
import type { EthernetView } from '../frame/ethernet.js';
import { formatMac, isGroup, type Mac } from '../mac.js';
import { reasons } from '../reason.js';
import type { Decision, Switch, SwitchPort, SwitchReport } from './decision.js';
import { DST, isGroupAt, SRC } from './frame-address.js';
import { ABSENT, MacTable } from './mac-table.js';
import { McFilter, mcHash } from './macvlan-filter.js';
import {
  EXTERNAL_GROUP_FLOOD,
  MACVLAN_MODE_NAMES,
  MACVLAN_MODES,
  type MacvlanMode,
  ModeBit,
  type ModeRules,
} from './macvlan-modes.js';

// The table's names are the switch's too: one module to import for macvlan.
export { EXTERNAL_GROUP_FLOOD, MACVLAN_MODE_NAMES, MACVLAN_MODES, type MacvlanMode, ModeBit, type ModeRules };

import type { MacvlanRole } from './roles.js';

export const MacvlanReason = reasons({
  TX_WIRE: ['macvlan-tx-wire', 'macvlan: sent on the lower device (dev_queue_xmit)'],
  TX_GROUP_LOCAL: [
    'macvlan-tx-group-local',
    'macvlan: bridge mode copies a group frame to bridge-mode siblings before the wire',
  ],
  TX_UNICAST_LOCAL: [
    'macvlan-tx-unicast-local',
    "macvlan: bridge mode hands unicast for a bridge-mode sibling to the lower's receive path",
  ],
  HOST_TX: ['macvlan-host-tx', 'macvlan: the host stack sends on the lower directly; macvlan never sees the frame'],
  SOURCE_CLONE: ['macvlan-source-clone', 'macvlan: source mode gets a clone (the sender MAC is in its list)'],
  SOURCE_NODST: ['macvlan-source-nodst', 'macvlan: consumed by a source-mode endpoint with nodst'],
  GROUP_TO_SENDER: [
    'macvlan-group-to-sender',
    'macvlan: group frame back from the wire goes to its private/passthru/source sender only',
  ],
  GROUP_FROM_OUTSIDE: [
    'macvlan-group-from-outside',
    'macvlan: group frame from outside floods private, vepa, bridge and passthru endpoints',
  ],
  GROUP_FROM_VEPA: [
    'macvlan-group-from-vepa',
    'macvlan: group frame from a vepa endpoint floods vepa and bridge endpoints except the sender',
  ],
  GROUP_FROM_BRIDGE: [
    'macvlan-group-from-bridge',
    'macvlan: group frame from a bridge endpoint floods vepa endpoints only (bridge ones had it)',
  ],
  GROUP_TO_HOST: ['macvlan-group-to-host', 'macvlan: group frame also passed up to the host stack'],
  GROUP_QUEUED: [
    'macvlan-group-queued',
    'macvlan: group in the broadcast filter: endpoint copies are queued for the bc workqueue',
  ],
  GROUP_DIRECT: [
    'macvlan-group-direct',
    'macvlan: group joined by at most bc_cutoff endpoints: copies delivered at once',
  ],
  GROUP_NOT_JOINED: [
    'macvlan-group-not-joined',
    'macvlan: no endpoint joined this group (port mc_filter): endpoints get nothing',
  ],
  FILTERED: ['macvlan-filtered', "macvlan: endpoint's hashed mc_filter has no bit for this group"],
  PAUSE: ['macvlan-pause', 'macvlan: PAUSE frames are never flooded to endpoints'],
  UNICAST: ['macvlan-unicast', 'macvlan: unicast to the endpoint owning the destination MAC'],
  PASSTHRU: ['macvlan-passthru', 'macvlan: passthru endpoint takes all unicast'],
  UNICAST_TO_HOST: [
    'macvlan-unicast-to-host',
    'macvlan: no endpoint owns the destination MAC: passed up to the host stack',
  ],
  SOURCE_NOT_BY_DST: [
    'macvlan-source-not-by-dst',
    'macvlan: source-mode endpoints are never matched by destination: passed up to the host stack',
  ],
  ENDPOINT_DOWN: ['macvlan-endpoint-down', 'macvlan: the passthru endpoint is down: frame dropped'],
  HOST_NOT_BOUND: ['macvlan-host-not-bound', 'macvlan: delivered to the host stack, which no port stands for'],
});

/** Where receive-side steps happen: the lower device's rx_handler. */
const LOWER = 'lower';

/** The kernel's ETH_P_PAUSE: macvlan_broadcast skips it. */
const ETH_P_PAUSE = 0x8808;

export interface EndpointConfig {
  name: string;
  mode?: MacvlanMode;
  /** Required except for passthru, which inherits the lower's MAC. */
  mac?: Mac;
  /** Multicast groups the endpoint joined (its dev->mc list). */
  groups?: readonly Mac[];
  /** Source mode: remote MACs whose frames it gets a clone of. */
  sources?: readonly Mac[];
  /** MACVLAN_FLAG_NODST (source mode): its clones consume the frame. */
  nodst?: boolean;
  /** MACVLAN_FLAG_NOPROMISC (passthru): leave the lower's promiscuity alone. */
  nopromisc?: boolean;
  promisc?: boolean;
  allmulti?: boolean;
  up?: boolean;
  /** The endpoint's mc_hash mix (a kernel address in reality; see macvlan-filter.ts). */
  hashMix?: number;
}

export interface LowerConfig {
  /** The lower device's MAC, which the host stack uses. */
  mac?: Mac | null;
  /** True for NICs with unicast filter slots (IFF_UNICAST_FLT); veth has none. */
  unicastFilter?: boolean;
  /** IFLA_MACVLAN_BC_CUTOFF (6.5+, default 1); negative: broadcasts skip the queue too. */
  bcCutoff?: number;
}

export interface MacvlanConfig {
  lower?: LowerConfig;
  endpoints: readonly EndpointConfig[];
}

/** An endpoint as add() resolved it: every default filled in, and its mode's rules. */
type EndpointSetup = Required<EndpointConfig> & { readonly rules: ModeRules };

class Endpoint {
  readonly name: string;
  readonly mode: MacvlanMode;
  readonly rules: ModeRules;
  readonly mac: Mac;
  readonly groups: readonly Mac[];
  readonly sources: readonly Mac[];
  readonly nodst: boolean;
  readonly nopromisc: boolean;
  readonly promisc: boolean;
  readonly allmulti: boolean;
  readonly up: boolean;
  readonly filter: McFilter;
  /** ModeBit[mode], looked up once: the flood masks test it for every sibling of every frame. */
  readonly modeBit: number;
  /** Forwarder port this endpoint maps to. */
  port = -1;

  constructor(setup: EndpointSetup) {
    this.name = setup.name;
    this.mode = setup.mode;
    this.rules = setup.rules;
    this.mac = setup.mac;
    this.groups = setup.groups;
    this.sources = setup.sources;
    this.nodst = setup.nodst;
    this.nopromisc = setup.nopromisc;
    this.promisc = setup.promisc;
    this.allmulti = setup.allmulti;
    this.up = setup.up;
    this.modeBit = ModeBit[setup.mode];
    this.filter = new McFilter(setup.hashMix);
    if (setup.promisc || setup.allmulti) this.filter.fill();
    else this.filter.compute(setup.groups);
  }
}

/** One lower device with its endpoints: the kernel's struct macvlan_port. */
export class Macvlan implements Switch {
  private endpoints: Endpoint[] = [];
  // The per-frame lookups go through MacTables (see mac-table.ts: a Map boxes every MAC).
  /** macvlan_hash_lookup: MAC → index in `endpoints`, for endpoints that are up (macvlan_open
   *  hashes them). */
  private readonly byMac = new MacTable();
  /** vlan_source_hash: remote MAC → index in `sourceLists`, the source-mode endpoints listing it. */
  private readonly bySource = new MacTable();
  private sourceLists: Endpoint[][] = [];
  /** Forwarder port → the endpoint bound to it. */
  private byPort: (Endpoint | null)[] = [];
  private passthru: Endpoint | null = null;
  /** port->mc_filter and port->bc_filter, hashed with mix 0. */
  private readonly portMc = new McFilter(0);
  private readonly portBc = new McFilter(0);
  private lowerMac: Mac | null = null;
  private lowerPromisc = false;
  private lowerAllmulti = false;
  private bcCutoff = 1;
  private wirePort = -1;
  private hostPort = -1;
  private names: string[] = [];
  /** Why the host stack got the current frame when no port stands for it. */
  private hostReason: string | null = null;

  /**
   * `roles` says what each forwarder port is (by index) when the switch is bound to a
   * forwarder; a model run by the simulator is configured directly instead.
   */
  constructor(
    config?: MacvlanConfig,
    private readonly roles: readonly MacvlanRole[] = [],
  ) {
    if (config !== undefined) this.configure(config);
  }

  /** Build the lower and its endpoints, refusing what the kernel refuses. */
  configure(config: MacvlanConfig): void {
    const lower = config.lower ?? {};
    this.lowerMac = lower.mac ?? null;
    this.bcCutoff = lower.bcCutoff ?? 1;
    this.endpoints = [];
    this.byMac.clear();
    this.bySource.clear();
    this.sourceLists = [];
    this.passthru = null;
    for (const c of config.endpoints) this.add(c);
    this.indexPorts();
    const up = this.endpoints.filter((e) => e.up);
    // A lower without unicast filter slots goes promiscuous as soon as a (non-passthru)
    // endpoint adds its MAC (dev_uc_add → __dev_set_rx_mode); passthru sets it unless nopromisc;
    // an endpoint's own promisc/allmulti propagates down (macvlan_open, macvlan_change_rx_flags).
    this.lowerPromisc = up.some(
      (e) => e.promisc || (e.mode === 'passthru' ? !e.nopromisc : !(lower.unicastFilter ?? false)),
    );
    this.lowerAllmulti = up.some((e) => e.allmulti);
    this.computePortFilters(up);
  }

  private add(c: EndpointConfig): void {
    const mode = c.mode ?? 'vepa'; // macvlan_common_newlink's default
    if (!MACVLAN_MODE_NAMES.includes(mode)) throw new TapyardError('EINVAL', `unknown macvlan mode '${mode}'`);
    if (this.passthru !== null) {
      throw new TapyardError(
        'EINVAL',
        `cannot add ${c.name}: ${this.passthru.name} is in passthru mode and must be alone on its lower (EINVAL)`,
      );
    }
    if (mode === 'passthru' && this.endpoints.length > 0) {
      throw new TapyardError(
        'EINVAL',
        `cannot add ${c.name} in passthru mode: the lower already has endpoints (EINVAL)`,
      );
    }
    if (c.nodst && mode !== 'source') throw new TapyardError('EINVAL', `${c.name}: nodst only applies to source mode`);
    if (c.sources !== undefined && c.sources.length > 0 && mode !== 'source') {
      throw new TapyardError('EINVAL', `${c.name}: a source list needs source mode (EINVAL)`);
    }
    // eth_hw_addr_inherit: passthru takes the lower's MAC.
    const mac = mode === 'passthru' ? (this.lowerMac ?? c.mac) : c.mac;
    if (mac === undefined || mac === null) throw new TapyardError('EUSAGE', `endpoint ${c.name} needs a MAC`);
    if (isGroup(mac))
      throw new TapyardError('EADDRNOTAVAIL', `endpoint ${c.name}: ${formatMac(mac)} is a group address`);
    const up = c.up ?? true;
    if (up && mode !== 'passthru' && (this.byMac.has(mac) || mac === this.lowerMac)) {
      // macvlan_addr_busy at open time.
      throw new TapyardError(
        'EADDRINUSE',
        `endpoint ${c.name}: ${formatMac(mac)} is already used on this lower (EADDRINUSE)`,
      );
    }
    const e = new Endpoint({
      name: c.name,
      mode,
      rules: MACVLAN_MODES[mode],
      mac,
      groups: c.groups ?? [],
      sources: c.sources ?? [],
      nodst: c.nodst ?? false,
      nopromisc: c.nopromisc ?? false,
      promisc: c.promisc ?? false,
      allmulti: c.allmulti ?? false,
      up,
      hashMix: c.hashMix ?? 0,
    });
    const index = this.endpoints.length;
    e.port = index; // until bind() maps endpoints to forwarder ports
    this.endpoints.push(e);
    if (mode === 'passthru') this.passthru = e;
    if (up) this.byMac.set(mac, index);
    if (e.rules.sourceClones) {
      for (const src of e.sources) {
        let list = this.bySource.get(src);
        if (list === ABSENT) {
          list = this.sourceLists.push([]) - 1;
          this.bySource.set(src, list);
        }
        const members = this.sourceLists[list]!;
        if (!members.includes(e)) members.push(e);
      }
    }
  }

  /** Rebuild port → endpoint after the endpoints' ports changed (configure, bind). */
  private indexPorts(): void {
    this.byPort = [];
    for (const e of this.endpoints) this.byPort[e.port] = e;
    for (let p = 0; p < this.byPort.length; p++) this.byPort[p] ??= null;
  }

  /**
   * macvlan_set_mac_lists → macvlan_compute_filter(port->mc_filter, lowerdev, NULL, 0) and
   * macvlan_recompute_bc_filter: groups the endpoints synced to the lower (ha->synced counts
   * the endpoints that joined), all ones when the lower is promiscuous or all-multicast.
   */
  private computePortFilters(up: readonly Endpoint[]): void {
    const synced = new Map<Mac, number>();
    for (const e of up) for (const g of new Set(e.groups)) synced.set(g, (synced.get(g) ?? 0) + 1);
    const open = this.lowerPromisc || this.lowerAllmulti;
    if (open) this.portMc.fill();
    else this.portMc.compute(synced.keys());
    if (this.bcCutoff < 0) this.portBc.clear();
    else if (open) this.portBc.fill();
    else this.portBc.compute([...synced].filter(([, n]) => n > this.bcCutoff).map(([g]) => g));
  }

  // --- binding to forwarder ports -------------------------------------------------------------

  /**
   * Map forwarder ports to the lower and its endpoints by the typed roles the switch was made
   * with (by index; a port without one is a vepa endpoint). An endpoint, and the port standing
   * for the host stack, answer to the port's own MAC unless the role names one.
   */
  bind(ports: readonly SwitchPort[]): void {
    const endpoints: EndpointConfig[] = [];
    const endpointPorts: number[] = [];
    let lower: LowerConfig = {};
    let hostMac: Mac | null = null;
    this.wirePort = this.hostPort = -1;
    ports.forEach((p, index) => {
      const role: MacvlanRole = this.roles[index] ?? { role: 'endpoint', endpoint: {} };
      if (role.role === 'lower') {
        if (this.wirePort >= 0) {
          throw new TapyardError('EUSAGE', `two ports have role=lower (${ports[this.wirePort]!.name} and ${p.name})`);
        }
        this.wirePort = index;
        lower = role.lower;
      } else if (role.role === 'host') {
        if (this.hostPort >= 0) {
          throw new TapyardError('EUSAGE', `two ports have role=host (${ports[this.hostPort]!.name} and ${p.name})`);
        }
        this.hostPort = index;
        hostMac = role.mac ?? p.mac;
      } else {
        const mac = role.endpoint.mac ?? p.mac ?? undefined;
        endpoints.push({ ...role.endpoint, name: p.name, ...(mac === undefined ? {} : { mac }) });
        endpointPorts.push(index);
      }
    });
    if (this.wirePort < 0)
      throw new TapyardError('EUSAGE', 'the macvlan switch needs one port with role=lower (the wire side)');
    if (lower.mac === undefined && hostMac !== null) lower = { ...lower, mac: hostMac };
    this.configure({ lower, endpoints });
    this.endpoints.forEach((e, i) => {
      e.port = endpointPorts[i]!;
    });
    this.indexPorts();
    this.names = ports.map((p) => p.name);
  }

  /** Bind with synthetic port numbers: endpoints 0..n-1, then the wire, then the host. */
  bindNodes(): { wire: number; host: number } {
    this.wirePort = this.endpoints.length;
    this.hostPort = this.endpoints.length + 1;
    this.names = [...this.endpoints.map((e) => e.name), 'wire', 'host'];
    return { wire: this.wirePort, host: this.hostPort };
  }

  report(): SwitchReport {
    const notes: string[] = [];
    if (this.lowerPromisc)
      notes.push('the lower device is promiscuous (no unicast filter slots, passthru, or a promiscuous endpoint)');
    if (this.passthru !== null) notes.push(`${this.passthru.name} is in passthru mode: it takes every unicast frame`);
    const wire = this.names[this.wirePort];
    return { promiscuous: this.lowerPromisc && wire !== undefined ? [wire] : [], notes };
  }

  get lowerIsPromiscuous(): boolean {
    return this.lowerPromisc;
  }

  endpointMac(name: string): Mac | undefined {
    return this.endpoints.find((e) => e.name === name)?.mac;
  }

  // --- deciding ---------------------------------------------------------------------------------
  // Per frame, so nothing here allocates: addresses are tested where they lie in the frame
  // (frame-address.ts says why a MAC must not travel as a number), reasons are constants.
  //
  // Kept small on purpose. V8 inlines about 900 bytes of bytecode into one optimised function;
  // each call it does not inline costs more here than a MAC lookup does. So what the usual frame
  // does stays in a few short functions (decide → transmit or receive → deliverUnicast / flood),
  // and what it does not (source-mode clones, errors) sits in functions of its own.

  decide(ingress: number, frame: EthernetView, d: Decision): void {
    this.hostReason = null;
    if (ingress === this.wirePort) this.receive(frame, d);
    else if (ingress === this.hostPort) this.hostSend(d);
    else {
      const e = this.byPort[ingress] ?? null;
      if (e === null) throw notBound(ingress);
      this.transmit(e, frame, d);
    }
    // The host stack took it but no port stands for the host: nothing to send, and the
    // forwarder counts it under the reason the host got it.
    if (d.outputs.length === 0 && d.drop === null) d.discard(this.hostReason ?? MacvlanReason.HOST_NOT_BOUND);
  }

  /** Pass the frame up to the lower's own stack (RX_HANDLER_PASS). */
  private toHost(reason: string, d: Decision): void {
    if (this.hostPort >= 0) d.forward(this.hostPort, reason);
    else {
      d.step('host', reason);
      this.hostReason = reason;
    }
  }

  /** macvlan_hash_lookup for the frame's address at `field` (DST or SRC). */
  private endpointAt(frame: EthernetView, field: number): Endpoint | null {
    const index = this.byMac.getAt(frame.bytes, frame.offset + field);
    return index === ABSENT ? null : this.endpoints[index]!;
  }

  // --- transmit: macvlan_queue_xmit -------------------------------------------------------------

  private transmit(e: Endpoint, frame: EthernetView, d: Decision): void {
    if (isGroupAt(frame.bytes, frame.offset + DST)) {
      if (e.rules.txGroupTo !== 0 && frame.etherType !== ETH_P_PAUSE)
        this.flood(frame, e, e.rules.txGroupTo, MacvlanReason.TX_GROUP_LOCAL, d);
      d.forward(this.wirePort, MacvlanReason.TX_WIRE);
      return;
    }
    const dest = this.endpointAt(frame, DST);
    if (dest !== null && (dest.modeBit & e.rules.txUnicastTo) !== 0) {
      // dev_forward_skb(lowerdev): the frame runs macvlan_handle_frame on the lower, source
      // clones included, and never reaches the wire. There the same lookup finds `dest` again
      // (no passthru endpoint shares a lower with a bridge one), so it is not repeated.
      if (d.steps !== null) d.step(e.name, MacvlanReason.TX_UNICAST_LOCAL, `to ${dest.name}`);
      if (this.bySource.size === 0 || !this.cloneToSources(frame, d)) this.deliverUnicast(dest, d);
      return;
    }
    d.forward(this.wirePort, MacvlanReason.TX_WIRE);
  }

  private hostSend(d: Decision): void {
    d.forward(this.wirePort, MacvlanReason.HOST_TX);
  }

  // --- receive: macvlan_handle_frame ------------------------------------------------------------

  private receive(frame: EthernetView, d: Decision): void {
    // An empty source hash (no source-mode endpoint lists anyone) has nothing to look up.
    if (this.bySource.size > 0 && this.cloneToSources(frame, d)) return;
    if (isGroupAt(frame.bytes, frame.offset + DST)) this.receiveGroup(frame, d);
    else this.deliverUnicast(this.passthru ?? this.endpointAt(frame, DST), d);
  }

  /** macvlan_forward_source: clones for source-mode endpoints; true when a nodst one consumed
   *  the frame, which then goes no further. */
  private cloneToSources(frame: EthernetView, d: Decision): boolean {
    const list = this.bySource.getAt(frame.bytes, frame.offset + SRC);
    if (list === ABSENT) return false;
    let consume = false;
    for (const e of this.sourceLists[list]!) {
      if (e.nodst) consume = true;
      if (e.up) d.forward(e.port, MacvlanReason.SOURCE_CLONE);
    }
    if (!consume) return false;
    if (d.outputs.length === 0) d.discard(MacvlanReason.SOURCE_NODST);
    else d.step(LOWER, MacvlanReason.SOURCE_NODST);
    return true;
  }

  private receiveGroup(frame: EthernetView, d: Decision): void {
    const sender = this.endpointAt(frame, SRC);
    if (sender !== null && sender.rules.rxGroupFromSelf === 'sender') {
      // "forward to original port": no filter, no host copy.
      d.forward(sender.port, MacvlanReason.GROUP_TO_SENDER);
      return;
    }
    const mask = sender === null ? EXTERNAL_GROUP_FLOOD : (sender.rules.rxGroupFromSelf as number);
    const reason =
      sender === null
        ? MacvlanReason.GROUP_FROM_OUTSIDE
        : sender.mode === 'vepa'
          ? MacvlanReason.GROUP_FROM_VEPA
          : MacvlanReason.GROUP_FROM_BRIDGE;
    const dst = frame.offset + DST;
    if (this.portBc.hasAt(frame.bytes, dst)) d.step(LOWER, MacvlanReason.GROUP_QUEUED);
    else if (this.portMc.hasAt(frame.bytes, dst)) d.step(LOWER, MacvlanReason.GROUP_DIRECT);
    else {
      d.step(LOWER, MacvlanReason.GROUP_NOT_JOINED);
      this.toHost(MacvlanReason.GROUP_TO_HOST, d);
      return;
    }
    d.step(LOWER, reason);
    if (frame.etherType === ETH_P_PAUSE) d.step(LOWER, MacvlanReason.PAUSE);
    else this.flood(frame, sender, mask, reason, d);
    this.toHost(MacvlanReason.GROUP_TO_HOST, d);
  }

  /** macvlan_broadcast: every endpoint in `mask` except the sender, through its own mc_filter. */
  private flood(frame: EthernetView, sender: Endpoint | null, mask: number, reason: string, d: Decision): void {
    const dst = frame.offset + DST;
    const endpoints = this.endpoints;
    // An index loop: for-of wraps the loop in the iterator's try/finally.
    for (let i = 0; i < endpoints.length; i++) {
      const e = endpoints[i]!;
      if (e === sender || !e.up || (e.modeBit & mask) === 0) continue;
      if (e.filter.hasAt(frame.bytes, dst)) d.forward(e.port, reason);
      else if (d.steps !== null) this.stepFiltered(e, frame, d);
    }
  }

  /** For trace: which bit of the endpoint's mc_filter the group missed. */
  private stepFiltered(e: Endpoint, frame: EthernetView, d: Decision): void {
    d.step(e.name, MacvlanReason.FILTERED, `bit ${mcHash(frame.dst, e.filter.mix)}`);
  }

  /** The endpoint owning a unicast destination (null: none does) gets the frame. */
  private deliverUnicast(e: Endpoint | null, d: Decision): void {
    if (e === null) this.toHost(MacvlanReason.UNICAST_TO_HOST, d);
    else if (!e.rules.rxUnicastByDestination) this.toHost(MacvlanReason.SOURCE_NOT_BY_DST, d);
    else if (!e.up) {
      if (d.outputs.length === 0) d.discard(MacvlanReason.ENDPOINT_DOWN);
      else d.step(e.name, MacvlanReason.ENDPOINT_DOWN);
    } else d.forward(e.port, e.rules.rxAllUnicast ? MacvlanReason.PASSTHRU : MacvlanReason.UNICAST);
  }
}

function notBound(ingress: number): TapyardError {
  return new TapyardError('EUSAGE', `port ${ingress} is not bound to the macvlan switch`);
}
