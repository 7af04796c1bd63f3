// Attribution of the kernel's drops: skb:kfree_skb is global and other programs share the
// machine, so the watch keeps only drops whose skb device is in a namespace it was given. Two of
// our own namespaces drop the same marked frames at the same time; only the watched one's appear.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dropWatchUnavailable, netnsInode, watchDrops } from '../../src/kernel/drop-watch.js';
import { netnsPath, tapio } from '../../src/port/native.js';
import { addNamespace, deleteNamespace, newRunId } from '../helpers/kernel-lab.js';

const RUN = newRunId();
const WATCHED = `ty-${RUN}-dw`;
const OTHER = `ty-${RUN}-do`;

/** A 60-byte 0x88b5 frame marked with `n`: looped back by lo, it dies as UNHANDLED_PROTO. */
function frame(n: number): Uint8Array {
  const b = new Uint8Array(60);
  b[12] = 0x88;
  b[13] = 0xb5;
  new DataView(b.buffer).setUint32(16, n);
  return b;
}

function sendOnLo(ns: string, bytes: Uint8Array): void {
  const io = tapio();
  const fd = io.packetSocket('lo', 0, netnsPath(ns));
  try {
    const status = new Int32Array(1);
    expect(io.writeBatch(fd, bytes, Uint32Array.of(0), Uint32Array.of(bytes.length), 1, status)).toBe(1);
  } finally {
    io.close(fd);
  }
}

describe('watching skb:kfree_skb', () => {
  beforeAll(() => {
    const why = dropWatchUnavailable();
    if (why !== null) throw new Error(`this test needs the kernel's drops: ${why}`);
    addNamespace(WATCHED);
    addNamespace(OTHER);
  });
  afterAll(() => {
    deleteNamespace(WATCHED);
    deleteNamespace(OTHER);
  });

  it("never shows a drop made at the same time in a namespace that is not the lab's", async () => {
    const watch = await watchDrops([WATCHED]);
    const mine = netnsInode(WATCHED);
    const other = netnsInode(OTHER);
    try {
      // The same frames, interleaved, in both namespaces: time cannot tell them apart.
      for (let i = 0; i < 40; i++) {
        sendOnLo(WATCHED, frame(i));
        sendOnLo(OTHER, frame(i));
      }
      const deadline = Date.now() + 5000;
      const ours = () => watch.drops.filter((d) => d.device === 'lo' && d.head[13] === 0xb5);
      while (ours().length < 40 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      await new Promise((r) => setTimeout(r, 300));
      expect(ours()).toHaveLength(40);
      expect(ours().every((d) => d.reason === 'UNHANDLED_PROTO' && d.fn === '__netif_receive_skb_core')).toBe(true);
      expect(watch.drops.filter((d) => d.netns === other)).toEqual([]);
      expect(watch.drops.every((d) => d.netns === mine)).toBe(true);
    } finally {
      await watch.stop();
    }
  });
});
