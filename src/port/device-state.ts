// What tapyard follows about a device while it uses it: its MTU, whether it is up and has its
// carrier, and its address. fd-port.ts asks whenever the kernel announces a change of the link
// (link-events.ts), and once a second for what nothing announces, and says what changed. Asked
// with ioctls on a socket made once in the device's namespace: four ioctls cost microseconds,
// and the answer does not depend on parsing the announcement.

import { readFileSync } from 'node:fs';
import { formatMac, type Mac, readMac } from '../mac.js';
import { tapio } from './native.js';

export interface DeviceState {
  mtu: number;
  /** IFF_UP: the administrator set it up. */
  up: boolean;
  /** IFF_RUNNING: up and with its carrier (a macvtap's follows its lower device). */
  running: boolean;
  mac: Mac;
  /** Its ifindex: the link announcements name it so. */
  index: number;
}

const IFF_UP = 0x1;
const IFF_RUNNING = 0x40;

/** The state of IFNAME as seen through SOCKET, a socket from tapio().nsSocket. Throws when it is gone. */
export function readDeviceState(socket: number, ifname: string): DeviceState {
  const s = tapio().ifStateAt(socket, ifname);
  return {
    mtu: s.mtu,
    up: (s.flags & IFF_UP) !== 0,
    running: (s.flags & IFF_RUNNING) !== 0,
    mac: readMac(s.mac, 0),
    index: s.index,
  };
}

/** BR_STATE_FORWARDING in include/uapi/linux/if_bridge.h. */
const BR_STATE_FORWARDING = 3;

/**
 * Whether IFNAME, in this process's network namespace, forwards as a bridge's port; true when it
 * is no bridge's port. A port is disabled while its device has no carrier and is enabled when the
 * bridge hears of the change (NETDEV_CHANGE, after the operstate): with STP off it forwards at once.
 */
export function bridgePortForwarding(ifname: string): boolean {
  let state: string;
  try {
    state = readFileSync(`/sys/class/net/${ifname}/brport/state`, 'utf8');
  } catch {
    return true;
  }
  return Number(state) === BR_STATE_FORWARDING;
}

/** One sentence per change that matters to a user between two readings (the MTU aside). */
export function stateChanges(device: string, before: DeviceState, after: DeviceState): string[] {
  const notes: string[] = [];
  const link = (s: DeviceState) => (!s.up ? 'down' : s.running ? 'running' : 'no-carrier');
  const was = link(before);
  const now = link(after);
  if (was !== now) {
    if (now === 'down') notes.push(`the ${device} was set down: the kernel drops what tapyard writes to it`);
    else if (now === 'no-carrier')
      notes.push(
        `the ${device} lost its carrier (its lower device is down): the kernel drops what tapyard writes to it`,
      );
    else notes.push(`the ${device} is up and running again`);
  }
  if (after.mac !== before.mac) {
    notes.push(`the ${device}'s address changed from ${formatMac(before.mac)} to ${formatMac(after.mac)}`);
  }
  return notes;
}
