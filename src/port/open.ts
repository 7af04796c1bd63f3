// One place that turns a port's typed configuration into an open Port.

import { type GuestConfig, openGuest } from './guest.js';
import { type MacvtapConfig, openMacvtap } from './macvtap.js';
import { openPcap, type PcapConfig } from './pcap.js';
import type { Port } from './port.js';
import { openQemu, type QemuPortConfig } from './qemu.js';
import { openTap, type TapConfig } from './tap.js';
import { openVhostUser, type VhostUserConfig } from './vhost-user.js';

/** A port's typed configuration, one case per kind; config/port-kinds.ts reads each from text. */
export type DeviceConfig = MacvtapConfig | TapConfig | PcapConfig | QemuPortConfig | GuestConfig | VhostUserConfig;

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
