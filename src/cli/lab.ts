// tapyard lab: up/down/status/exec of labs described by topology files (src/config/topology.ts),
// built by src/lab/builder.ts, and from-libvirt (src/cli/from-libvirt.ts). `up` prints what it
// records as KEY=VALUE lines, so `eval "$(tapyard lab up macvtap)"` sets NS_EXT, WIRE_IF, ...
// A signal or a failure during `up` removes what was made so far.

import { spawnSync } from 'node:child_process';
import { labHelp, readLabUp } from '../config/lab.js';
import { TapyardError } from '../error.js';
import { quote } from '../grammar/quote.js';
import { usageError } from '../grammar/value.js';
import { type IpLink, iprouteJson, namespaces } from '../kernel/iproute.js';
import { findLab, forwarderRecord, LAB_ID, type LabState, listLabs, newLabId, teardown } from '../lab/builder.js';
import { bringUpLab } from '../lab/up.js';
import { fromLibvirtCommand } from './from-libvirt.js';
import { onStopSignal } from './process-guard.js';

export async function labCommand(argv: string[]): Promise<number> {
  const [verb, ...rest] = argv;
  // Only `up` builds anything: the other verbs end at once on a stop signal.
  if (verb !== 'up') onStopSignal(() => process.exit(0));
  switch (verb) {
    case 'up':
      return up(rest);
    case 'down':
      return down(rest);
    case 'status':
      return status(rest);
    case 'exec':
      return exec(rest);
    case 'from-libvirt':
      return fromLibvirtCommand(rest);
    case undefined:
      process.stderr.write(`${labHelp()}\n`);
      return 2;
    case 'help':
    case '-h':
    case '--help':
      console.log(labHelp());
      return 0;
    default:
      throw usageError(`unknown lab command ${quote(verb)} (up, down, status, exec, from-libvirt)`);
  }
}

async function up(argv: string[]): Promise<number> {
  const config = readLabUp(argv);
  if (config === null) {
    console.log(labHelp());
    return 0;
  }
  const id = config.id ?? newLabId();
  // A built-in kind's macvtaps are in bridge mode unless told; the kernel's default, and trace and
  // why's, is vepa: every screen says which one is in use rather than leave it implied.
  const macvtap = config.topology.guests.find((g) => g.via === 'macvtap');
  if (config.kind !== null && !config.modeGiven && macvtap !== undefined)
    process.stderr.write(
      `tapyard: macvtap mode ${macvtap.mode} (the lab's default; the kernel's and trace/why's is vepa: ` +
        '--mode says which)\n',
    );
  // A stop signal (also one that came while tapyard was loading) stops the build between steps,
  // and what was made so far comes down (bringUpLab does that, and says so).
  let signal = false;
  onStopSignal(() => {
    signal = true;
  });
  try {
    await bringUpLab(config, {
      id,
      interrupted: () => signal,
      onRecord: (key, value) => process.stdout.write(`${key}=${value}\n`),
    });
    return 0;
  } catch (err) {
    if (err instanceof TapyardError && (err.code === 'EINTERRUPTED' || err.code === 'ELAB')) {
      process.stderr.write(`tapyard: ${err.message}\n`);
      return err.code === 'EINTERRUPTED' ? 130 : 1;
    }
    throw err;
  } finally {
    onStopSignal(null);
  }
}

function down(argv: string[]): number {
  if (argv.length === 0)
    throw usageError('lab down needs the lab name or id that lab up printed (see: tapyard lab status)');
  const labs = argv.map(findLab);
  for (const lab of labs) {
    for (const line of teardown(lab.id)) console.log(line);
    console.log(`lab ${lab.name} (${lab.id}) removed`);
  }
  return 0;
}

function status(argv: string[]): number {
  if (argv.length > 1) throw usageError('lab status takes at most one lab name or id');
  const [which] = argv;
  const labs = which !== undefined ? [findLab(which)] : listLabs();
  if (labs.length === 0) {
    console.log('no labs');
    return 0;
  }
  const existing = new Set(namespaces());
  for (const lab of labs) console.log(describe(lab, existing));
  return 0;
}

function describe(lab: LabState, existing: ReadonlySet<string>): string {
  const get = (k: string) => lab.lines.find(([key]) => key === k)?.[1];
  const lines = [
    `lab ${lab.name} (${lab.id}): ${get('LAB_KIND')} mode ${get('LAB_MODE')}, ${lab.ready ? 'ready' : 'incomplete'}`,
  ];
  for (const [key, ns] of lab.lines) {
    if (key !== 'NS_CREATED') continue;
    if (!existing.has(ns)) {
      lines.push(`  ${ns}: missing`);
      continue;
    }
    const links = iprouteJson<IpLink[]>(['link', 'show'], { netns: ns })
      .filter((l) => l.ifname !== 'lo')
      .map((l) => `${l.ifname}(${l.operstate})`);
    lines.push(`  ${ns}: ${links.join(' ')}`);
  }
  for (const [key, value] of lab.lines) {
    if (key !== 'FORWARDER') continue;
    const { name, pid } = forwarderRecord(value);
    const running = pid !== null && spawnSync('kill', ['-0', String(pid)]).status === 0;
    lines.push(`  forwarder ${name}: pid ${pid ?? 'unknown'}, ${running ? 'running' : 'not running'}`);
  }
  return lines.join('\n');
}

function exec(argv: string[]): number {
  const [which, role, ...command] = argv;
  const [program] = command;
  if (which === undefined || role === undefined || program === undefined)
    throw usageError('usage: tapyard lab exec NAME|ID ROLE CMD...');
  const lab = findLab(which);
  const roles = lab.lines.filter(([k]) => k === 'NS_CREATED').map(([, ns]) => ns.slice(`ty-${lab.id}-`.length));
  if (!roles.includes(role)) throw usageError(`lab ${lab.name} has no namespace ${quote(role)} (${roles.join(', ')})`);
  if (!LAB_ID.test(lab.id)) throw usageError(`bad lab id ${quote(lab.id)}`);
  const r = spawnSync('ip', ['netns', 'exec', `ty-${lab.id}-${role}`, ...command], { stdio: 'inherit' });
  if (r.error !== undefined) throw new TapyardError('ELAB', `cannot run ${quote(program)}: ${r.error.message}`);
  return r.status ?? 1;
}
