// One port's two ends of a splice (Port.spliceTo): the port its frames are written into below
// JavaScript, with the receive filter that port plays, and the port whose splice writes into it.
// Each end tells the other when it goes or changes, so that neither writes to a closed fd or a
// stopped guest ring.

import type { Port, SpliceSource } from './port.js';

export class SpliceLink {
  /** Where this port's splice writes, or null. */
  into: Port | null = null;
  /** The receive filter `into` plays (RxFilter spliceCell), if any. */
  filter: Uint8Array | undefined = undefined;
  /** The port whose splice writes into this one, or null. */
  from: SpliceSource | null = null;

  /** Point `self`'s splice at `peer` (null: none), telling the old peer and the new one. */
  connect(self: SpliceSource, peer: Port | null, filter: Uint8Array | null): void {
    this.into?.acceptSplice?.(null);
    this.into = peer;
    this.filter = filter ?? undefined;
    peer?.acceptSplice?.(self);
  }
}
