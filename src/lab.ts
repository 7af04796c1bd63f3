// The lab from TypeScript: scripts/netns/lab up/down, the KEY=VALUE lines it prints as an
// object. Every name is ty-<id>-..., made inside the lab's own namespaces; down() removes
// exactly what up made. For scripts; the tests have their own helper with cleanup on signals.

import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { TapyardError } from './error.js';
import { packageRoot } from './package-root.js';

export type LabKind = 'macvtap' | 'bridge' | 'host-to-guest' | 'guests' | 'ref-veth' | 'ref-macvlan' | 'ref-bridge';

/** A namespace of a lab: the external host, the hypervisor, the guest, the switch, guest i of `guests`. */
export type LabRole = 'ext' | 'hv' | 'gst' | 'sw' | `g${number}`;

export interface Lab {
  readonly id: string;
  /** What `lab up` printed: NS_EXT, NS_HV, NS_GST, WIRE_IF, WIRE_KIND, GUEST_IF, GUEST_IP, ... */
  readonly env: Readonly<Record<string, string>>;
  /** Run a command in one of the lab's namespaces (ext, hv, gst, sw, g1...); its stdout. */
  run(role: LabRole, command: string, ...args: string[]): string;
  down(): void;
}

const script = () => join(packageRoot(), 'scripts', 'netns', 'lab');

/**
 * `lab up KIND [flags]`, e.g. labUp('macvtap', '--mode', 'vepa'), labUp('guests', '--mode', 'vepa',
 * '--hairpin'), labUp('host-to-guest', '--host-macvlan'). Needs root.
 */
export function labUp(kind: LabKind, ...flags: string[]): Lab {
  let out: string;
  try {
    out = execFileSync(script(), ['up', kind, ...flags], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    const why = (err as { stderr?: string }).stderr?.trim().split('\n').at(-1) ?? String(err);
    throw new TapyardError('ELAB', `lab up ${kind} failed: ${why}`);
  }
  const env = Object.fromEntries(
    out
      .trim()
      .split('\n')
      .map((line) => line.split('=', 2) as [string, string]),
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
  execFileSync(script(), ['down', id], { stdio: 'ignore' });
}
