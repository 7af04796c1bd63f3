// The receive filter tapyard plays for a port (`rx-filter=on`): the guest NIC's virtio-net
// filter as a booted Linux guest leaves it, from typed configuration. The NIC's MAC is the
// port's own unless the configuration names one.

import { TapyardError } from '../error.js';
import { isGroup, type Mac } from '../mac.js';
import { RxFilter, type RxMode } from './rx-filter.js';

export const RX_MODES: readonly RxMode[] = ['promisc', 'allmulti', 'alluni', 'nomulti', 'nouni', 'nobcast'];

export interface RxFilterConfig {
  /** The NIC's MAC; null: the port's own. */
  readonly mac: Mac | null;
  /** VIRTIO_NET_CTRL_RX switches turned on (promisc is off unless listed). */
  readonly modes: readonly RxMode[];
  /** The MAC table: unicast and multicast entries, told apart by the group bit. */
  readonly table: readonly Mac[];
  /** A VLAN filter (as if VIRTIO_NET_F_CTRL_VLAN were negotiated); null: no VLAN filter. */
  readonly vlans: readonly number[] | null;
}

export function buildRxFilter(port: string, config: RxFilterConfig, portMac: Mac | null): RxFilter {
  const mac = config.mac ?? portMac;
  if (mac === null) {
    throw new TapyardError(
      'EUSAGE',
      `port ${port}: rx-filter=on needs the NIC's MAC: this port has none, so give mac=`,
    );
  }
  const filter = new RxFilter(mac);
  filter.setFeatures({ ctrlVlan: config.vlans !== null });
  // QEMU's reset leaves promisc on; a Linux guest's driver turns it off once it is up.
  filter.setRxMode('promisc', false);
  for (const mode of config.modes) filter.setRxMode(mode, true);
  filter.setMacTable(
    config.table.filter((m) => !isGroup(m)),
    config.table.filter((m) => isGroup(m)),
  );
  for (const vid of config.vlans ?? []) filter.setVlan(vid, true);
  return filter;
}
