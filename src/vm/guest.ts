// The guest image scripts/vm/build-guest makes: a Debian cloud kernel and a busybox initramfs.
// Its init prints these lines on the serial console; the boot code and the tests wait for them.

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { TapyardError } from '../error.js';
import { packageRoot } from '../package-root.js';

export const GuestLine = {
  READY: 'TAPYARD-GUEST READY',
  /** `TAPYARD-GUEST SINK <md5> <bytes>` after each connection to the sink on port 5001 ends. */
  SINK: 'TAPYARD-GUEST SINK',
  FAIL: 'TAPYARD-GUEST FAIL',
  /** `TAPYARD-GUEST STATS rx_packets=N rx_dropped=N`, the answer to `stats` typed on the console. */
  STATS: 'TAPYARD-GUEST STATS',
  /** `TAPYARD-GUEST PING <addr> received=N`, the answer to `ping ADDR` typed on the console. */
  PING: 'TAPYARD-GUEST PING',
} as const;

/** Ports of the guest's services. */
export const GuestService = { SINK: 5001, ECHO: 5002, IPERF3: 5201 } as const;

export interface GuestImage {
  kernel: string;
  initrd: string;
}

export function guestImage(dir = join(packageRoot(), 'build', 'vm')): GuestImage {
  const image = { kernel: join(dir, 'vmlinuz'), initrd: join(dir, 'initramfs.cpio.gz') };
  if (!existsSync(image.kernel) || !existsSync(image.initrd)) {
    throw new TapyardError('ENOGUEST', `no VM guest image in ${dir} (run scripts/vm/build-guest)`);
  }
  return image;
}
