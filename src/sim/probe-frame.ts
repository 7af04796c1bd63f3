// The frames the teaching views send through the models: an Ethernet header and padding to the
// minimum size. The models decide on the header alone, so nothing else needs to be real.

import { EtherType, emitEthernet } from '../frame/ethernet.js';
import type { Mac } from '../mac.js';

/** Ethernet's minimum frame size without the FCS. */
const MIN_FRAME = 60;

export function probeFrame(dst: Mac, src: Mac, etherType: number = EtherType.EXPERIMENTAL): Uint8Array {
  const bytes = new Uint8Array(MIN_FRAME);
  emitEthernet({ dst, src, tags: [], etherType }, bytes, 0);
  return bytes;
}
