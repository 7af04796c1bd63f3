// One place that turns a port's typed configuration into an open Port.

import type { DeviceConfig } from '../config/port-kinds.js';
import { openGuest } from './guest.js';
import { openMacvtap } from './macvtap.js';
import { openPcap } from './pcap.js';
import type { Port } from './port.js';
import { openQemu } from './qemu.js';
import { openTap } from './tap.js';
import { openVhostUser } from './vhost-user.js';

export function openPort(config: DeviceConfig, budget: number): Port {
  switch (config.kind) {
    case 'macvtap':
      return openMacvtap(config, budget);
    case 'tap':
      return openTap(config, budget);
    case 'pcap':
      return openPcap(config, budget);
    case 'qemu':
      return openQemu(config, budget);
    case 'guest':
      return openGuest(config, budget);
    case 'vhost-user':
      return openVhostUser(config, budget);
  }
}
