// What one port is to VLANs, as typed config: an access port of one VLAN, or a trunk of several
// with perhaps a native one. And the TPID every VLAN-aware port of one forwarder reads and
// writes: 802.1Q C-tags, or 802.1ad S-tags for a provider bridge (QinQ), as the Linux bridge's
// vlan_protocol is one per bridge.

import { EtherType } from '../frame/ethernet.js';

export type VlanPortConfig =
  /** Untagged on this port; the frames belong to VLAN `vid` (tagged toward trunks). */
  | { readonly mode: 'access'; readonly vid: number }
  /** Tagged on this port, VLANs `allowed` only; untagged frames belong to `native`, or to none. */
  | { readonly mode: 'trunk'; readonly allowed: readonly number[]; readonly native: number | null };

export const VLAN_PROTOS = { '802.1q': EtherType.VLAN, '802.1ad': EtherType.QINQ } as const;
export type VlanProtoName = keyof typeof VLAN_PROTOS;

/** The VLAN layer of a forwarder: one entry per port (every port has one), and the TPID. */
export interface VlanConfig {
  readonly proto: (typeof VLAN_PROTOS)[VlanProtoName];
  readonly ports: readonly VlanPortConfig[];
}

/** VIDs 0 (priority tag) and 4095 (reserved) are no VLAN a port can carry (IEEE 802.1Q table 9-2). */
export const MIN_VID = 1;
export const MAX_VID = 4094;
