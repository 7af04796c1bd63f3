// libvirt's domain XML as a tapyard lab: each <interface> becomes a guest of a topology file, on
// the path libvirt would give it. type='direct' is a macvtap on <source dev> in <source mode>
// (libvirt's default is vepa; its 'passthrough' is the kernel's passthru); type='bridge' is a tap
// on a Linux bridge that holds the NIC; trustGuestRxFilters='yes' makes the macvtap follow the
// guest's receive filter (tapyard's trust-guest-rx-filters); <vlan><tag id=N/> tags the guest's
// frames on the wire (a tapyard trunk port). type='network' maps when the network's own XML is
// given (virsh net-dumpxml): its <forward mode> says which of the two paths it is. Anything else
// is named, with why, and left out.

import { DOMParser, type Element } from '@xmldom/xmldom';
import type { Cable } from '../config/topology.js';
import { TapyardError } from '../error.js';
import { lookup } from '../grammar/lookup.js';
import type { MacvlanMode } from '../switch/macvlan.js';

export interface MappedInterface {
  /** 1-based, in the order of the domain's <interface> elements. */
  readonly index: number;
  /** g1, g2...: the guest in the lab. */
  readonly guest: string;
  readonly via: 'macvtap' | 'bridge';
  readonly mode: MacvlanMode;
  readonly trusted: boolean;
  readonly vlan: number | null;
  /** What libvirt said, for the report: "type='direct' eth0 mode='vepa'". */
  readonly libvirt: string;
  readonly address: string;
}

export interface Unmapped {
  readonly index: number;
  readonly libvirt: string;
  readonly why: string;
}

export interface LibvirtLab {
  readonly name: string;
  readonly interfaces: readonly MappedInterface[];
  readonly unmapped: readonly Unmapped[];
  /** The topology file, as YAML text. */
  readonly yaml: string;
}

/** A network's definition as far as the lab goes: which path its <forward mode> is. */
interface NetworkPath {
  readonly via: 'macvtap' | 'bridge';
  readonly mode: MacvlanMode;
  readonly dev: string | null;
  readonly why: string | null;
}

const MODES: Record<string, MacvlanMode> = {
  vepa: 'vepa',
  bridge: 'bridge',
  private: 'private',
  passthrough: 'passthru',
};

function parseXml(text: string, file: string): Element {
  let problem: string | null = null;
  let root: Element | null = null;
  try {
    root = new DOMParser({
      onError: (level, message) => {
        if (level !== 'warning') problem ??= firstLine(message);
      },
    }).parseFromString(text, 'text/xml').documentElement;
  } catch (err) {
    problem ??= firstLine((err as Error).message);
  }
  if (problem !== null || root === null) throw new TapyardError('EUSAGE', `${file}: not XML: ${problem ?? 'empty'}`);
  return root;
}

/**
 * An attribute, as text safe to put into a message and a YAML comment: a character reference can
 * put a newline (or an escape sequence) into an attribute, so control characters become '?'.
 */
/** The first line of an XML parser's message (the rest repeats the document). */
function firstLine(message: string): string {
  return message.split('\n', 1)[0] ?? message;
}

function attr(e: Element | undefined, name: string): string | null {
  const v = e?.getAttribute(name) ?? null;
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it replaces
  return v === null ? null : v.replace(/[\u0000-\u001f\u007f]/g, '?').slice(0, 64);
}

const children = (e: Element, tag: string): Element[] =>
  Array.from(e.childNodes).filter((n): n is Element => n.nodeType === 1 && (n as Element).tagName === tag);
const child = (e: Element, tag: string): Element | undefined => children(e, tag)[0];

/** A network XML (virsh net-dumpxml NAME): its name and the path its guests get. */
export function readNetwork(text: string, file: string): [string, NetworkPath] {
  const root = parseXml(text, file);
  if (root.tagName !== 'network')
    throw new TapyardError('EUSAGE', `${file}: not a libvirt <network> (its root is <${root.tagName}>)`);
  const name = child(root, 'name')?.textContent?.trim() ?? '';
  if (name === '') throw new TapyardError('EUSAGE', `${file}: the <network> has no <name>`);
  const forward = child(root, 'forward');
  const mode = attr(forward, 'mode') ?? (forward === undefined ? 'isolated' : 'nat');
  const dev = attr(forward, 'dev') ?? (forward && attr(child(forward, 'interface'), 'dev')) ?? null;
  const hasBridge = attr(child(root, 'bridge'), 'name') !== null;
  const macvtapMode = lookup(MODES, mode);
  if (macvtapMode !== undefined && !hasBridge) {
    return [
      name,
      { via: 'macvtap', mode: macvtapMode, dev, why: dev === null ? 'its <forward> names no device' : null },
    ];
  }
  if (mode === 'bridge' || (hasBridge && ['nat', 'route', 'open', 'isolated'].includes(mode))) {
    // A bridge libvirt made (virbr0, NAT or routed) has no NIC in it; the lab's bridge holds the
    // lower, as a host's own bridge does. The NAT itself is not modelled.
    return [name, { via: 'bridge', mode: 'bridge', dev: null, why: null }];
  }
  return [
    name,
    { via: 'bridge', mode: 'bridge', dev: null, why: `its <forward mode='${mode}'> is not a path the lab builds` },
  ];
}

/**
 * The domain's interfaces as a lab. `networks` are the definitions of the networks its
 * type='network' interfaces name; `cable` is what the NIC is cabled to (libvirt does not say).
 */
export function fromLibvirt(
  text: string,
  file: string,
  o: { networks: ReadonlyMap<string, NetworkPath>; cable: Cable },
): LibvirtLab {
  const root = parseXml(text, file);
  const all: Element[] =
    root.tagName === 'interface'
      ? [root]
      : Array.from(root.getElementsByTagName('interface')).filter((e) => e.parentNode !== null);
  // <interface> also appears inside <network><forward>; only the domain's devices count.
  const interfaces = all.filter((e) => (e.parentNode as Element | null)?.tagName !== 'forward');
  if (interfaces.length === 0) throw new TapyardError('EUSAGE', `${file}: no <interface> in it`);
  const domainName = child(root, 'name')?.textContent?.trim() ?? 'libvirt';
  const about = root.tagName === 'domain' ? `domain ${domainName}` : 'a libvirt domain';
  const name =
    domainName
      .toLowerCase()
      .replace(/[^a-z0-9-]+/g, '-')
      .replace(/^[^a-z]+/, '')
      .slice(0, 32) || 'libvirt';
  const mapped: MappedInterface[] = [];
  const unmapped: Unmapped[] = [];
  let lowerDev: string | null = null;
  for (const [i, e] of interfaces.entries()) {
    const index = i + 1;
    const path = interfacePath(e, o.networks);
    let libvirt = path.libvirt;
    const skip = (why: string) => unmapped.push({ index, libvirt, why });
    const why = path.why ?? conflict(path, lowerDev, mapped);
    if (why !== null) {
      skip(why);
      continue;
    }
    const { via, mode, dev } = path;
    if (via === 'macvtap') lowerDev = dev;
    const trusted = attr(e, 'trustGuestRxFilters') === 'yes';
    if (trusted) libvirt += " trustGuestRxFilters='yes'";
    const tags = children(child(e, 'vlan') ?? e, 'tag');
    if (tags.length > 1) {
      skip('it has more than one <vlan><tag>: a trunk into the guest, which the lab does not build');
      continue;
    }
    let vlan: number | null = null;
    if (tags.length === 1) {
      const id = Number(attr(tags[0], 'id'));
      if (!Number.isInteger(id) || id < 1 || id > 4094) {
        skip(`<vlan><tag id='${attr(tags[0], 'id')}'/> is not a VLAN id from 1 to 4094`);
        continue;
      }
      vlan = id;
      libvirt += ` vlan=${id}`;
    }
    if (trusted && via !== 'macvtap') {
      skip("trustGuestRxFilters='yes' is for type='direct' (a macvtap); libvirt refuses it here");
      continue;
    }
    const n = mapped.length + 1;
    mapped.push({ index, guest: `g${n}`, via, mode, trusted, vlan, libvirt, address: `10.77.0.1${n}` });
  }
  return {
    name,
    interfaces: mapped,
    unmapped,
    yaml: topologyYaml({ name, about, file, mapped, unmapped, cable: o.cable }),
  };
}

/** Where interface E goes through the host's NIC (why: the lab does not build it), and how libvirt said so. */
function interfacePath(e: Element, networks: ReadonlyMap<string, NetworkPath>): NetworkPath & { libvirt: string } {
  const type = attr(e, 'type') ?? '';
  const source = child(e, 'source');
  let libvirt = `type='${type}'`;
  const skip = (why: string) => ({ libvirt, via: 'bridge' as const, mode: 'bridge' as const, dev: null, why });
  if (type === 'direct') {
    const dev = attr(source, 'dev') ?? null;
    const m = attr(source, 'mode') || 'vepa';
    libvirt += ` dev='${dev ?? '?'}' mode='${m}'`;
    if (dev === null) return skip('it has no <source dev=...>: no NIC to put a macvtap on');
    const mode = lookup(MODES, m);
    if (mode === undefined) return skip(`mode '${m}' is not a macvtap mode (vepa, bridge, private, passthrough)`);
    return { libvirt, via: 'macvtap', mode, dev, why: null };
  }
  if (type === 'bridge') {
    libvirt += ` bridge='${attr(source, 'bridge') ?? '?'}'`;
    const port = attr(child(e, 'virtualport'), 'type');
    if (port != null)
      return skip(
        `its <virtualport type='${port}'> is an Open vSwitch or 802.1Qbg/bh port; the lab's bridge is Linux's`,
      );
    return { libvirt, via: 'bridge', mode: 'bridge', dev: null, why: null };
  }
  if (type === 'network') {
    const net = attr(source, 'network') ?? '';
    libvirt += ` network='${net}'`;
    const path = networks.get(net);
    if (path === undefined) {
      return skip(
        `the domain does not say what network '${net}' is: ` +
          `give its XML with --network FILE (virsh net-dumpxml ${net})`,
      );
    }
    if (path.why !== null) return skip(`network '${net}': ${path.why}`);
    return { ...path, libvirt };
  }
  return skip(
    type === ''
      ? 'it has no type'
      : `type='${type}' is not a path through the host's NIC that the lab builds (direct, bridge, network)`,
  );
}

/** Why PATH cannot join the interfaces MAPPED so far on one lab (the kernel would refuse it), or null. */
function conflict(path: NetworkPath, lowerDev: string | null, mapped: readonly MappedInterface[]): string | null {
  if (path.via === 'macvtap') {
    if (lowerDev !== null && path.dev !== lowerDev)
      return `the lab has one NIC, ${lowerDev}; this interface is on ${path.dev}`;
    if (mapped.some((m) => m.via === 'bridge'))
      return 'an earlier interface puts the NIC in a Linux bridge, and the kernel refuses a macvtap on a bridge port';
    if (mapped.some((m) => m.via === 'macvtap' && (m.mode === 'passthru' || path.mode === 'passthru')))
      return 'passthru gives the NIC to one macvtap: the kernel refuses a second one on it';
  } else if (mapped.some((m) => m.via === 'macvtap'))
    return 'an earlier interface has a macvtap on the NIC, and the kernel refuses to bridge a NIC that has one';
  if (mapped.length === 4) return 'a lab has at most 4 guests';
  return null;
}

function topologyYaml(o: {
  name: string;
  about: string;
  file: string;
  mapped: readonly MappedInterface[];
  unmapped: readonly Unmapped[];
  cable: Cable;
}): string {
  const { name, file, mapped, unmapped, cable } = o;
  const lines = [
    `# Written by tapyard lab from-libvirt ${file}: each guest is one <interface> of the domain,`,
    "# a namespace behind a tap, with a tapyard forwarder as its backend (as QEMU is a VM's).",
    ...mapped.map((m) => `#   ${m.guest}: interface ${m.index}, ${m.libvirt}`),
    ...unmapped.map((u) => `#   not mapped: interface ${u.index}, ${u.libvirt}: ${u.why}`),
    `name: ${name}`,
    `about: the network interfaces of ${o.about.replace(/[^A-Za-z0-9 ._-]/g, '')}, from libvirt's XML`,
    'lower:',
    `  cable: ${cable}`,
    "  address: 10.77.0.3/24   # the hypervisor's own address (on the bridge when the NIC is in one)",
    'external:',
    '  address: 10.77.0.1/24',
    'guests:',
  ];
  for (const m of mapped) {
    lines.push(`  - name: ${m.guest}`, '    kind: tap', `    via: ${m.via}`);
    if (m.via === 'macvtap') lines.push(`    mode: ${m.mode}`);
    lines.push(`    address: ${m.address}/24`);
  }
  lines.push('forwarders:');
  for (const m of mapped) {
    const wire = [`wire=${m.via === 'macvtap' ? 'macvtap' : 'tap'}:w${m.guest}`];
    if (m.trusted) wire.push('trust-guest-rx-filters');
    if (m.vlan !== null) wire.push(`trunk=${m.vlan}`);
    const guest = [`guest=tap:${m.guest}`, `netns=${m.guest}`];
    if (m.vlan !== null) guest.push(`vlan=${m.vlan}`);
    lines.push(
      `  - name: fw${m.guest.slice(1)}`,
      '    ports:',
      `      - ${wire.join(',')}`,
      `      - ${guest.join(',')}`,
    );
  }
  return `${lines.join('\n')}\n`;
}
