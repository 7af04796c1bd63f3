// The two standard labs, as networks of models: what `tapyard trace` describes and what the
// conformance tests build in namespaces.
//
//   macvlan   endpoints ── macvlan(lower) ──wire── [external switch, hairpin on/off] ── ext
//                              └── host (the lower's own stack)
//   bridge    station per port ── learning bridge ── host (the bridge's own stack)

import { TapyardError } from '../error.js';
import { EtherType } from '../frame/ethernet.js';
import { type Mac, readMac } from '../mac.js';
import { CrossConnect } from '../switch/cross-connect.js';
import { type BridgeConfig, type BridgePortConfig, LearningBridge } from '../switch/learning-bridge.js';
import { type EndpointConfig, Macvlan } from '../switch/macvlan.js';
import { type CopyKind, macvlanKind, stackKind } from './copy-kind.js';
import { HairpinSwitch, TOWARD_LOWER } from './hairpin-switch.js';
import { type Delivery, type Journey, Network } from './network.js';

/** How the lower's wire reaches the external host. */
export type Wire = 'direct' | 'switch' | 'hairpin';
export const WIRES: readonly Wire[] = ['direct', 'switch', 'hairpin'];

export const HOST = 'host';
/** A tapyard's port toward the endpoint's macvtap. */
const TAPYARD_WIRE = 'mvt';
export const EXT = 'ext';

/** Locally administered defaults, readable in a trace. */
export const DEFAULT_HOST_MAC: Mac = 0x02_00_00_00_00_01;
export const DEFAULT_EXT_MAC: Mac = 0x02_00_00_00_00_02;
export function defaultEndpointMac(index: number): Mac {
  return 0x02_00_00_00_01_00 + index + 1;
}
export function defaultStationMac(index: number): Mac {
  return 0x02_00_00_00_02_00 + index + 1;
}

/**
 * The groups every Linux interface joins by itself: 224.0.0.1 once IPv4 is up (ip_mc_up) and
 * ff02::1 at creation, even with disable_ipv6 set. A macvlan endpoint's mc_filter has their bits.
 */
export const LINUX_DEFAULT_GROUPS: readonly Mac[] = [0x01_00_5e_00_00_01, 0x33_33_00_00_00_01];

/** The endpoint's guest is served by a tapyard with an access port of this VLAN (its macvtap side a trunk). */
export type VlanEndpointConfig = EndpointConfig & { vlan?: number };

export interface MacvlanLabOptions {
  endpoints: readonly VlanEndpointConfig[];
  wire: Wire;
  /** The external switch's port to ext is an access port of this VLAN (its port to the lower a trunk). */
  extVlan?: number;
  lowerMac?: Mac;
  extMac?: Mac;
  lowerUnicastFilter?: boolean;
  bcCutoff?: number;
  /** The external switch's ageing time and clock. */
  ageingMs?: number;
  now?: () => number;
}

/** What both labs are: named stations with MACs on a network of models, and a way to send. */
abstract class ModelLab {
  readonly network = new Network();
  /** Station name → its MAC (for macvlan: every endpoint, host = the lower's MAC, ext). */
  readonly macs = new Map<string, Mac>();

  stations(): string[] {
    return [...this.macs.keys()];
  }

  /** The MAC of STATION; one sentence when the lab has no station of that name. */
  mac(station: string): Mac {
    const mac = this.macs.get(station);
    if (mac === undefined)
      throw new TapyardError('EUSAGE', `no station named ${station} (stations: ${this.stations().join(', ')})`);
    return mac;
  }

  send(from: string, bytes: Uint8Array, trace = true): Journey {
    this.mac(from); // refuses a sender that is no station
    const journey = this.network.send(from, bytes, trace);
    const dst = readMac(bytes, 0);
    for (const d of journey.deliveries) d.kind = this.copyKind(d, dst, from);
    return journey;
  }

  /** How the station's stack classifies a copy for `dst` sent by `from` (copy-kind.ts). */
  protected abstract copyKind(delivery: Delivery, dst: Mac, from: string): CopyKind;
}

export class MacvlanLab extends ModelLab {
  readonly macvlan: Macvlan;
  readonly external: HairpinSwitch | null;

  constructor(options: MacvlanLabOptions) {
    super();
    const lowerMac = options.lowerMac ?? DEFAULT_HOST_MAC;
    const extMac = options.extMac ?? DEFAULT_EXT_MAC;
    const names = new Set<string>();
    for (const e of options.endpoints) {
      if (e.name === HOST || e.name === EXT || e.name === TOWARD_LOWER)
        throw new TapyardError('EUSAGE', `'${e.name}' is reserved; name the endpoint something else`);
      if (names.has(e.name)) throw new TapyardError('EUSAGE', `two endpoints named ${e.name}`);
      names.add(e.name);
    }
    this.macvlan = new Macvlan({
      lower: {
        mac: lowerMac,
        ...(options.lowerUnicastFilter === undefined ? {} : { unicastFilter: options.lowerUnicastFilter }),
        ...(options.bcCutoff === undefined ? {} : { bcCutoff: options.bcCutoff }),
      },
      endpoints: options.endpoints.map((e, i) => ({ ...e, mac: e.mac ?? defaultEndpointMac(i) })),
    });
    this.macvlan.bindNodes();
    const wireName = options.wire === 'direct' ? EXT : TOWARD_LOWER;
    // A guest behind a tapyard with VLANs: station ── tapyard (access) ── (trunk) the macvtap.
    const port = (e: VlanEndpointConfig) => (e.vlan === undefined ? e.name : `${e.name}-mvt`);
    this.network.add('macvlan', this.macvlan, [...options.endpoints.map(port), wireName, HOST]);
    for (const e of options.endpoints) {
      const vid = e.vlan;
      if (vid === undefined) continue;
      this.network.add(`tapyard-${e.name}`, new CrossConnect(), [e.name, TAPYARD_WIRE], {
        vlan: {
          proto: EtherType.VLAN,
          ports: [
            { mode: 'access', vid },
            { mode: 'trunk', allowed: [vid], native: null },
          ],
        },
        passThrough: true,
      });
      this.network.cable(`tapyard-${e.name}/${TAPYARD_WIRE}`, `macvlan/${port(e)}`);
    }
    if (options.extVlan !== undefined && options.wire === 'direct')
      throw new TapyardError(
        'EUSAGE',
        'a VLAN on the external switch needs a switch on the wire (--wire switch or hairpin)',
      );
    if (options.wire === 'direct') this.external = null;
    else {
      this.external = new HairpinSwitch({
        hairpin: options.wire === 'hairpin',
        stations: [EXT],
        ...(options.ageingMs === undefined ? {} : { ageingMs: options.ageingMs }),
        ...(options.now === undefined ? {} : { now: options.now }),
      });
      // The switch's own stack is not a station here: nothing in these labs talks to it.
      const vid = options.extVlan;
      this.network.add(
        'switch',
        this.external,
        [TOWARD_LOWER, EXT],
        vid === undefined
          ? {}
          : {
              vlan: {
                proto: EtherType.VLAN,
                ports: [
                  { mode: 'trunk', allowed: [vid], native: null },
                  { mode: 'access', vid },
                ],
              },
            },
      );
      this.network.cable(`macvlan/${TOWARD_LOWER}`, `switch/${TOWARD_LOWER}`);
    }
    for (const e of options.endpoints) this.macs.set(e.name, this.macvlan.endpointMac(e.name)!);
    this.macs.set(HOST, lowerMac);
    this.macs.set(EXT, extMac);
  }

  protected copyKind(d: Delivery, dst: Mac): CopyKind {
    const own = this.mac(d.station);
    if (d.station === HOST || d.station === EXT) return stackKind(dst, [own]);
    return macvlanKind(dst, d.reason, own, this.mac(HOST));
  }
}

export interface BridgeLabOptions {
  ports: readonly BridgePortConfig[];
  bridgeMac?: Mac;
  /** The MAC of the station behind each port, by port name (default 02:00:00:00:02:NN). */
  stationMacs?: ReadonlyMap<string, Mac>;
  ageingMs?: number;
  now?: () => number;
  /** The bridge's other settings (group_fwd_mask, multicast snooping). */
  bridge?: Omit<BridgeConfig, 'ports' | 'mac' | 'ageingMs' | 'now'>;
}

export class BridgeLab extends ModelLab {
  readonly bridge: LearningBridge;

  constructor(options: BridgeLabOptions) {
    super();
    const names = new Set<string>();
    for (const p of options.ports) {
      if (p.name === HOST) throw new TapyardError('EUSAGE', `'${HOST}' is reserved for the bridge's own stack`);
      if (names.has(p.name)) throw new TapyardError('EUSAGE', `two bridge ports named ${p.name}`);
      names.add(p.name);
    }
    const bridgeMac = options.bridgeMac ?? DEFAULT_HOST_MAC;
    this.bridge = new LearningBridge({
      ...(options.ageingMs === undefined ? {} : { ageingMs: options.ageingMs }),
      ...(options.now === undefined ? {} : { now: options.now }),
    });
    this.bridge.configure({ ...options.bridge, ports: options.ports, mac: bridgeMac });
    this.bridge.bindNodes();
    this.network.add('bridge', this.bridge, [...options.ports.map((p) => p.name), HOST]);
    options.ports.forEach((p, i) => {
      this.macs.set(p.name, options.stationMacs?.get(p.name) ?? defaultStationMac(i));
    });
    this.macs.set(HOST, bridgeMac);
    this.bridgeMac = bridgeMac;
    for (const p of options.ports) if (p.mac !== undefined && p.mac !== null) this.portMacs.set(p.name, p.mac);
  }

  private readonly bridgeMac: Mac;
  /** Ports' own MACs (local-mac=), by port name. */
  private readonly portMacs = new Map<string, Mac>();

  protected copyKind(d: Delivery, dst: Mac, from: string): CopyKind {
    if (d.station !== HOST) return stackKind(dst, [this.mac(d.station)]);
    // The bridge's MAC is host (br_handle_frame); else what the ingress port's eth_type_trans said.
    const ingress = this.portMacs.get(from);
    return stackKind(dst, ingress === undefined ? [this.bridgeMac] : [this.bridgeMac, ingress]);
  }
}
