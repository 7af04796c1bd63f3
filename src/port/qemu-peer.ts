// What every qemu port keeps about the VM on the other end of its socket, whatever the netdev.

import { lstatSync, unlinkSync } from 'node:fs';

/** What happened to the VM side of the socket, beside the frame counters. */
export interface QemuPeerCounters {
  /** Times a VM was attached: accepted, connected to, or (dgram) reached. */
  connections: number;
  /** Peers that went away (QEMU quit or was killed). */
  disconnects: number;
  /** Connections refused because a VM was already attached. */
  refused: number;
  /** Connections closed for a broken length. */
  malformed: number;
  /** Bytes of a frame cut short when its peer went away. */
  partialBytes: number;
}

export const newPeerCounters = (): QemuPeerCounters => ({
  connections: 0,
  disconnects: 0,
  refused: 0,
  malformed: 0,
  partialBytes: 0,
});

/** Remove a socket file the port bound; anything else at that path is not ours to remove. */
export function removeOwnSocket(path: string): void {
  try {
    if (lstatSync(path).isSocket()) unlinkSync(path);
  } catch {
    // Already gone.
  }
}
