// `tapyard lab`'s command line: up FILE|KIND with the options the built-in kinds always had
// (each one a change to the topology, so they work on any file), down, status, exec, from-libvirt.

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { flagHelp, HELP_FLAG, onOff, parseCommandLine, valued } from '../grammar/argv.js';
import { quote } from '../grammar/quote.js';
import { integer, oneOf, text, usageError } from '../grammar/value.js';
import { packageRoot } from '../package-root.js';
import { MACVLAN_MODE_NAMES, type MacvlanMode } from '../switch/macvlan.js';
import { readTopologyFile, type Topology, VM_BACKENDS } from './topology.js';

/** The labs shipped in labs/: `lab up KIND` is `lab up labs/KIND.yaml`. */
export const LAB_KINDS = [
  'macvtap',
  'bridge',
  'host-to-guest',
  'guests',
  'vlan',
  'ref-veth',
  'ref-macvlan',
  'ref-bridge',
  'vm',
  'impaired',
] as const;

export const LAB_UP_FLAGS = {
  id: valued(
    'id',
    text('ID', 6),
    'the run id in every name (ty-ID-...): 1-6 lowercase letters or digits (default random)',
  ),
  mode: valued('mode', oneOf(MACVLAN_MODE_NAMES.filter((m) => m !== 'source')), "every guest's macvtap/macvlan mode"),
  switch: onOff('switch', 'cable the lower through a Linux bridge in namespace sw (the physical switch)'),
  hairpin: onOff('hairpin', "as --switch, with reflective relay on the switch's port toward the lower (VEPA)"),
  ipv6: onOff('ipv6', 'keep IPv6 on (by default it is off so counters see only the traffic a test sends)'),
  mq: onOff('mq', 'make every tap multi_queue (forward --queues N with mq on the tap ports)'),
  hostMacvlan: onOff('host-macvlan', "move the hypervisor's address from the lower to a bridge-mode macvlan of it"),
  guests: valued('guests', integer(1, 4), 'lab up guests: how many guests side by side (g1..gN, 10.77.0.1N)', '2'),
  on: valued('on', oneOf(['macvtap', 'bridge'] as const), "a VM guest's path: a macvtap, or a tap on the bridge"),
  accel: valued('accel', oneOf(['tcg', 'kvm'] as const), 'a VM guest: plain emulation or KVM', 'tcg'),
  backend: valued(
    'backend',
    oneOf(VM_BACKENDS),
    "a VM guest's backend: tap (QEMU's own) or tapyard-vhost (tapyard between the wire and QEMU, vhost-user)",
  ),
  help: HELP_FLAG,
} as const;

export interface LabUpConfig {
  readonly topology: Topology;
  /** The built-in kind it was asked by, or null for a file. */
  readonly kind: string | null;
  readonly id: string | undefined;
  /** --mode was given (else a built-in kind's macvtaps keep the file's mode, and up says which). */
  readonly modeGiven: boolean;
}

export function readLabUp(argv: readonly string[]): LabUpConfig | null {
  const { values, positionals } = parseCommandLine(argv, LAB_UP_FLAGS);
  if (values.help) return null;
  const [what, extra] = positionals;
  if (what === undefined) throw usageError(`lab up needs a topology FILE or a KIND (${LAB_KINDS.join(', ')})`);
  if (extra !== undefined) throw usageError(`lab up takes one FILE or KIND, not also ${quote(extra)}`);
  const isKind = (LAB_KINDS as readonly string[]).includes(what);
  if (!isKind && !existsSync(what))
    throw usageError(`no topology file ${quote(what)} and no lab kind of that name (${LAB_KINDS.join(', ')})`);
  let t = readTopologyFile(isKind ? join(packageRoot(), 'labs', `${what}.yaml`) : what);
  const needLower = (flag: string) => {
    if (t.lower === null) throw usageError(`--${flag}: lab ${t.name} has no lower to cable`);
    return t.lower;
  };
  if (values.mode !== undefined) t = withMode(t, values.mode);
  if (values.switch || values.hairpin)
    t = { ...t, lower: { ...needLower('switch'), cable: values.hairpin ? 'hairpin' : 'switch' } };
  if (values.ipv6) t = { ...t, ipv6: true };
  if (values.mq) t = { ...t, multiQueue: true };
  if (values.hostMacvlan) {
    const lower = needLower('host-macvlan');
    const { address } = lower;
    if (address === null)
      throw usageError(`--host-macvlan: lab ${t.name} gives the hypervisor no address on the lower`);
    t = { ...t, lower: { ...lower, address: null }, hostMacvlan: { mode: 'bridge', address } };
  }
  if (values.guests !== undefined) {
    if (what !== 'guests') throw usageError('--guests is for lab up guests');
    // readTopologyFile refuses a lab without guests.
    const template = t.guests[0]!;
    t = {
      ...t,
      guests: Array.from({ length: values.guests }, (_, i) => ({
        ...template,
        name: `g${i + 1}`,
        nic: `gtp${i + 1}`,
        endpoint: `mvt${i + 1}`,
        address: `10.77.0.1${i + 1}/24`,
      })),
    };
  }
  const { on, accel, backend } = values;
  if (on !== undefined) t = { ...t, guests: t.guests.map((g) => (g.kind === 'vm' ? { ...g, via: on } : g)) };
  if (accel !== undefined) t = { ...t, guests: t.guests.map((g) => ({ ...g, accel })) };
  if (backend !== undefined) t = { ...t, guests: t.guests.map((g) => (g.kind === 'vm' ? { ...g, backend } : g)) };
  return { topology: t, kind: isKind ? what : null, id: values.id, modeGiven: values.mode !== undefined };
}

function withMode(t: Topology, mode: MacvlanMode): Topology {
  return {
    ...t,
    guests: t.guests.map((g) => (g.via === 'macvtap' || g.kind === 'macvlan' ? { ...g, mode } : g)),
  };
}

export function labHelp(): string {
  return `usage: tapyard lab up FILE|KIND [options]   bring a lab up; prints its KEY=VALUE lines (eval-able)
       tapyard lab down NAME|ID...         stop its forwarders and VM, remove exactly what up made
       tapyard lab status [NAME|ID]        what exists of each lab
       tapyard lab exec NAME|ID ROLE CMD...  run CMD in the lab's namespace ROLE (ext, hv, sw, a guest)
       tapyard lab from-libvirt DOMAIN.xml [--out FILE]
                                           a libvirt domain's interfaces as a topology file, and what
                                           tapyard why answers on it

A topology file (YAML or JSON, docs/topology.md, schema docs/topology.schema.json) names the lower
and its cable, the guests and their paths (macvtap modes, a Linux bridge), the addresses and the
tapyard forwarders with their ports. KIND is a file shipped in labs/:
  ${LAB_KINDS.join(', ')}.

up options (each changes the topology, on a file as on a kind):
${flagHelp(LAB_UP_FLAGS, 20).join('\n')}

Hygiene: every namespace is ty-ID-ROLE and every link ty-ID-NAME; links are made inside the lab's
own namespaces; an up that fails or is interrupted removes what it made.
Exit status: 0 done, 1 the lab could not be built (nothing is left), 2 bad usage.`;
}
