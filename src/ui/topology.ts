// What the page draws: the run's ports around its switch, from the same ForwardConfig the
// forwarder reads, and the model topology the trace form starts from.

import type { ForwardConfig } from '../config/forward.js';

export interface UiTopology {
  switch: string;
  ports: { name: string; kind: string; target: string; role: string | null }[];
  /** Words for `tapyard trace` that model this switch (the form lets the student change them). */
  trace: string;
}

export function uiTopology(config: ForwardConfig): UiTopology {
  const ports = config.ports.map((p) => {
    const d = p.device;
    const target =
      d.kind === 'qemu' || d.kind === 'vhost-user' ? d.path : d.kind === 'guest' ? 'in-process guest' : d.ifname;
    return { name: p.name, kind: d.kind, target, role: p.role === null ? null : JSON.stringify(p.role) };
  });
  // A bridge run is modelled port for port; every other run sits behind a macvtap or a tap, whose
  // kernel side is the macvlan driver (the lab's default mode is bridge).
  const trace =
    config.switch.kind === 'bridge'
      ? ['bridge', ...config.ports.flatMap((p) => ['--port', p.name])].join(' ')
      : 'macvlan --mode bridge';
  return { switch: config.switch.kind, ports, trace };
}
