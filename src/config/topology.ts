// A topology file (YAML, or JSON, which YAML reads too): a lab described once, brought up with
// `tapyard lab up FILE`. Its keys are declared here, once: the same declarations check a file
// (one line naming the key and its line for a typo or a wrong type) and print
// docs/topology.schema.json. Forwarder ports are port specs read by forward's own parser, so a
// port in a file means exactly what it means on the command line. docs/topology.md explains it.

import { readFileSync } from 'node:fs';
import { LineCounter, parseDocument } from 'yaml';
import { quote } from '../grammar/quote.js';
import { usageError } from '../grammar/value.js';
import { MACVLAN_MODE_NAMES, type MacvlanMode } from '../switch/macvlan.js';
import { SWITCH_KINDS, type SwitchKind } from '../switch/roles.js';
import { arr, bool, check, docError, type Fields, jsonSchema, obj, str, words } from './document-schema.js';
import { readForwardConfig } from './forward.js';
import { parsePortSpec } from './port.js';

export const CABLES = ['direct', 'switch', 'hairpin'] as const;
export type Cable = (typeof CABLES)[number];
export const GUEST_KINDS = ['tap', 'veth', 'macvlan', 'vm', 'builtin'] as const;
export type GuestKind = (typeof GUEST_KINDS)[number];
export const GUEST_VIAS = ['macvtap', 'bridge', 'lower', 'external'] as const;
export type GuestVia = (typeof GUEST_VIAS)[number];

const OCTET = '(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)';
const CIDR4 = new RegExp(`^${OCTET}\\.${OCTET}\\.${OCTET}\\.${OCTET}/([1-9]|[12]\\d|3[0-2])$`);
const cidr4 = str(CIDR4, 'an IPv4 address with its prefix, like 10.77.0.2/24');
const cidr6 = str(/^[0-9a-fA-F:]+\/\d{1,3}$/, 'an IPv6 address with its prefix, like fd77::2/64');
/** Short enough that ty-ID- and a one-letter prefix still fit the kernel's 15-byte names. */
export const GUEST_NAME = /^[a-z][a-z0-9]{0,3}$/;
/** A link's name in the file: ty-ID- (at most 10 bytes) and this fit the kernel's 15. */
const LINK_NAME = /^[a-z][a-z0-9]{0,4}$/;
/** The lab's own links and namespaces, which a guest may not be named after. */
export const RESERVED_NAMES = ['ext', 'hv', 'sw', 'eth', 'br', 'swx', 'swl', 'hmv', 'xmv', 'xtp'];
const MACVLAN_MODES = MACVLAN_MODE_NAMES.filter((m) => m !== 'source');

const DEFAULT_VIA: Record<GuestKind, GuestVia> = {
  tap: 'macvtap',
  veth: 'bridge',
  macvlan: 'lower',
  vm: 'macvtap',
  builtin: 'macvtap',
};

/** Who carries a VM guest's frames to its endpoint. */
export const VM_BACKENDS = ['tap', 'tapyard-vhost'] as const;
export type VmBackend = (typeof VM_BACKENDS)[number];

const GUEST_FIELDS: Fields = {
  name: {
    shape: str(GUEST_NAME, 'a lowercase letter, then up to 3 letters or digits'),
    help: "the guest's namespace, ty-ID-NAME",
    required: true,
  },
  nic: {
    shape: str(LINK_NAME, 'a lowercase letter, then up to 4 letters or digits'),
    help: "the guest's NIC in its namespace, ty-ID-NIC (default: the guest's name)",
  },
  endpoint: {
    shape: str(LINK_NAME, 'a lowercase letter, then up to 4 letters or digits'),
    help: "the guest's macvtap, or its port on the bridge, in hv: ty-ID-ENDPOINT (default: w and the guest's name)",
  },
  kind: {
    shape: words(GUEST_KINDS),
    help:
      'tap: a namespace behind a persistent tap that a forwarder attaches to; veth: a namespace on a veth; ' +
      "macvlan: a namespace holding a macvlan of the lower; vm: a QEMU VM; builtin: no namespace, tapyard's " +
      'own guest (a guest: port of a forwarder) on the endpoint',
    fallback: 'tap',
  },
  via: {
    shape: words(GUEST_VIAS),
    help:
      "macvtap: a macvtap on the lower (libvirt's type='direct'); bridge: a port of the Linux bridge br in hv; " +
      'lower: the macvlan itself (kind macvlan); external: a veth straight to the external host (no lower). ' +
      'Default: macvtap, bridge for a veth, lower for a macvlan',
  },
  mode: { shape: words(MACVLAN_MODES), help: 'the macvtap or macvlan mode', fallback: 'bridge' },
  address: { shape: cidr4, help: "the guest's IPv4 address and prefix" },
  address6: { shape: cidr6, help: "the guest's IPv6 address (only with ipv6: true)" },
  accel: { shape: words(['tcg', 'kvm']), help: 'kind vm: plain emulation or KVM', fallback: 'tcg' },
  backend: {
    shape: words(VM_BACKENDS),
    help:
      "kind vm: tap, QEMU's own tap backend on the endpoint (as libvirt wires it); tapyard-vhost, tapyard " +
      'between the endpoint and QEMU, serving the guest over vhost-user (docs/vm.md)',
    fallback: 'tap',
  },
};

const FORWARDER_FIELDS: Fields = {
  name: { shape: str(/^[a-z][a-z0-9-]{0,15}$/, 'a lowercase name'), help: 'what status calls it', required: true },
  netns: {
    shape: str(/^[a-z][a-z0-9]{0,3}$/, "a namespace of the lab: hv, ext, sw or a guest's name"),
    help: 'where it runs',
    fallback: 'hv',
  },
  switch: { shape: str(/^[a-z][a-z0-9=,:+._-]*$/, 'KIND[,key=value...]'), help: 'as forward --switch' },
  capture: { shape: str(/^[^\n]+$/, 'a file name'), help: 'as forward --capture: every frame read, to pcapng' },
  ports: {
    shape: arr({ type: 'text-or-map', required: ['name', 'kind', 'target'] }, 64),
    help:
      'as forward --port: NAME=KIND:TARGET[,key=value...], or a map {name, kind, target, key: value...}; ' +
      "targets and netns= name the lab's own links and namespaces without the ty-ID- prefix",
    required: true,
  },
};

export const TOPOLOGY_FIELDS: Fields = {
  name: {
    shape: str(/^[a-z][a-z0-9-]{0,31}$/, 'a lowercase name'),
    help: "the lab's name: lab down/status/exec take it",
    required: true,
  },
  about: { shape: str(), help: 'one line saying what the lab shows' },
  ipv6: { shape: bool, help: 'keep IPv6 on (off: counters see only the traffic a test sends)', fallback: false },
  'multi-queue': { shape: bool, help: 'make every tap multi_queue (forward --queues N with mq)', fallback: false },
  lower: {
    shape: obj({
      cable: {
        shape: words(CABLES),
        help:
          'direct: a veth to the external host; switch: through a Linux bridge in namespace sw; ' +
          "hairpin: that switch's port reflects (VEPA)",
        fallback: 'direct',
      },
      address: {
        shape: cidr4,
        help: "the hypervisor's own address: on the lower itself, or on the bridge br when a guest is bridged",
      },
    }),
    help: "the hypervisor's NIC (ty-ID-eth in namespace hv) and what it is cabled to; absent: no hypervisor",
  },
  external: {
    shape: obj({
      address: { shape: cidr4, help: "the external host's address", required: true },
      address6: { shape: cidr6, help: 'its IPv6 address (only with ipv6: true)' },
      'vlan-host': {
        shape: bool,
        help: "move ext's address to a tap xtp behind a passthru macvtap xmv, for a tapyard in ext to untag",
        fallback: false,
      },
    }),
    help: 'the rest of the network: namespace ext, its veth ty-ID-ext',
    required: true,
  },
  'host-macvlan': {
    shape: obj({
      mode: { shape: words(MACVLAN_MODES), help: 'its mode', fallback: 'bridge' },
      address: { shape: cidr4, help: "the hypervisor's address on it", required: true },
    }),
    help: "the hypervisor's own stack on a macvlan hmv of the lower (the usual fix for host to guest)",
  },
  guests: { shape: arr(obj(GUEST_FIELDS), 4), help: 'the guests, in order (1 to 4)', required: true },
  forwarders: { shape: arr(obj(FORWARDER_FIELDS), 8), help: 'tapyard forwarders the lab starts' },
};

export interface GuestConfig {
  readonly name: string;
  /** The short names of its NIC (in its namespace) and of its endpoint in hv. */
  readonly nic: string;
  readonly endpoint: string;
  readonly kind: GuestKind;
  readonly via: GuestVia;
  readonly mode: MacvlanMode;
  readonly address: string | null;
  readonly address6: string | null;
  readonly accel: 'tcg' | 'kvm';
  readonly backend: VmBackend;
}

export interface ForwarderConfig {
  readonly name: string;
  readonly netns: string;
  /** forward's argv, names as the file wrote them (the builder prefixes them). */
  readonly ports: readonly string[];
  readonly switch: string | null;
  readonly capture: string | null;
}

export interface Topology {
  readonly name: string;
  readonly about: string | null;
  readonly ipv6: boolean;
  readonly multiQueue: boolean;
  readonly lower: { readonly cable: Cable; readonly address: string | null } | null;
  readonly external: { readonly address: string; readonly address6: string | null; readonly vlanHost: boolean };
  readonly hostMacvlan: { readonly mode: MacvlanMode; readonly address: string } | null;
  readonly guests: readonly GuestConfig[];
  readonly forwarders: readonly ForwarderConfig[];
}

/** The published schema: docs/topology.schema.json. */
export function topologyJsonSchema(): string {
  const schema = {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    title: 'tapyard topology file',
    ...jsonSchema(obj(TOPOLOGY_FIELDS)),
  };
  return `${JSON.stringify(schema, null, 2)}\n`;
}

export function readTopologyFile(path: string): Topology {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw usageError(`cannot read ${quote(path)}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  return parseTopology(text, path);
}

type Raw = Record<string, unknown> & { line: number };

export function parseTopology(text: string, file: string): Topology {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const first = doc.errors[0];
  if (first !== undefined) {
    const line = first.linePos?.[0]?.line ?? 1;
    throw docError(file, line, '', `not YAML or JSON: ${first.message.split('\n')[0]}`);
  }
  const raw = check(doc.contents as never, obj(TOPOLOGY_FIELDS), { file, lines, path: '' }) as Raw;
  const fail = (at: { line: number }, path: string, sentence: string) => docError(file, at.line, path, sentence);
  const lower = raw.lower as Raw | undefined;
  const external = raw.external as Raw;
  const hostMacvlan = raw['host-macvlan'] as Raw | undefined;
  const guests = (raw.guests as Raw[]).map((g, i): GuestConfig & { line: number } => {
    const path = `guests[${i}]`;
    const name = g.name as string;
    if (RESERVED_NAMES.includes(name)) throw fail(g, `${path}.name`, `${quote(name)} is one of the lab's own names`);
    const kind = g.kind as GuestKind;
    const via = (g.via ?? DEFAULT_VIA[kind]) as GuestVia;
    const allowed: Record<GuestKind, readonly GuestVia[]> = {
      tap: ['macvtap', 'bridge'],
      veth: ['bridge', 'external'],
      macvlan: ['lower'],
      vm: ['macvtap', 'bridge'],
      builtin: ['macvtap', 'bridge'],
    };
    if (!allowed[kind].includes(via))
      throw fail(g, `${path}.via`, `a ${kind} guest goes via ${allowed[kind].join(' or ')}, not ${via}`);
    if (via === 'external' && lower !== undefined)
      throw fail(g, `${path}.via`, 'external (a veth straight to the external host) is for a lab with no lower');
    if (via !== 'external' && lower === undefined)
      throw fail(g, `${path}.via`, `${via} needs a lower (the hypervisor's NIC): add lower:`);
    if (kind !== 'builtin' && g.address === undefined) throw fail(g, path, 'needs the key address');
    return {
      line: g.line,
      name,
      nic: (g.nic as string | undefined) ?? name,
      endpoint: (g.endpoint as string | undefined) ?? `w${name}`,
      kind,
      via,
      mode: g.mode as MacvlanMode,
      address: (g.address as string | undefined) ?? null,
      address6: (g.address6 as string | undefined) ?? null,
      accel: g.accel as 'tcg' | 'kvm',
      backend: g.backend as VmBackend,
    };
  });
  if (guests.length === 0) throw fail(raw, 'guests', 'needs at least one guest');
  const seen = new Set<string>();
  const links = new Set<string>();
  for (const [i, g] of guests.entries()) {
    if (seen.has(g.name)) throw fail(g, `guests[${i}].name`, `two guests are named ${quote(g.name)}`);
    seen.add(g.name);
    for (const [k, link] of [
      ['nic', g.nic],
      ['endpoint', g.endpoint],
    ] as const) {
      if (RESERVED_NAMES.includes(link) || links.has(link))
        throw fail(g, `guests[${i}].${k}`, `${quote(link)} is already a link of this lab`);
      links.add(link);
    }
  }
  if (guests.some((g) => g.via === 'external') && guests.length > 1)
    throw fail(raw, 'guests', 'a lab with no lower has one guest, on a veth to the external host');
  if (hostMacvlan !== undefined && lower === undefined)
    throw fail(hostMacvlan, 'host-macvlan', "needs a lower (the hypervisor's NIC)");
  const topology: Topology = {
    name: raw.name as string,
    about: (raw.about as string | undefined) ?? null,
    ipv6: raw.ipv6 as boolean,
    multiQueue: raw['multi-queue'] as boolean,
    lower: lower === undefined ? null : { cable: lower.cable as Cable, address: (lower.address as string) ?? null },
    external: {
      address: external.address as string,
      address6: (external.address6 as string | undefined) ?? null,
      vlanHost: external['vlan-host'] as boolean,
    },
    hostMacvlan:
      hostMacvlan === undefined
        ? null
        : { mode: hostMacvlan.mode as MacvlanMode, address: hostMacvlan.address as string },
    guests: guests.map(({ line: _, ...g }) => g),
    forwarders: [],
  };
  const forwarders = ((raw.forwarders as Raw[] | undefined) ?? []).map((f, i) =>
    readForwarder(f, `forwarders[${i}]`, topology, file),
  );
  return Object.freeze({ ...topology, forwarders });
}

/** Every namespace and link name the lab will have, short (without ty-ID-). */
export function labNames(t: Topology): { namespaces: Set<string>; links: Set<string> } {
  const namespaces = new Set<string>(['ext']);
  const links = new Set<string>(['ext']);
  if (t.lower !== null) {
    namespaces.add('hv');
    links.add('eth');
    if (t.lower.cable !== 'direct') {
      namespaces.add('sw');
      for (const l of ['sw', 'swx', 'swl']) links.add(l);
    }
  }
  if (t.hostMacvlan !== null) links.add('hmv');
  if (t.external.vlanHost) {
    links.add('xmv');
    links.add('xtp');
  }
  if (t.guests.some((g) => g.via === 'bridge')) links.add('br');
  for (const g of t.guests) {
    if (g.kind !== 'vm' && g.kind !== 'builtin') {
      namespaces.add(g.name);
      links.add(g.nic);
    }
    if (g.via === 'macvtap' || g.via === 'bridge') links.add(g.endpoint);
  }
  return { namespaces, links };
}

const LINK_KINDS = ['macvtap', 'tap', 'pcap'];

/** A port spec with its lab names (target, netns=) given `rename`; other text as it was. */
export function renamePort(spec: string, rename: (short: string) => string): string {
  const eq = spec.indexOf('=');
  const colon = spec.indexOf(':', eq);
  if (eq < 0 || colon < 0) return spec;
  const kind = spec.slice(eq + 1, colon);
  const [target = '', ...parts] = spec.slice(colon + 1).split(',');
  const named = LINK_KINDS.includes(kind) ? rename(target) : target;
  const keys = parts.map((p) => (p.startsWith('netns=') ? `netns=${rename(p.slice(6))}` : p));
  return [`${spec.slice(0, colon + 1)}${named}`, ...keys].join(',');
}

/** A port as the spec text forward reads: as written, or from a map `{name, kind, target, key: value}`. */
function portText(port: Record<string, unknown>): string {
  if (typeof port.text === 'string') return port.text;
  const { line: _, name, kind, target, ...keys } = port;
  const value = (v: unknown) => (v === true ? 'on' : v === false ? 'off' : String(v));
  const head = `${value(name)}=${value(kind)}:${value(target)}`;
  return [head, ...Object.entries(keys).map(([k, v]) => `${k}=${value(v)}`)].join(',');
}

function readForwarder(f: Raw, path: string, t: Topology, file: string): ForwarderConfig {
  const { namespaces, links } = labNames(t);
  const netns = f.netns as string;
  if (!namespaces.has(netns)) {
    const known = [...namespaces].join(', ');
    throw docError(file, f.line, `${path}.netns`, `${quote(netns)} is not a namespace of this lab (${known})`);
  }
  const switchKind = ((f.switch as string | undefined)?.split(',')[0] ?? 'cross') as SwitchKind;
  const raw = f.ports as Raw[];
  const ports = raw.map((p, i) => {
    const spec = portText(p);
    const at = `${path}.ports[${i}]`;
    renamePort(spec, (short) => {
      if (!links.has(short) && !namespaces.has(short))
        throw docError(file, p.line, at, `${quote(short)} is not a link or namespace of this lab`);
      return short;
    });
    try {
      // Each port on its own first, so an error points at its line.
      if ((SWITCH_KINDS as readonly string[]).includes(switchKind)) parsePortSpec(spec, switchKind);
    } catch (err) {
      throw docError(file, p.line, at, (err as Error).message);
    }
    return spec;
  });
  const argv = [
    ...ports.flatMap((p) => ['--port', p]),
    ...(f.switch === undefined ? [] : ['--switch', f.switch as string]),
  ];
  try {
    readForwardConfig(argv);
  } catch (err) {
    throw docError(file, f.line, path, (err as Error).message);
  }
  return Object.freeze({
    name: f.name as string,
    netns,
    ports,
    switch: (f.switch as string | undefined) ?? null,
    capture: (f.capture as string | undefined) ?? null,
  });
}
