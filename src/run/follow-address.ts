// A macvtap's or tap's address can change under a run (`ip link set DEV address MAC`); a macvtap
// then gets the new address's unicast only. What took the device's address follows it: a port
// that took the macvtap's address at the start (a built-in guest, as a VM's NIC takes its
// macvtap's; assemble.ts openAll), the receive filters that use it, and the switch model, which is
// bound to the ports again (a bridge model then learns its stations again).

import type { RxFilter } from '../filter/rx-filter.js';
import { formatMac } from '../mac.js';
import { FdPort } from '../port/fd-port.js';
import { GuestPort } from '../port/guest.js';
import type { Port } from '../port/port.js';
import type { Switch } from '../switch/decision.js';

export interface FollowAddress {
  readonly ports: readonly Port[];
  readonly rxFilters: readonly (RxFilter | null)[];
  /** The ports' rx filters whose MAC was given (mac=): those keep it. */
  readonly filterMacGiven: readonly boolean[];
  /** The ports whose address was given (mac=): those keep it. */
  readonly portMacGiven: readonly boolean[];
  readonly sw: Switch;
  /** A sentence for the run's output, without the leading `tapyard: ` (as the forwarder's notes). */
  readonly onNote: (sentence: string) => void;
}

export function followAddresses(o: FollowAddress): void {
  for (const device of o.ports) {
    if (!(device instanceof FdPort)) continue;
    device.onAddressChange = (before, after) => {
      const followed: string[] = [];
      o.ports.forEach((p, i) => {
        if (p !== device && p instanceof GuestPort && p.mac === before && !o.portMacGiven[i]) {
          p.setMac(after);
          followed.push(`port ${p.name}`);
        }
        const filter = o.rxFilters[i];
        if (filter != null && filter.mac === before && !o.filterMacGiven[i]) {
          filter.setMac(after);
          followed.push(`the receive filter of ${p.name}`);
        }
      });
      if (o.sw.bind !== undefined) {
        try {
          o.sw.bind(o.ports);
          followed.push('the switch model');
        } catch (err) {
          // The kernel refuses such an address on one lower (EADDRINUSE); the model says why.
          o.onNote(`warning: the switch model cannot take ${formatMac(after)}: ${(err as Error).message}`);
        }
      }
      if (followed.length > 0) {
        const verb = followed.length === 1 ? 'now uses' : 'now use';
        o.onNote(`${followed.join(', ')} ${verb} ${device.name}'s new address ${formatMac(after)}`);
      }
    };
  }
}
