// The switches' own keys: `--switch bridge,ageing=300`, and per port what it is to the switch
// (`role=lower`, `mode=vepa`, `hairpin`, ...). `tapyard trace` reads the same declarations for its
// topologies, so a bridge port written for trace and for forward is the same typed config.

import { type Key, type Keys, key, keyHelp, type Options, optional } from '../grammar/keys.js';
import { flag, integer, list, mac, oneOf, seconds, usageError, type ValueType } from '../grammar/value.js';
import type { Mac } from '../mac.js';
import { LINUX_DEFAULT_GROUPS } from '../sim/topology.js';
import type { BridgePortConfig, McastRouter } from '../switch/learning-bridge.js';
import { DEFAULT_AGEING_MS } from '../switch/learning-bridge.js';
import { type EndpointConfig, type LowerConfig, MACVLAN_MODE_NAMES } from '../switch/macvlan.js';
import type { BridgeRole, MacvlanRole, SwitchConfig, SwitchKind } from '../switch/roles.js';

// --- the bridge -------------------------------------------------------------------------------

export const BRIDGE_KEYS = {
  ageing: key('ageing', seconds(), DEFAULT_AGEING_MS / 1000, 'FDB ageing_time in seconds'),
  snooping: key('snooping', flag, true, 'mcast_snooping: IGMP/MLD build an mdb (the kernel default)'),
  querier: key('querier', flag, false, 'mcast_querier: the bridge is a querier, so snooped groups go to members only'),
} as const;

export const BRIDGE_PORT_KEYS = {
  hairpin: key('hairpin', flag, false, 'send frames back out the port they came in on'),
  flood: key('flood', flag, true, 'unknown unicast is flooded to this port'),
  bcastFlood: key('bcast-flood', flag, true, 'broadcast is flooded to this port'),
  mcastFlood: key('mcast-flood', flag, true, 'multicast is flooded to this port'),
  learning: key('learning', flag, true, 'learn source MACs seen on this port'),
  mcastRouter: key(
    'mcast-router',
    integer(0, 2),
    1,
    'mcast_router: 0 never a router port, 1 while queries arrive on it, 2 always',
  ) as Key<McastRouter>,
  fastLeave: key('fastleave', flag, false, 'a leave ends the membership of the port at once'),
  localMac: optional('local-mac', mac, "an address the bridge itself owns on this port (the port device's MAC)"),
} as const;

const BRIDGE_HOST_KEYS = {
  mac: optional('mac', mac, "the bridge device's MAC (default: this port's own)"),
} as const;

/** A bridge port from its keys (trace --port and forward --port alike). */
export function readBridgePort(o: Options): Omit<BridgePortConfig, 'name'> {
  const { localMac, ...flags } = o.take(BRIDGE_PORT_KEYS);
  return { ...flags, mac: localMac ?? null };
}

// --- macvlan ----------------------------------------------------------------------------------

/** A source-list entry: a MAC, or (in trace) a station whose MAC the topology knows. */
export type SourceRef = Mac | string;
const macOrStation: ValueType<SourceRef> = {
  shape: 'MAC|STATION',
  parse: (text, where) => (/^[A-Za-z][A-Za-z0-9_-]{0,31}$/.test(text) ? text : mac.parse(text, where)),
};

export const MACVLAN_ENDPOINT_KEYS = {
  mode: key('mode', oneOf(MACVLAN_MODE_NAMES), 'vepa', 'the macvlan mode'),
  mac: optional('mac', mac, "the endpoint's MAC (default: the port's own)"),
  groups: key(
    'groups',
    list(mac),
    LINUX_DEFAULT_GROUPS,
    'multicast groups it joined (default: 224.0.0.1 and ff02::1, which Linux joins by itself)',
  ),
  sources: key('sources', list(macOrStation), [] as readonly SourceRef[], 'source mode: senders it gets a clone of'),
  nodst: key('nodst', flag, false, 'source mode: its clones consume the frame'),
  nopromisc: key('nopromisc', flag, false, "passthru: leave the lower's promiscuity alone"),
  promisc: key('promisc', flag, false, 'the endpoint is promiscuous'),
  allmulti: key('allmulti', flag, false, 'the endpoint takes all multicast'),
  down: key('down', flag, false, 'the endpoint is down'),
  hashMix: optional('hash-mix', integer(0, 0xffff_ffff), "the endpoint's mc_hash mix (a kernel address)"),
} as const;

const MACVLAN_LOWER_KEYS = {
  unicastFilter: key('unicast-filter', flag, false, 'the lower NIC has unicast filter slots (veth has none)'),
  mac: optional('mac', mac, "the lower's MAC"),
  bcCutoff: key('bc-cutoff', integer(-1, 1 << 30), 1, 'IFLA_MACVLAN_BC_CUTOFF'),
} as const;

const MACVLAN_HOST_KEYS = {
  mac: optional('mac', mac, "the lower's MAC, which its own stack uses (default: this port's own)"),
} as const;

/** An endpoint from its keys; source entries naming stations are left for the caller. */
export function readEndpoint(o: Options): Omit<EndpointConfig, 'name' | 'sources'> & { sources: readonly SourceRef[] } {
  const { down, hashMix, mac: m, ...rest } = o.take(MACVLAN_ENDPOINT_KEYS);
  return { ...rest, up: !down, ...(m === undefined ? {} : { mac: m }), ...(hashMix === undefined ? {} : { hashMix }) };
}

// --- per port, for tapyard forward --------------------------------------------------------------

export interface RoleTable {
  readonly keys: Readonly<Record<string, Keys>>;
  readonly fallback: string;
}

export const SWITCH_ROLES: Readonly<Record<SwitchKind, RoleTable | null>> = {
  cross: null,
  pairs: null,
  hub: null,
  bridge: { keys: { port: BRIDGE_PORT_KEYS, host: BRIDGE_HOST_KEYS }, fallback: 'port' },
  macvlan: {
    keys: { lower: MACVLAN_LOWER_KEYS, host: MACVLAN_HOST_KEYS, endpoint: MACVLAN_ENDPOINT_KEYS },
    fallback: 'endpoint',
  },
};

function roleKey(table: RoleTable): Key<string> {
  return key('role', oneOf(Object.keys(table.keys)), table.fallback, 'what this port is to the switch');
}

/** Every switch key a port spec may hold under `kind`, and why each other switch key does not apply. */
export function switchPortKeys(kind: SwitchKind): { known: string[]; elsewhere: Map<string, string> } {
  const known: string[] = [];
  const elsewhere = new Map<string, string>();
  const table = SWITCH_ROLES[kind];
  if (table !== null) {
    known.push('role');
    for (const keys of Object.values(table.keys)) for (const k of Object.values(keys)) known.push(k.name);
  }
  for (const [other, t] of Object.entries(SWITCH_ROLES)) {
    if (t === null || other === kind) continue;
    for (const keys of Object.values(t.keys)) {
      for (const k of [roleKey(t), ...Object.values(keys)]) {
        if (!known.includes(k.name) && !elsewhere.has(k.name)) {
          elsewhere.set(k.name, `means nothing to the ${kind} switch (it is a ${other} option: --switch ${other})`);
        }
      }
    }
  }
  return { known, elsewhere };
}

export type SwitchRole = BridgeRole | MacvlanRole | null;

/** Read what this port is to a switch of `kind` (null for switches without roles). */
export function readSwitchRole(kind: SwitchKind, o: Options): SwitchRole {
  const table = SWITCH_ROLES[kind];
  if (table === null) return null;
  const role = o.takeOne(roleKey(table));
  // roleKey only takes a role the table has.
  const ownKeys = Object.values(table.keys[role] ?? {});
  // A key that belongs to another role of this switch is named as such.
  for (const [other, keys] of Object.entries(table.keys)) {
    if (other === role) continue;
    for (const k of Object.values(keys)) {
      const mine = ownKeys.some((m) => m.name === k.name);
      if (!mine && o.has(k.name)) throw usageError(`${o.where}: ${k.name} is for role=${other}, not role=${role}`);
    }
  }
  if (kind === 'bridge') {
    if (role === 'host') return { role: 'host', mac: o.take(BRIDGE_HOST_KEYS).mac ?? null };
    return { role: 'port', port: readBridgePort(o) };
  }
  if (role === 'lower') return { role: 'lower', lower: readLower(o) };
  if (role === 'host') return { role: 'host', mac: o.take(MACVLAN_HOST_KEYS).mac ?? null };
  const { sources, ...endpoint } = readEndpoint(o);
  const named = sources.find((s) => typeof s === 'string');
  if (named !== undefined) throw usageError(`${o.where}: sources= takes MAC addresses here, not '${named}'`);
  return { role: 'endpoint', endpoint: { ...endpoint, sources: sources as Mac[] } };
}

function readLower(o: Options): LowerConfig {
  const { mac: m, ...rest } = o.take(MACVLAN_LOWER_KEYS);
  return { ...rest, ...(m === undefined ? {} : { mac: m }) };
}

/** The switch for `forward`, from its kind, its own options and each port's role and name (by index). */
export function switchConfig(
  kind: SwitchKind,
  own: Options,
  roles: readonly SwitchRole[],
  names: readonly string[],
): SwitchConfig {
  // A role that only one port may have: name the first two that claim it.
  const once = (role: string) => {
    const which = names.filter((_, i) => roles[i]?.role === role);
    if (which.length > 1) throw usageError(`two ports have role=${role} (${which[0]} and ${which[1]})`);
    return which.length;
  };
  switch (kind) {
    case 'pairs':
      // Checked here too, so that an odd count is bad usage before any device is opened.
      if (names.length % 2 !== 0) {
        throw usageError(`--switch pairs joins ports two by two (1 with 2, 3 with 4, ...): ${names.length} is odd`);
      }
      own.finish([]);
      return { kind };
    case 'cross':
    case 'hub':
      own.finish([]);
      return { kind };
    case 'bridge': {
      const { ageing, snooping, querier } = own.take(BRIDGE_KEYS);
      own.finish(Object.values(BRIDGE_KEYS).map((k) => k.name));
      once('host');
      return { kind, ageingMs: ageing * 1000, snooping, querier, roles: roles as BridgeRole[] };
    }
    case 'macvlan': {
      own.finish([]);
      once('host');
      if (once('lower') === 0) throw usageError('the macvlan switch needs one port with role=lower (the wire side)');
      return { kind, roles: roles as MacvlanRole[] };
    }
  }
}

/** The switch part of `forward --help`, from the declarations. */
export function switchHelp(): string[] {
  const lines = ['  --switch bridge[,key=value...]', ...keyHelp(Object.values(BRIDGE_KEYS), '      ', 24)];
  for (const [kind, table] of Object.entries(SWITCH_ROLES)) {
    if (table === null) continue;
    lines.push(`  ${kind}: role=${Object.keys(table.keys).join('|')} on each port (default ${table.fallback})`);
    for (const [role, keys] of Object.entries(table.keys)) {
      lines.push(`    role=${role}:`);
      lines.push(...keyHelp(Object.values(keys), '      ', 24));
    }
  }
  return lines;
}
