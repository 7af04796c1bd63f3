// What every qemu port keeps about the VM on the other end of its socket, whatever the netdev.

import { chmodSync, lstatSync, unlinkSync } from 'node:fs';
import { isMainThread } from 'node:worker_threads';

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

/**
 * Make the socket file PATH with BIND (which binds it at once): 0600 from the moment bind(2)
 * makes it, whatever the umask. connect(2) and sendto(2) need write permission on the file, so
 * only its owner (and root) can reach it: root's, or --user's once it is handed over.
 */
export function bindPrivately<T>(path: string, bind: () => T): T {
  // A worker thread cannot change the umask (it is the process's): there the chmod below
  // follows the bind.
  const old = isMainThread ? process.umask(0o177) : null;
  try {
    return bind();
  } finally {
    if (old !== null) process.umask(old);
    try {
      chmodSync(path, 0o600);
    } catch {
      // The bind failed: there is no file, and the caller says why.
    }
  }
}

/**
 * Remove a socket file the port bound; anything else at that path is not ours to remove. One
 * that cannot be removed (its directory is not writable by --user) is said, not left silently.
 */
export function removeOwnSocket(path: string, warn: (sentence: string) => void = () => {}): void {
  try {
    if (lstatSync(path).isSocket()) unlinkSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT') warn(`cannot remove the socket file ${path} (${code}): remove it before the next run`);
  }
}
