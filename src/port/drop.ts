// Every frame that tapyard does not deliver is counted under one of these names.

import { constants } from 'node:os';
import { FrameError } from '../frame/error.js';
import { reasons } from '../reason.js';

export const DropReason = reasons({
  TRUNCATED: ['truncated', 'the frame filled the read buffer: the kernel cut it, so it is not passed on'],
  RUNT: [FrameError.RUNT, 'shorter than an Ethernet header (14 bytes)'],
  TRUNCATED_TAG: [FrameError.TRUNCATED_TAG, 'a VLAN TPID with fewer than four bytes of tag behind it'],
  TOO_MANY_TAGS: [
    FrameError.TOO_MANY_TAGS,
    'more than two stacked VLAN tags, for a switch that reads them (the cross-connect and the hub carry any)',
  ],
  BAD_VNET_HDR: [
    FrameError.BAD_VNET_HDR,
    'a virtio_net_hdr that cannot be right (an unknown GSO type, gso_size 0, ...)',
  ],
  OVERSIZE: [
    'oversize',
    "larger than the egress device's MTU allows and not a GSO frame: " +
      'the kernel would take the write and drop it silently',
  ],
  GSO_TO_PLAIN_PORT: [
    'gso-to-plain-port',
    'a GSO super-frame for a port with no vnet header: nobody would segment it there',
  ],
  SPOOFED_SOURCE: [
    'spoofed-source',
    "a macvtap port with spoof=drop: the guest side sent it with a source MAC that is not the macvtap's own",
  ],
  SHUTDOWN: ['queued-at-shutdown', 'still queued for a full egress when tapyard stopped'],
  NO_OUTPUT: ['no-output', 'the switch sent the frame nowhere and gave no reason'],
});

// Node's table lacks some Linux errnos that taps return: EBADFD (77) from a deleted tap's fd.
const ERRNO_NAMES = new Map<number, string>([[77, 'EBADFD']]);
for (const [name, value] of Object.entries(constants.errno)) if (!ERRNO_NAMES.has(value)) ERRNO_NAMES.set(value, name);

const txErrorReasons = new Map<number, string>();

/**
 * `tx-EINVAL` and friends: a frame the kernel refused on write (write() returned that errno).
 * Cached so that counting allocates nothing.
 */
export function txErrorReason(errno: number): string {
  let reason = txErrorReasons.get(errno);
  if (reason === undefined) {
    reason = `tx-${ERRNO_NAMES.get(errno) ?? `errno-${errno}`}`;
    txErrorReasons.set(errno, reason);
  }
  return reason;
}

export function errnoName(errno: number): string {
  return ERRNO_NAMES.get(errno) ?? `errno ${errno}`;
}
