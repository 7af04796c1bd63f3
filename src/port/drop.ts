// Every frame that tapyard does not deliver is counted under one of these names.

import { constants } from 'node:os';
import { FrameError } from '../frame/error.js';

export const DropReason = {
  /** The frame filled the read buffer: the kernel cut it, so it is not passed on. */
  TRUNCATED: 'truncated',
  RUNT: FrameError.RUNT,
  BAD_VNET_HDR: FrameError.BAD_VNET_HDR,
  /** Larger than the egress device's MTU allows and not a GSO frame: the kernel would drop it silently. */
  OVERSIZE: 'oversize',
  /** A GSO super-frame for a port with no vnet header: nobody would segment it there. */
  GSO_TO_PLAIN_PORT: 'gso-to-plain-port',
  /** Still queued for an egress when tapyard stopped. */
  SHUTDOWN: 'queued-at-shutdown',
  /** The switch sent the frame nowhere and gave no reason. */
  NO_OUTPUT: 'no-output',
} as const;

// Node's table lacks some Linux errnos that taps return: EBADFD (77) from a deleted tap's fd.
const ERRNO_NAMES = new Map<number, string>([[77, 'EBADFD']]);
for (const [name, value] of Object.entries(constants.errno)) if (!ERRNO_NAMES.has(value)) ERRNO_NAMES.set(value, name);

const txErrorReasons = new Map<number, string>();

/** `tx-EINVAL` and friends: a frame the kernel refused on write. Cached so counting allocates nothing. */
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
