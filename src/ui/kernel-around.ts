// What the kernel puts around the run's ports, for the page to draw beside them: a macvtap port's
// macvlan mode and the lower it sits on (the device whose own stack is the host's), read with
// iproute2 from the namespace the forwarder runs in. Read once at start; nothing here is a model.

import type { ForwardConfig } from '../config/forward.js';
import { showLink } from '../kernel/iproute.js';

export interface KernelAround {
  /** The port's name in the run. */
  port: string;
  mode: string;
  lower: string;
}

/** Every macvtap port's mode and lower; a port ip cannot describe is left out. */
export function kernelAround(config: ForwardConfig, netns: string | undefined): KernelAround[] {
  const out: KernelAround[] = [];
  for (const p of config.ports) {
    if (p.device.kind !== 'macvtap') continue;
    try {
      const link = showLink(p.device.ifname, { netns, details: true, timeoutMs: 2000 });
      const mode = link.linkinfo?.info_data?.mode;
      if (link.link !== undefined && mode !== undefined) out.push({ port: p.name, mode, lower: link.link });
    } catch {
      // not described: the page draws the port alone
    }
  }
  return out;
}
