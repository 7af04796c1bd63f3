// The virtqueue walk and the virtio-net frames over it, on guest memory built by hand: what a
// well-behaved guest does, and a hostile set (each named) that must end in a named drop or a
// stopped ring, never an exception and never a byte outside the memory table.

import { describe, expect, it } from 'vitest';
import { VNET_HDR_LEN } from '../../../src/frame/vnet.js';
import { TunOffload } from '../../../src/port/native.js';
import { NetQueues, TxTake } from '../../../src/port/vhost-net.js';
import { VirtqReason, Virtqueue } from '../../../src/port/virtqueue.js';
import { AVAIL, DESC, F, GPA, Guest, NUM, SIZE, USED, UVA } from '../../helpers/guest-ring.js';

const V1 = { guestHdr: 12, mergeable: true };
const HDR = new Uint8Array(12);

/** Take one frame from the guest's transmit queue: its text, or the TxTake code and reason. */
function takeFrame(g: Guest, net = new NetQueues(V1)): { frame?: string; code?: number; reason?: string | null } {
  const dst = new Uint8Array(4096);
  const got = net.take(g.ring, dst, 64, dst.length - 64, 2048);
  if (got < 0) return { code: got, reason: got === TxTake.DROPPED ? net.reason : (g.ring.broken ?? null) };
  return { frame: Buffer.from(dst.subarray(64, 64 + got)).toString() };
}

describe('virtqueue: well-formed chains', () => {
  it('a frame in one descriptor with its 12-byte header (as Linux sends it) arrives whole, and is returned', () => {
    const g = new Guest();
    g.bytes.set(HDR, 0x1000);
    g.fill(0x100c, 'hello frame');
    g.desc(0, GPA + 0x1000, 12 + 11);
    g.offer(0);
    expect(takeFrame(g)).toEqual({ frame: 'hello frame' });
    expect(g.ring.publish()).toBe(true);
    expect(g.usedIdx).toBe(1);
    expect(g.used(0)).toEqual({ id: 0, len: 0 });
    expect(g.untouchedOutside()).toBe(true);
  });

  it('the 12-byte header becomes the 10-byte one, right before the frame', () => {
    const g = new Guest();
    g.bytes.set([1, 4, 54, 0, 0xb4, 5, 34, 0, 16, 0, 9, 9], 0x1000);
    g.fill(0x100c, 'x');
    g.desc(0, GPA + 0x1000, 13);
    g.offer(0);
    const dst = new Uint8Array(256);
    const offloads = { ...V1, fromGuest: TunOffload.CSUM | TunOffload.TSO6 };
    expect(new NetQueues(offloads).take(g.ring, dst, 64, 192, 2048)).toBe(1);
    expect([...dst.subarray(64 - VNET_HDR_LEN, 64)]).toEqual([1, 4, 54, 0, 0xb4, 5, 34, 0, 16, 0]);
  });

  it('a GSO frame from a guest that did not negotiate HOST_TSO6: vhost-offload-not-negotiated', () => {
    const g = new Guest();
    g.bytes.set([1, 4, 54, 0, 0xb4, 5, 34, 0, 16, 0, 0, 0], 0x1000);
    g.desc(0, GPA + 0x1000, 13);
    g.offer(0);
    const net = new NetQueues({ ...V1, fromGuest: TunOffload.CSUM | TunOffload.TSO4 });
    expect(takeFrame(g, net)).toEqual({ code: TxTake.DROPPED, reason: VirtqReason.OFFLOAD_NOT_NEGOTIATED });
  });

  it('a chain of header and two fragments is read in order', () => {
    const g = new Guest();
    g.desc(0, GPA + 0x1000, 12, F.NEXT, 3);
    g.fill(0x2000, 'first-');
    g.desc(3, GPA + 0x2000, 6, F.NEXT, 5);
    g.fill(0x3000, 'second');
    g.desc(5, GPA + 0x3000, 6);
    g.offer(0);
    expect(takeFrame(g)).toEqual({ frame: 'first-second' });
  });

  it('an indirect table (when negotiated) is walked like a chain', () => {
    const g = new Guest({ indirect: true });
    const table = 0x4000;
    g.desc(0, GPA + 0x1000, 12, F.NEXT, 1, table);
    g.fill(0x2000, 'indirect');
    g.desc(1, GPA + 0x2000, 8, 0, 0, table);
    g.desc(2, GPA + table, 32, F.INDIRECT);
    g.offer(2);
    expect(takeFrame(g)).toEqual({ frame: 'indirect' });
    expect(g.used(0).id).toBe(2);
  });

  it('kicks: tapyard sets VIRTQ_USED_F_NO_NOTIFY while it will look anyway, and clears it after', () => {
    const g = new Guest();
    g.ring.wantKicks(false);
    expect(g.view.getUint16(USED, true)).toBe(1);
    g.ring.wantKicks(true);
    expect(g.view.getUint16(USED, true)).toBe(0);
  });

  it("event indexes: an interrupt only when the used index passes the guest's used_event", () => {
    const g = new Guest();
    g.ring.eventIdx = true;
    for (let i = 0; i < 3; i++) {
      g.desc(i, GPA + 0x1000 * (i + 1), 20);
      g.offer(i);
    }
    // used_event (after the available ring's NUM entries) = 1: interrupt me once entry 1 is used.
    g.view.setUint16(AVAIL + 4 + 2 * NUM, 1, true);
    takeFrame(g);
    expect(g.ring.publish()).toBe(false); // used 0 -> 1 does not pass 1
    takeFrame(g);
    expect(g.ring.publish()).toBe(true); // 1 -> 2 does
    takeFrame(g);
    expect(g.ring.publish()).toBe(false); // 2 -> 3: already passed
  });

  it("event indexes: asking for kicks sets avail_event to the guest's available index", () => {
    const g = new Guest();
    g.ring.eventIdx = true;
    g.setAvailIdx(5);
    g.ring.wantKicks(true);
    expect(g.view.getUint16(USED + 4 + 8 * NUM, true)).toBe(5);
    expect(g.view.getUint16(USED, true)).toBe(0); // the flags are not used with event indexes
  });

  it('nothing available: EMPTY, and nothing is published', () => {
    const g = new Guest();
    expect(takeFrame(g).code).toBe(TxTake.EMPTY);
    expect(g.ring.publish()).toBe(false);
  });

  it('a guest that set VIRTQ_AVAIL_F_NO_INTERRUPT is not interrupted, but its chains are returned', () => {
    const g = new Guest();
    g.view.setUint16(AVAIL, 1, true);
    g.desc(0, GPA + 0x1000, 20);
    g.offer(0);
    takeFrame(g);
    expect(g.ring.publish()).toBe(false);
    expect(g.usedIdx).toBe(1);
  });
});

describe('virtio-net receive: frames into the guest', () => {
  /** A frame as tapyard holds it: 10-byte header, then the bytes. */
  const frame = (text: string) => Uint8Array.from([...new Uint8Array(10), ...Buffer.from(text)]);

  it('one buffer holds header (num_buffers 1) and frame', () => {
    const g = new Guest();
    g.desc(0, GPA + 0x1000, 2048, F.WRITE);
    g.offer(0);
    const f = frame('to the guest');
    expect(new NetQueues(V1).give(g.ring, f, 0, f.length)).toBeNull();
    g.ring.publish();
    expect(g.used(0)).toEqual({ id: 0, len: 12 + 12 });
    expect(g.view.getUint16(0x1000 + 10, true)).toBe(1);
    expect(g.text(0x100c, 12)).toBe('to the guest');
  });

  it('merged receive buffers: a frame larger than one buffer fills three, num_buffers says 3', () => {
    const g = new Guest();
    for (let i = 0; i < 3; i++) {
      g.desc(i, GPA + 0x1000 * (i + 1), 16, F.WRITE);
      g.offer(i);
    }
    const text = 'abcdefghijklmnopqrstuvwxyz0123456789';
    const f = frame(text);
    expect(new NetQueues(V1).give(g.ring, f, 0, f.length)).toBeNull();
    g.ring.publish();
    expect(g.usedIdx).toBe(3);
    expect([g.used(0), g.used(1), g.used(2)]).toEqual([
      { id: 0, len: 16 },
      { id: 1, len: 16 },
      { id: 2, len: 16 },
    ]);
    expect(g.view.getUint16(0x1000 + 10, true)).toBe(3);
    expect(g.text(0x100c, 4) + g.text(0x2000, 16) + g.text(0x3000, 16)).toBe(text);
  });

  it('too few buffers for a merged frame: nothing is taken (full), and it fits once the guest adds one', () => {
    const g = new Guest();
    g.desc(0, GPA + 0x1000, 16, F.WRITE);
    g.offer(0);
    const f = frame('a frame of more than four bytes');
    const net = new NetQueues(V1);
    expect(net.give(g.ring, f, 0, f.length)).toBe('full');
    expect(g.ring.publish()).toBe(false);
    for (let i = 1; i < 3; i++) {
      g.desc(i, GPA + 0x1000 * (i + 1), 16, F.WRITE);
      g.offer(i);
    }
    expect(net.give(g.ring, f, 0, f.length)).toBeNull();
    g.ring.publish();
    expect(g.usedIdx).toBe(3);
  });

  it('buffers the guest offers while give runs: roomWhenFull is what give saw, not the ring a moment later', () => {
    // The guest's vCPU adds buffers on another thread. If the waiter compared with the ring read
    // after give, it would count those as already seen and wait for a kick that never comes.
    const g = new Guest();
    g.desc(0, GPA + 0x1000, 16, F.WRITE);
    g.offer(0);
    const ring = g.ring;
    const take = ring.take.bind(ring);
    ring.take = (writable: boolean) => {
      const head = take(writable);
      for (let i = 1; i < 3; i++) {
        g.desc(i, GPA + 0x1000 * (i + 1), 16, F.WRITE);
        g.offer(i);
      }
      ring.take = take;
      return head;
    };
    const f = frame('a frame of more than four bytes');
    const net = new NetQueues(V1);
    expect(net.give(ring, f, 0, f.length)).toBe('full');
    expect(net.roomWhenFull).toBe(1);
    expect(ring.pending()).toBe(3);
    expect(net.give(ring, f, 0, f.length)).toBeNull();
  });

  it('a GSO frame reaches a guest with GUEST_TSO4 whole; one without it refuses it by name', () => {
    const g = new Guest();
    g.desc(0, GPA + 0x1000, 4096, F.WRITE);
    g.offer(0);
    const f = frame('segment me');
    f.set([1, 1, 54, 0, 0xa8, 5, 34, 0, 16, 0]);
    const without = new NetQueues({ ...V1, toGuest: TunOffload.CSUM });
    expect(without.give(g.ring, f, 0, f.length)).toBe(VirtqReason.OFFLOAD_NOT_NEGOTIATED);
    expect(g.ring.pending()).toBe(1);
    const withTso = new NetQueues({ ...V1, toGuest: TunOffload.CSUM | TunOffload.TSO4 });
    expect(withTso.give(g.ring, f, 0, f.length)).toBeNull();
    expect([...g.bytes.subarray(0x1000, 0x100c)]).toEqual([1, 1, 54, 0, 0xa8, 5, 34, 0, 16, 0, 1, 0]);
  });

  it('without MRG_RXBUF a frame larger than one buffer is dropped by name, and the buffer stays offered', () => {
    const g = new Guest();
    g.desc(0, GPA + 0x1000, 16, F.WRITE);
    g.offer(0);
    const f = frame('a frame of more than six bytes');
    const net = new NetQueues({ guestHdr: 10, mergeable: false });
    expect(net.give(g.ring, f, 0, f.length)).toBe(VirtqReason.RX_NO_ROOM);
    expect(g.ring.pending()).toBe(1);
  });

  it('a read-only receive buffer is returned unused and counted; the frame goes to the next', () => {
    const g = new Guest();
    g.desc(0, GPA + 0x1000, 2048);
    g.offer(0);
    g.desc(1, GPA + 0x2000, 2048, F.WRITE);
    g.offer(1);
    const net = new NetQueues(V1);
    const f = frame('x');
    expect(net.give(g.ring, f, 0, f.length)).toBeNull();
    g.ring.publish();
    expect(net.badRxBuffers).toBe(1);
    expect(net.badRxReason).toBe(VirtqReason.WRONG_DIRECTION);
    expect([g.used(0), g.used(1)]).toEqual([
      { id: 0, len: 0 },
      { id: 1, len: 13 },
    ]);
  });
});

describe('virtqueue: a hostile guest', () => {
  const dropped = (reason: string) => ({ code: TxTake.DROPPED, reason });

  it('a descriptor past the end of the region: vhost-desc-outside', () => {
    const g = new Guest();
    g.desc(0, GPA + SIZE - 8, 64);
    g.offer(0);
    expect(takeFrame(g)).toEqual(dropped(VirtqReason.DESC_OUTSIDE));
    expect(g.untouchedOutside()).toBe(true);
  });

  it('a descriptor below the region, and one at an address above 2^53: vhost-desc-outside', () => {
    const g = new Guest();
    g.desc(0, GPA - 16, 64);
    g.offer(0);
    g.desc(1, 0xffff_ffff_ffff_f000n, 64);
    g.offer(1);
    expect(takeFrame(g)).toEqual(dropped(VirtqReason.DESC_OUTSIDE));
    expect(takeFrame(g)).toEqual(dropped(VirtqReason.DESC_OUTSIDE));
  });

  it('a descriptor of length 0: vhost-desc-empty', () => {
    const g = new Guest();
    g.desc(0, GPA + 0x1000, 0);
    g.offer(0);
    expect(takeFrame(g)).toEqual(dropped(VirtqReason.DESC_EMPTY));
  });

  it('a descriptor of length 2^32-1: vhost-desc-outside, no copy attempted', () => {
    const g = new Guest();
    g.desc(0, GPA + 0x1000, 0xffffffff);
    g.offer(0);
    expect(takeFrame(g)).toEqual(dropped(VirtqReason.DESC_OUTSIDE));
  });

  it('a chain that loops (0 -> 1 -> 0): vhost-chain-loop, bounded by the queue size', () => {
    const g = new Guest();
    g.desc(0, GPA + 0x1000, 12, F.NEXT, 1);
    g.desc(1, GPA + 0x2000, 12, F.NEXT, 0);
    g.offer(0);
    expect(takeFrame(g)).toEqual(dropped(VirtqReason.CHAIN_LOOP));
  });

  it('a descriptor that points to itself: vhost-chain-loop', () => {
    const g = new Guest();
    g.desc(4, GPA + 0x1000, 12, F.NEXT, 4);
    g.offer(4);
    expect(takeFrame(g)).toEqual(dropped(VirtqReason.CHAIN_LOOP));
  });

  it('a next index past the table: vhost-desc-index', () => {
    const g = new Guest();
    g.desc(0, GPA + 0x1000, 12, F.NEXT, 200);
    g.offer(0);
    expect(takeFrame(g)).toEqual(dropped(VirtqReason.DESC_INDEX));
  });

  it('two descriptors over the same bytes: vhost-desc-overlap', () => {
    const g = new Guest();
    g.desc(0, GPA + 0x1000, 64, F.NEXT, 1);
    g.desc(1, GPA + 0x1020, 64);
    g.offer(0);
    expect(takeFrame(g)).toEqual(dropped(VirtqReason.DESC_OVERLAP));
  });

  it('a writable descriptor in a transmit chain: vhost-desc-direction', () => {
    const g = new Guest();
    g.desc(0, GPA + 0x1000, 64, F.WRITE);
    g.offer(0);
    expect(takeFrame(g)).toEqual(dropped(VirtqReason.WRONG_DIRECTION));
  });

  it('an indirect table outside the memory: vhost-bad-indirect', () => {
    const g = new Guest({ indirect: true });
    g.desc(0, GPA + SIZE - 16, 64, F.INDIRECT);
    g.offer(0);
    expect(takeFrame(g)).toEqual(dropped(VirtqReason.BAD_INDIRECT));
  });

  it('indirect tables not negotiated, nested, empty, or not whole entries: vhost-bad-indirect each', () => {
    const off = new Guest();
    off.desc(0, GPA + 0x4000, 32, F.INDIRECT);
    off.offer(0);
    expect(takeFrame(off)).toEqual(dropped(VirtqReason.BAD_INDIRECT));
    const g = new Guest({ indirect: true });
    g.desc(0, GPA + 0x4000, 16, F.INDIRECT, 0, 0x4000); // the table's only entry is itself indirect
    g.desc(1, GPA + 0x4000, 16, F.INDIRECT);
    g.offer(1);
    g.desc(2, GPA + 0x4000, 0, F.INDIRECT);
    g.offer(2);
    g.desc(3, GPA + 0x4000, 24, F.INDIRECT);
    g.offer(3);
    for (let i = 0; i < 3; i++) expect(takeFrame(g)).toEqual(dropped(VirtqReason.BAD_INDIRECT));
  });

  it('an indirect chain that loops inside its table: vhost-chain-loop', () => {
    const g = new Guest({ indirect: true });
    g.desc(0, GPA + 0x1000, 12, F.NEXT, 1, 0x4000);
    g.desc(1, GPA + 0x2000, 12, F.NEXT, 0, 0x4000);
    g.desc(0, GPA + 0x4000, 32, F.INDIRECT);
    g.offer(0);
    expect(takeFrame(g)).toEqual(dropped(VirtqReason.CHAIN_LOOP));
  });

  it('a chain shorter than the virtio-net header, and one larger than a frame may be', () => {
    const g = new Guest();
    g.desc(0, GPA + 0x1000, 4);
    g.offer(0);
    g.desc(1, GPA + 0x1000, 12 + 4096);
    g.offer(1);
    expect(takeFrame(g)).toEqual(dropped(VirtqReason.CHAIN_TOO_SHORT));
    expect(takeFrame(g)).toEqual(dropped(VirtqReason.CHAIN_TOO_BIG));
  });

  it('every malformed chain is still returned to the guest (used, length 0)', () => {
    const g = new Guest();
    g.desc(0, GPA + 0x1000, 0);
    g.offer(0);
    g.desc(1, GPA + SIZE, 10);
    g.offer(1);
    takeFrame(g);
    takeFrame(g);
    g.ring.publish();
    expect(g.usedIdx).toBe(2);
    expect([g.used(0), g.used(1)]).toEqual([
      { id: 0, len: 0 },
      { id: 1, len: 0 },
    ]);
  });

  it('an available head past the table stops the ring with one sentence', () => {
    const g = new Guest();
    g.offer(9);
    expect(takeFrame(g).code).toBe(TxTake.BROKEN);
    expect(g.ring.broken).toBe('the guest made descriptor 9 available on a queue of 8');
    expect(g.ring.running).toBe(false);
  });

  it('the available index jumping by more than the queue stops the ring', () => {
    const g = new Guest();
    g.setAvailIdx(500);
    expect(takeFrame(g).code).toBe(TxTake.BROKEN);
    expect(g.ring.broken).toBe('the guest moved its available index 500 entries ahead on a queue of 8');
  });

  it('the used index scribbled over by the guest: tapyard writes its own count back', () => {
    const g = new Guest();
    g.desc(0, GPA + 0x1000, 20);
    g.offer(0);
    g.view.setUint16(USED + 2, 4000, true);
    takeFrame(g);
    g.ring.publish();
    expect(g.usedIdx).toBe(1);
  });

  it('rings outside the memory, misaligned, or of a size that is not a power of 2 do not start', () => {
    const g = new Guest();
    const q = new Virtqueue();
    q.size = NUM;
    expect(q.start(g.memory, { desc: UVA + SIZE - 64, avail: UVA + AVAIL, used: UVA + USED })).toMatch(/descriptor/);
    expect(q.start(g.memory, { desc: UVA, avail: UVA + AVAIL, used: UVA + SIZE - 8 })).toMatch(/used ring/);
    expect(q.start(g.memory, { desc: UVA + 8, avail: UVA + AVAIL, used: UVA + USED })).toMatch(/aligned/);
    q.size = 6;
    expect(q.start(g.memory, { desc: UVA, avail: UVA + AVAIL, used: UVA + USED })).toMatch(/power of 2/);
  });

  it('3000 random descriptor tables and rings: every outcome is a frame, a named drop or a stopped ring', () => {
    let seed = 12345;
    const random = () => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed;
    };
    const reasons = new Set(Object.values(VirtqReason));
    for (let round = 0; round < 3000; round++) {
      const g = new Guest({ indirect: round % 2 === 0 });
      // Garbage in the table, the available ring and a buffer area, with addresses near the region.
      for (let i = 0; i < NUM * 2; i++) {
        const addr = GPA + (random() % (SIZE + 0x2000)) - 0x1000;
        g.desc(i % NUM, addr, random() % 3000, random() & 7, random() % 12, i < NUM ? DESC : 0x4000);
      }
      g.desc(random() % NUM, GPA + 0x4000, 16 * (random() % 12), F.INDIRECT);
      for (let i = 0; i < 1 + (random() % NUM); i++) g.offer(random() % (NUM + 1));
      for (let i = 0; i < NUM + 1; i++) {
        const r = takeFrame(g);
        if (r.frame !== undefined) continue;
        if (r.code === TxTake.DROPPED) expect(reasons.has(r.reason as never)).toBe(true);
        if (r.code === TxTake.EMPTY || r.code === TxTake.BROKEN) break;
      }
      g.ring.publish();
      expect(g.untouchedOutside()).toBe(true);
    }
  });
});
