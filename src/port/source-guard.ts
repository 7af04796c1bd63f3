// What a macvtap port does with a frame it is to send whose source MAC is not the macvtap's own:
// a guest spoofing another station's address, or one whose MAC was changed inside it. The kernel
// lets such a frame out (tap_get_user hands it to dev_queue_xmit, and macvlan_queue_xmit reads only
// the destination; libvirt stops it with an nwfilter), so tapyard counts it, and with spoof=drop
// drops it under `spoofed-source`. The MAC and the mode sit in bytes the addon reads as well, so
// that a spliced frame (fd-port.ts spliceTo) is checked by the same rule, below JavaScript.

import { type Mac, readMac, writeMac } from '../mac.js';

export type SpoofPolicy = 'count' | 'drop';

/** Byte 6 of the cell: what the addon does (native/tapio.c, splice_to.guard). */
const GuardMode = { COUNT: 1, DROP: 2 } as const;

/** The Ethernet source address starts at byte 6 and ends at byte 12. */
const SOURCE_END = 12;

export class SourceGuard {
  /** The port's MAC (bytes 0-5) and the mode (byte 6), shared with the addon; 8 bytes for alignment. */
  readonly cell = new Uint8Array(8);
  private current: Mac;

  constructor(
    readonly policy: SpoofPolicy,
    mac: Mac,
  ) {
    this.current = mac;
    writeMac(this.cell, 0, mac);
    this.cell[6] = policy === 'drop' ? GuardMode.DROP : GuardMode.COUNT;
  }

  get mac(): Mac {
    return this.current;
  }

  /** The port's MAC changed (ip link set address, trust-guest-rx-filters): frames are checked against it. */
  setMac(mac: Mac): void {
    this.current = mac;
    writeMac(this.cell, 0, mac);
  }

  /**
   * Whether the frame buf[off, off + len) (no vnet header) carries another source MAC. A frame too
   * short to hold one is not read past its end and is not called spoofed (the loop drops runts).
   */
  isForeign(buf: Uint8Array, off: number, len: number): boolean {
    return len >= SOURCE_END && off + SOURCE_END <= buf.length && readMac(buf, off + 6) !== this.current;
  }
}
