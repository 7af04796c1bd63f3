// The lab from TypeScript: what `tapyard lab up/down` does (the builder in src/lab/), with the
// KEY=VALUE lines it records as an object. Every name is ty-<id>-..., made inside the lab's own
// namespaces; down() removes exactly what up made, and a failure or a stop signal during up
// removes what was made so far.

import { execFileSync } from 'node:child_process';
import { teardown } from './lab/builder.js';
import { bringUpLab } from './lab/up.js';

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

/**
 * `tapyard lab up KIND|FILE [flags]` in this process, e.g. await labUp('macvtap', '--mode', 'vepa'),
 * labUp('guests', '--mode', 'vepa', '--hairpin'), labUp('host-to-guest', '--host-macvlan'),
 * labUp('my-lab.yaml'). Needs root. A stop signal or a failure half-way removes what was made.
 */
export async function labUp(kind: LabKind | (string & {}), ...flags: string[]): Promise<Lab> {
  const lab = await bringUpLab([kind, ...flags]);
  const { id, env } = lab;
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

/** Remove the lab of this id (what labUp made), if it is still there. */
export function labDown(id: string): void {
  teardown(id);
}
