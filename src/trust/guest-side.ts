// Where tapyard sees a guest's receive filter. A guest namespace's interface (a tap port) is read
// in this process, without entering its namespace again: its flags and address through ioctls on
// a socket made there, its link-layer groups (dev->mc) from that namespace's /proc/net/dev_mcast,
// opened there once and read again from its start. Both are made before --user gives up root,
// and a reading costs microseconds, so it never holds the loop. It is read again when the kernel
// announces a change of the interface (port/link-events.ts); a group added with `ip maddr add`, and
// any IP group join on a kernel before 6.13, are announced by nothing, so the caller also looks
// now and then.
// The built-in guest's filter is its configuration and never changes while it runs.

import { formatMac, type Mac, readMac } from '../mac.js';
import { LinkEvents } from '../port/link-events.js';
import { netnsPath, tapio } from '../port/native.js';
import { readWhole } from '../port/proc-file.js';
import { fromBuiltinGuest, fromNetdev, type RxFilterInfo } from './rx-filter-info.js';

export interface GuestSide {
  /** The guest port's name, which the filter report carries as QEMU carries the NIC's. */
  readonly port: string;
  /** The guest's filter now, or an error sentence when it cannot be read. */
  read(): Promise<RxFilterInfo | string>;
  /** Call `onChange` whenever the kernel says the guest's interface changed; `onError` once if it stops. */
  watch(onChange: () => void, onError: (sentence: string) => void): void;
  /** Release what watching and reading hold. */
  close(): void;
}

/** The SIOCGIFFLAGS bits the filter reads, by the names `ip link` gives them. */
const FLAG_NAMES: readonly [number, string][] = [
  [0x100, 'PROMISC'],
  [0x200, 'ALLMULTI'],
  [0x1000, 'MULTICAST'],
];

/** A namespace's interface, read in this process (see the top of the file). Throws if it cannot be entered. */
export function netdevGuest(port: string, ifname: string, netns: string | null): GuestSide {
  const where = netns === null ? ifname : `${ifname} in ${netns}`;
  const ns = netnsPath(netns ?? undefined);
  const io = tapio();
  const socket = io.nsSocket(ns);
  let mcast = -1;
  let events: LinkEvents | null = null;
  let onChange = () => {};
  let onError = (_sentence: string) => {};
  try {
    mcast = io.nsOpenRead(ns, '/proc/thread-self/net/dev_mcast');
    events = new LinkEvents(
      ns,
      io.ifStateAt(socket, ifname).index,
      () => onChange(),
      (sentence) => onError(sentence),
    );
  } catch (err) {
    if (mcast >= 0) io.close(mcast);
    io.close(socket);
    throw err;
  }
  const text = new Uint8Array(64 * 1024);
  return {
    port,
    read: async () => {
      try {
        const state = io.ifStateAt(socket, ifname);
        return fromNetdev(port, {
          mac: formatMac(readMac(state.mac, 0)),
          flags: FLAG_NAMES.filter(([bit]) => (state.flags & bit) !== 0).map(([, name]) => name),
          multicast: groupsOf(readWhole(mcast, text), ifname),
        });
      } catch (err) {
        return `cannot read ${where} (${err instanceof Error ? err.message : String(err)})`;
      }
    },
    watch: (change, error) => {
      onChange = change;
      onError = error;
    },
    close: () => {
      events?.close();
      io.close(mcast);
      io.close(socket);
    },
  };
}

export function builtinGuest(port: string, mac: Mac, ipv6: Uint8Array | null): GuestSide {
  const filter = fromBuiltinGuest(port, mac, ipv6);
  return { port, read: async () => filter, watch: () => {}, close: () => {} };
}

/** IFNAME's groups in /proc/net/dev_mcast: ifindex name users global-users address (dev_mc_seq_show). */
function groupsOf(text: string, ifname: string): string[] {
  const groups: string[] = [];
  for (const line of text.split('\n')) {
    const [, name, , , hex] = line.trim().split(/\s+/);
    if (name !== ifname || hex === undefined || !/^[0-9a-f]{12}$/.test(hex)) continue;
    groups.push(hex.replace(/(..)(?!$)/g, '$1:'));
  }
  return groups;
}
