// A port on the command line: NAME=KIND:TARGET[,key=value|flag ...]
//   wire=macvtap:ty-1a2b3-mvt
//   guest=tap:ty-1a2b3-gtp,netns=ty-1a2b3-gst,offload=on
//   mirror=pcap:eth1,bpf=udp port 4789
// Its keys come from four declarations: the port kind's own (port-kinds.ts), the port features
// every kind has (the receive filter; the impairments, impair.ts), and what the port is to the
// switch (switch.ts), and its VLANs (vlan.ts). Any other key is an error, before any device is opened.

import type { RxFilterConfig } from '../filter/guest-filter.js';
import { RX_MODES } from '../filter/guest-filter.js';
import { type Key, key, keyHelp, Options, optional } from '../grammar/keys.js';
import { quote } from '../grammar/quote.js';
import { flag, integer, list, mac, oneOf, usageError } from '../grammar/value.js';
import type { ImpairConfig } from '../impair/config.js';
import type { Mac } from '../mac.js';
import type { DeviceConfig } from '../port/open.js';
import type { SwitchKind } from '../switch/roles.js';
import type { VlanPortConfig } from '../vlan/vlan-port.js';
import { IMPAIR_KEYS, readImpairments } from './impair.js';
import { DEVICE_KINDS, type DeviceKind, PORT_KINDS } from './port-kinds.js';
import { readSwitchRole, type SwitchRole, switchPortKeys } from './switch.js';
import { readVlanPort, VLAN_KEYS } from './vlan.js';

export interface PortConfig {
  readonly name: string;
  readonly device: DeviceConfig;
  /** The guest NIC's receive filter played on frames to this port; null: none. */
  readonly rxFilter: RxFilterConfig | null;
  /** What the port is to the switch; null for the cross-connect and the hub. */
  readonly role: SwitchRole;
  /** What happens to the frames tapyard writes to this port (loss, delay, ...); null: nothing. */
  readonly impair: ImpairConfig | null;
  /** The VLANs the port carries (access or trunk); null: the port is not VLAN-aware. */
  readonly vlan: VlanPortConfig | null;
}

const NAME = /^[A-Za-z][A-Za-z0-9_-]{0,31}$/;

export const RX_FILTER_KEYS = {
  on: key('rx-filter', flag, false, "play the guest NIC's virtio-net receive filter on frames to this port"),
  modes: key('rx-mode', list(oneOf(RX_MODES)), [], 'receive-mode switches to turn on (promisc starts off)'),
  table: key('rx-mac', list(mac), [], "the filter's MAC table (unicast and multicast)"),
  vlans: optional('rx-vlan', list(integer(0, 4095)), 'a VLAN filter: only these VIDs pass'),
  mac: optional('mac', mac, "the NIC's MAC (default: the port's own)"),
} as const;

function readRxFilter(o: Options, roleMac: Mac | undefined): RxFilterConfig | null {
  // A switch role that has a MAC (a macvlan endpoint, a bridge's host port) took `mac=` already;
  // the filter then plays a NIC with that MAC.
  const { on, mac: nicMac, ...rest } = o.take(RX_FILTER_KEYS);
  if (!on) {
    const stray = (['modes', 'table', 'vlans'] as const).find(
      (f) => rest[f] !== undefined && (rest[f] as readonly unknown[]).length > 0,
    );
    if (stray !== undefined) throw usageError(`${o.where}: ${RX_FILTER_KEYS[stray].name} needs rx-filter=on`);
    if (nicMac !== undefined) throw usageError(`${o.where}: mac= is the guest NIC's MAC of rx-filter=on, which is off`);
    return null;
  }
  const m = nicMac ?? roleMac ?? null;
  return Object.freeze({ mac: m, modes: rest.modes, table: rest.table, vlans: rest.vlans ?? null });
}

function roleMac(role: SwitchRole): Mac | undefined {
  if (role === null) return undefined;
  if (role.role === 'host') return role.mac ?? undefined;
  if (role.role === 'endpoint') return role.endpoint.mac;
  return undefined;
}

export function parsePortSpec(text: string, switchKind: SwitchKind): PortConfig {
  const bad = (why: string) => usageError(`bad --port ${quote(text)}: ${why} (NAME=KIND:TARGET[,key=value...])`);
  const eq = text.indexOf('=');
  if (eq < 0) throw bad('no NAME=');
  const name = text.slice(0, eq);
  if (!NAME.test(name)) throw bad(`${quote(name)} is not a port name (a letter, then letters, digits, - or _)`);
  const rest = text.slice(eq + 1);
  const colon = rest.indexOf(':');
  if (colon < 0) throw bad('no KIND:');
  const kind = rest.slice(0, colon);
  if (!(DEVICE_KINDS as string[]).includes(kind)) throw bad(`unknown kind ${quote(kind)} (${DEVICE_KINDS.join(', ')})`);
  const declaration = PORT_KINDS[kind as DeviceKind];
  const [target = '', ...parts] = rest.slice(colon + 1).split(',');
  const where = `port ${name}`;
  declaration.target.parse(target, `${where}: the ${kind} name`);
  const o = new Options(where, parts);
  const role = readSwitchRole(switchKind, o);
  // The device's keys before the filter's: a guest's mac= is its own, not the filter's NIC MAC.
  const device = declaration.build(name, target, o);
  const rxFilter = readRxFilter(o, roleMac(role));
  const impair = readImpairments(o);
  const vlan = readVlanPort(o);
  const { known, elsewhere } = switchPortKeys(switchKind);
  for (const other of DEVICE_KINDS) {
    if (other === kind) continue;
    for (const k of Object.values(PORT_KINDS[other].keys) as Key<unknown>[]) {
      if (!(k.name in declaration.keys)) elsewhere.set(k.name, `is a ${other} option; ${kind} ports do not take it`);
    }
  }
  o.finish(
    [
      ...(Object.values(declaration.keys) as Key<unknown>[]).map((k) => k.name),
      ...rxKeyNames(),
      ...Object.values(IMPAIR_KEYS).map((k) => k.name),
      ...Object.values(VLAN_KEYS).map((k) => k.name),
      ...known,
    ],
    elsewhere,
  );
  return Object.freeze({ name, device, rxFilter, role, impair, vlan });
}

function rxKeyNames(): string[] {
  return Object.values(RX_FILTER_KEYS).map((k) => k.name);
}

/** The port part of `forward --help`, from the declarations. */
export function portHelp(): string[] {
  const lines: string[] = [];
  for (const kind of DEVICE_KINDS) {
    const d = PORT_KINDS[kind];
    lines.push(`  ${`${kind}:${d.target.shape}`.padEnd(21)} ${d.about}`);
    lines.push(...keyHelp(Object.values(d.keys), '      ', 24));
  }
  lines.push('  every kind:');
  lines.push(...keyHelp(Object.values(RX_FILTER_KEYS), '      ', 24));
  lines.push('  every kind, impairments of the frames tapyard WRITES to the port (docs/impairments.md):');
  lines.push(...keyHelp(Object.values(IMPAIR_KEYS), '      ', 24));
  lines.push('  every kind, VLANs (docs/vlans.md; with one VLAN port, every port needs vlan= or trunk=):');
  lines.push(...keyHelp(Object.values(VLAN_KEYS), '      ', 24));
  return lines;
}
