// A guest NIC's receive filter, in the shape QEMU's `query-rx-filter` answers for a virtio-net NIC
// (hw/net/virtio-net.c: virtio_net_query_rxfilter), which is what libvirt reads before it mirrors
// the filter onto a macvtap. tapyard builds it from what it can see of the guest: a network
// namespace's interface (its flags and dev->mc list), or the built-in guest's own addresses.

import { u32 } from '../frame/bytes.js';
import { formatMac, ipv4MulticastMac, ipv6MulticastMac, type Mac } from '../mac.js';

export type RxState = 'normal' | 'none' | 'all';

/** One entry of `query-rx-filter`'s answer, field for field. */
export interface RxFilterInfo {
  readonly name: string;
  readonly promiscuous: boolean;
  readonly multicast: RxState;
  readonly unicast: RxState;
  readonly vlan: RxState;
  readonly 'broadcast-allowed': boolean;
  readonly 'multicast-overflow': boolean;
  readonly 'unicast-overflow': boolean;
  readonly 'main-mac': string;
  readonly 'vlan-table': readonly number[];
  readonly 'unicast-table': readonly string[];
  readonly 'multicast-table': readonly string[];
}

/**
 * virtio-net's MAC table holds 64 entries (MAC_TABLE_ENTRIES); a guest that programs more sets
 * the overflow bit and QEMU keeps none of them, so the filter then takes all multicast.
 */
export const MAC_TABLE_ENTRIES = 64;

/** What `ip -j link show` and `ip -j maddr show` say of a guest's interface. */
export interface NetdevState {
  readonly mac: string;
  readonly flags: readonly string[];
  /** Link-layer multicast addresses (dev->mc), lower case. */
  readonly multicast: readonly string[];
}

/**
 * A namespace interface as a virtio-net NIC would report it after the Linux driver programmed
 * it (virtnet_set_rx_mode: IFF_PROMISC and IFF_ALLMULTI become the rx-mode switches, dev->uc
 * and dev->mc the MAC table). The namespace has no VLAN filter of its own, so vlan is `all`; its
 * unicast list is not visible through ip and stays empty, which libvirt ignores anyway.
 */
export function fromNetdev(name: string, state: NetdevState): RxFilterInfo {
  const flags = new Set(state.flags);
  const overflow = state.multicast.length > MAC_TABLE_ENTRIES;
  let multicast: RxState = 'normal';
  if (!flags.has('MULTICAST')) multicast = 'none';
  else if (flags.has('ALLMULTI')) multicast = 'all';
  return info({
    name,
    mac: state.mac.toLowerCase(),
    promiscuous: flags.has('PROMISC'),
    multicast,
    table: overflow ? [] : state.multicast,
    overflow,
  });
}

/**
 * The built-in guest (src/guest/host.ts): its MAC, and the groups a Linux guest with its
 * addresses joins: 224.0.0.1, and with IPv6 ff02::1 and the solicited-node group of its address
 * (RFC 4291 §2.7.1), which neighbour discovery needs.
 */
export function fromBuiltinGuest(name: string, mac: Mac, ipv6: Uint8Array | null): RxFilterInfo {
  const groups: Mac[] = [ipv4MulticastMac(0xe0_00_00_01)];
  if (ipv6 !== null) {
    const low24 = u32(ipv6, 12) & 0xff_ffff;
    groups.push(ipv6MulticastMac(1), ipv6MulticastMac(0xff00_0000 + low24));
  }
  return info({
    name,
    mac: formatMac(mac),
    promiscuous: false,
    multicast: 'normal',
    table: groups.map(formatMac),
    overflow: false,
  });
}

/** What differs between one NIC's filter and another's; the rest is what virtio-net reports. */
interface FilterState {
  readonly name: string;
  readonly mac: string;
  readonly promiscuous: boolean;
  readonly multicast: RxState;
  /** The multicast MACs, in any order. */
  readonly table: readonly string[];
  readonly overflow: boolean;
}

function info({ name, mac, promiscuous, multicast, table, overflow }: FilterState): RxFilterInfo {
  return {
    name,
    promiscuous,
    multicast,
    unicast: 'normal',
    vlan: 'all',
    'broadcast-allowed': true,
    'multicast-overflow': overflow,
    'unicast-overflow': false,
    'main-mac': mac,
    'vlan-table': [],
    'unicast-table': [],
    'multicast-table': [...table].sort(),
  };
}

export function sameFilter(a: RxFilterInfo | null, b: RxFilterInfo): boolean {
  return a !== null && JSON.stringify(a) === JSON.stringify(b);
}
