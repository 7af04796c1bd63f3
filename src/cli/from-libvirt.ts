// tapyard lab from-libvirt DOMAIN.xml: libvirt's interfaces as a topology file (src/lab/libvirt.ts),
// then what `tapyard why` answers on it, host <-> each guest and guest <-> guest, from the same
// models (src/sim/why.ts). VLANs are not in the models: where two sides are in different VLANs
// (libvirt tags a guest's frames on the wire), the answer is no, and says so.

import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { CABLES, parseTopology } from '../config/topology.js';
import { readTraceBridgePort } from '../config/trace.js';
import { TapyardError } from '../error.js';
import { flagHelp, HELP_FLAG, onOff, parseCommandLine, repeated, valued } from '../grammar/argv.js';
import { quote } from '../grammar/quote.js';
import { oneOf, text, usageError } from '../grammar/value.js';
import { fromLibvirt, type LibvirtLab, type MappedInterface, readNetwork } from '../lab/libvirt.js';
import { LINUX_DEFAULT_GROUPS } from '../sim/topology.js';
import { type Answer, type Setup, why } from '../sim/why.js';
import { render } from './why.js';

const FLAGS = {
  out: valued(
    'out',
    text('FILE'),
    'where to write the topology file (default: the domain name .yaml, never over a file)',
  ),
  network: repeated('network', text('FILE'), "a network's XML (virsh net-dumpxml NAME), for type='network' interfaces"),
  cable: valued('cable', oneOf(CABLES), "what the host's NIC is cabled to (libvirt does not say)", 'switch'),
  json: onOff('json', 'the mapping and the answers as JSON'),
  help: HELP_FLAG,
} as const;

function help(): string {
  return `usage: tapyard lab from-libvirt DOMAIN.xml [--out FILE] [--network NET.xml...] [--cable CABLE] [--json]

Reads each <interface> of a libvirt domain (virsh dumpxml, or a fragment holding <interface>
elements): type='direct' (a macvtap on <source dev> in <source mode>, libvirt's default vepa),
trustGuestRxFilters, <vlan><tag id=N/>, type='bridge', and type='network' when the network's XML
is given. Writes the equivalent topology file (each interface a guest behind a tapyard forwarder;
the hypervisor's address 10.77.0.3 on the NIC, or on the bridge), names every interface it cannot
map and why, and prints what tapyard why answers for host <-> guest and guest <-> guest.
Then: tapyard lab up FILE, and ping: the lab gives the same answers.

${flagHelp(FLAGS, 20).join('\n')}

Exit status: 0 done (whether or not the guests are reachable), 1 the file cannot be written, 2 bad input.`;
}

interface Reply {
  readonly from: string;
  readonly to: string;
  readonly reached: boolean;
  /** Why the VLANs alone decide it, or null when the model's answer stands. */
  readonly vlan: string | null;
  readonly answer: Answer | null;
}

export async function fromLibvirtCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandLine(argv, FLAGS);
  if (values.help) {
    console.log(help());
    return 0;
  }
  const [file, extra] = positionals;
  if (file === undefined) throw usageError('lab from-libvirt needs the domain XML file (virsh dumpxml NAME > FILE)');
  if (extra !== undefined) throw usageError(`lab from-libvirt takes one file, not also ${quote(extra)}`);
  const networks = new Map(values.network.map((f) => readNetwork(read(f), f)));
  const cable = values.cable ?? 'switch';
  const lab = fromLibvirt(read(file), file, { networks, cable });
  if (lab.interfaces.length === 0) {
    const why = lab.unmapped.map((u) => `interface ${u.index} (${u.libvirt}): ${u.why}`).join('; ');
    throw usageError(`no interface of ${file} maps to a lab: ${why}`);
  }
  const out = values.out ?? `${lab.name}.yaml`;
  if (values.out === undefined && existsSync(out))
    throw usageError(`${out} exists: say where to write with --out FILE`);
  // What it writes must be a topology file tapyard reads: checked before it is written.
  parseTopology(lab.yaml, out);
  try {
    writeFileSync(out, lab.yaml);
  } catch (err) {
    throw new TapyardError('EWRITE', `cannot write ${quote(out)}: ${(err as NodeJS.ErrnoException).code ?? err}`);
  }
  const replies = questions(lab).map(([a, b]) => ask(lab, cable, a, b));
  if (values.json) {
    console.log(
      JSON.stringify(
        {
          file: out,
          interfaces: lab.interfaces,
          unmapped: lab.unmapped,
          answers: replies.map(({ answer: _, ...r }) => r),
        },
        null,
        2,
      ),
    );
    return 0;
  }
  const lines = [`wrote ${out}: tapyard lab up ${out}`];
  for (const m of lab.interfaces) lines.push(`  ${m.guest} (${m.address}): interface ${m.index}, ${m.libvirt}`);
  for (const u of lab.unmapped) lines.push(`  not mapped: interface ${u.index}, ${u.libvirt}: ${u.why}`);
  for (const r of replies) {
    lines.push('', `=== ${r.from} <-> ${r.to} ===`);
    // A reply has an answer, or the VLAN sentence that stands for one.
    lines.push(r.answer !== null ? render(r.answer) : `No: ${r.vlan}.`);
  }
  console.log(lines.join('\n'));
  return 0;
}

function read(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw usageError(`cannot read ${quote(file)}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
}

/** host with every guest, then every pair of guests. */
function questions(lab: LibvirtLab): [string, string][] {
  const g = lab.interfaces.map((m) => m.guest);
  return [
    ...g.map((x) => ['host', x] as [string, string]),
    ...g.flatMap((x, i) => g.slice(i + 1).map((y) => [x, y] as [string, string])),
  ];
}

function ask(lab: LibvirtLab, cable: (typeof CABLES)[number], from: string, to: string): Reply {
  const vlanOf = (station: string) => lab.interfaces.find((m) => m.guest === station)?.vlan ?? null;
  const [a, b] = [vlanOf(from), vlanOf(to)];
  if (a !== b) {
    const say = (s: string, v: number | null) => (v === null ? `${s} is untagged` : `${s} is in VLAN ${v}`);
    return {
      from,
      to,
      reached: false,
      vlan: `${say(from, a)} and ${say(to, b)} (libvirt tags a guest's frames on the wire)`,
      answer: null,
    };
  }
  const answer = why(setup(lab.interfaces, cable), { from, to, dst: null });
  return { from, to, reached: answer.reached, vlan: null, answer };
}

function setup(interfaces: readonly MappedInterface[], cable: (typeof CABLES)[number]): Setup {
  if (interfaces[0]?.via === 'bridge') {
    return {
      path: 'bridge',
      ports: [...interfaces.map((m) => m.guest), 'ext'].map((p) => readTraceBridgePort(p)),
      guests: new Map(),
    };
  }
  const trusted = interfaces.filter((m) => m.trusted).map((m) => m.guest);
  return {
    path: 'macvtap',
    endpoints: interfaces.map((m) => ({ name: m.guest, mode: m.mode, groups: LINUX_DEFAULT_GROUPS })),
    wire: cable,
    trusted: new Set(trusted),
    // A trusted macvtap follows the filter of the guest behind it: a guest that joined nothing more.
    guests: new Map(trusted.map((g) => [g, { groups: [] }])),
  };
}
