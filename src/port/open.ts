// One place that turns a port spec into an open Port.

import { openMacvtap } from './macvtap.js';
import { openPcap } from './pcap.js';
import type { Port } from './port.js';
import type { PortSpec } from './spec.js';
import { openTap } from './tap.js';

export function openPort(spec: PortSpec, budget: number): Port {
  switch (spec.kind) {
    case 'macvtap':
      return openMacvtap(spec, budget);
    case 'tap':
      return openTap(spec, budget);
    case 'pcap':
      return openPcap(spec, budget);
  }
}
