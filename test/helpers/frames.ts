// Raw frames into a lab: a packet socket made inside the lab's namespace, written in batches.

import { EtherType, emitEthernet } from '../../src/frame/ethernet.js';
import type { Mac } from '../../src/mac.js';
import { isErrno, tapio } from '../../src/port/native.js';

/** `count` copies of a minimal frame (ethertype 0x88b5, payload = a sequence number). */
export function markedFrames(dst: Mac, src: Mac, count: number, length = 60): Uint8Array {
  const all = new Uint8Array(count * length);
  for (let i = 0; i < count; i++) {
    const at = i * length;
    const hdr = emitEthernet({ dst, src, tags: [], etherType: EtherType.EXPERIMENTAL }, all, at);
    new DataView(all.buffer).setUint32(at + hdr, i);
  }
  return all;
}

/** Send `count` frames of `length` bytes packed in `frames` out of `ifname` in namespace `ns`. */
export async function sendFrames(
  ns: string,
  ifname: string,
  frames: Uint8Array,
  count: number,
  length: number,
): Promise<void> {
  const t = tapio();
  const fd = t.packetSocket(ifname, 0, `/run/netns/${ns}`); // protocol 0: send only, receives nothing
  try {
    const batch = 64;
    const offsets = new Uint32Array(batch);
    const lengths = new Uint32Array(batch).fill(length);
    const status = new Int32Array(batch);
    let done = 0;
    while (done < count) {
      const n = Math.min(batch, count - done);
      for (let i = 0; i < n; i++) offsets[i] = (done + i) * length;
      const sent = t.writeBatch(fd, frames, offsets, lengths, n, status);
      for (let i = 0; i < sent; i++) if (status[i] !== 0) throw new Error(`send failed with errno ${status[i]}`);
      done += sent;
      if (sent < n) await new Promise((r) => setTimeout(r, 1)); // socket buffer full: let it drain
    }
  } catch (err) {
    if (isErrno(err)) throw new Error(`sending frames in ${ns}: ${err.message}`);
    throw err;
  } finally {
    t.close(fd);
  }
}
