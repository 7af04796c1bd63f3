// Where tapyard sees a guest's receive filter. A guest namespace's interface (a tap port) is read
// with one `ip -batch` (link and maddr) per look, in its own namespace: a multicast join changes
// dev->mc without any link event, so it has to be looked at, and a look is one short process.
// The built-in guest's filter is its configuration and never changes while it runs.

import { type IpLink, type IpMaddr, IprouteError, iprouteJsonBatch } from '../kernel/iproute.js';
import type { Mac } from '../mac.js';
import { fromBuiltinGuest, fromNetdev, type RxFilterInfo } from './rx-filter-info.js';

export interface GuestSide {
  /** The guest port's name, which the filter report carries as QEMU carries the NIC's. */
  readonly port: string;
  /** The guest's filter now, or an error sentence when it cannot be read. */
  read(): Promise<RxFilterInfo | string>;
}

export function netdevGuest(port: string, ifname: string, netns: string | null): GuestSide {
  const where = netns === null ? ifname : `${ifname} in ${netns}`;
  return {
    port,
    read: async () => {
      try {
        const [links, maddrs] = await iprouteJsonBatch([`link show dev ${ifname}`, `maddr show dev ${ifname}`], {
          netns,
        });
        return fromNetdev(port, filterOf((links ?? []) as IpLink[], (maddrs ?? []) as IpMaddr[]));
      } catch (err) {
        return `cannot read ${where}: ${err instanceof IprouteError ? err.why : (err as Error).message}`;
      }
    },
  };
}

export function builtinGuest(port: string, mac: Mac, ipv6: Uint8Array | null): GuestSide {
  const filter = fromBuiltinGuest(port, mac, ipv6);
  return { port, read: async () => filter };
}

/** The filter as `link show` and `maddr show` of one device print it. */
function filterOf(links: readonly IpLink[], maddrs: readonly IpMaddr[]) {
  const link = links[0];
  if (link === undefined) throw new IprouteError('no such device', 'ip link show');
  const groups = (maddrs[0]?.maddr ?? []).flatMap((m) => (m.link === undefined ? [] : [m.link]));
  return { mac: link.address, flags: [...link.flags], multicast: groups.map((g) => g.toLowerCase()) };
}
