// /proc/thread-self/net/* files opened inside another network namespace (tapio().nsOpenRead): they
// keep showing the namespace they were opened in, so one fd answers for it from then on, with no
// `ip -n` child and no setns on the loop.

import { readSync } from 'node:fs';

/** A /proc seq file from its start (pread at 0 restarts it), whatever its length. */
export function readWhole(fd: number, chunk: Uint8Array): string {
  const parts: string[] = [];
  let at = 0;
  for (;;) {
    const got = readSync(fd, chunk, 0, chunk.length, at);
    if (got === 0) return parts.join('');
    parts.push(Buffer.from(chunk.buffer, chunk.byteOffset, got).toString('latin1'));
    at += got;
  }
}
