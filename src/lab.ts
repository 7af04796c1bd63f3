// The lab from TypeScript: `tapyard lab up/down` (src/cli/lab.ts, the builder in src/lab/), the
// KEY=VALUE lines it prints as an object. Every name is ty-<id>-..., made inside the lab's own
// namespaces; down() removes exactly what up made. The lab is built in a child process, which
// removes what it made if it fails or is interrupted half-way.

import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { TapyardError } from './error.js';
import { packageRoot } from './package-root.js';

/** The topology files shipped in labs/ (a path to any other topology file works too). */
export type LabKind =
  | 'macvtap'
  | 'bridge'
  | 'host-to-guest'
  | 'guests'
  | 'vlan'
  | 'ref-veth'
  | 'ref-macvlan'
  | 'ref-bridge'
  | 'vm'
  | 'impaired';

/** A namespace of a lab: the external host, the hypervisor, the switch, a guest (gst, g1...). */
export type LabRole = 'ext' | 'hv' | 'gst' | 'sw' | `g${number}`;

export interface Lab {
  readonly id: string;
  /** What `lab up` printed: NS_EXT, NS_HV, NS_GST, WIRE_IF, WIRE_KIND, GUEST_IF, GUEST_IP, ... */
  readonly env: Readonly<Record<string, string>>;
  /** Run a command in one of the lab's namespaces (ext, hv, gst, sw, g1...); its stdout. */
  run(role: LabRole, command: string, ...args: string[]): string;
  down(): void;
}

const cli = () => join(packageRoot(), 'dist', 'src', 'cli', 'main.js');

/**
 * `tapyard lab up KIND|FILE [flags]`, e.g. labUp('macvtap', '--mode', 'vepa'), labUp('guests', '--mode',
 * 'vepa', '--hairpin'), labUp('host-to-guest', '--host-macvlan'), labUp('my-lab.yaml'). Needs root.
 */
export function labUp(kind: LabKind | (string & {}), ...flags: string[]): Lab {
  let out: string;
  try {
    out = execFileSync(process.execPath, [cli(), 'lab', 'up', kind, ...flags], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  } catch (err) {
    const why = (err as { stderr?: string }).stderr
      ?.trim()
      .split('\n')
      .at(-1)
      ?.replace(/^tapyard: /, '');
    throw new TapyardError('ELAB', `lab up ${kind} failed: ${why ?? String(err)}`);
  }
  const env = Object.fromEntries(
    out
      .trim()
      .split('\n')
      .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)] as [string, string]),
  );
  const id = env.LAB_ID!;
  return {
    id,
    env,
    run: (role, command, ...args) => {
      const ns = env[`NS_${role.toUpperCase()}`] ?? `ty-${id}-${role}`;
      return execFileSync('ip', ['netns', 'exec', ns, command, ...args], { encoding: 'utf8' });
    },
    down: () => labDown(id),
  };
}

export function labDown(id: string): void {
  execFileSync(process.execPath, [cli(), 'lab', 'down', id], { stdio: 'ignore' });
}
