// The addon's walk of a guest's rings (tapio.c vr_take_to, vr_give), on guest memory built by
// hand and real fds: a FIFO for the kick and the call, unix datagram sockets for the wire. It
// must take exactly what it can finish whole and leave everything else, untouched and still
// available, to the walk in TypeScript (which names the drop: test/unit/port/virtqueue.test.ts),
// and never write a byte outside the region it was given.

import { execFileSync } from 'node:child_process';
import { constants, mkdtempSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { buildRxFilter } from '../../src/filter/guest-filter.js';
import { parseMac } from '../../src/mac.js';
import { MAX_FRAME, type PollerHandle, TunOffload, tapio } from '../../src/port/native.js';
import { NetQueues, TxTake } from '../../src/port/vhost-net.js';
import { VirtqReason } from '../../src/port/virtqueue.js';
import { F, GPA, Guest, NUM, SIZE } from '../helpers/guest-ring.js';
import { seeded } from '../helpers/seeded.js';

const V1 = { guestHdr: 12, mergeable: true };
const BUF = 0x1000; // where the tests put frames and buffers in the region

/** An Ethernet frame of `length` bytes (0x88b5), its payload a counting pattern from `seed`. */
function ethernet(length: number, seed = 0, src = [2, 0, 0, 0, 0, 2]): Uint8Array {
  const f = new Uint8Array(length);
  f.set([2, 0, 0, 0, 0, 1, ...src, 0x88, 0xb5]);
  for (let i = 14; i < length; i++) f[i] = (i + seed) & 0xff;
  return f;
}

/** A virtio_net_hdr for a TCPv4 GSO frame with a partial checksum, `size` bytes long (10 or 12). */
function gsoHeader(size: number): Uint8Array {
  const h = new Uint8Array(size);
  const v = new DataView(h.buffer);
  h[0] = 1; // NEEDS_CSUM
  h[1] = 1; // TCPV4
  v.setUint16(2, 54, true);
  v.setUint16(4, 1448, true);
  v.setUint16(6, 34, true);
  v.setUint16(8, 16, true);
  return h;
}

const tick = () => new Promise((r) => setTimeout(r, 2));
async function until(done: () => boolean, ms = 2000): Promise<void> {
  for (const end = Date.now() + ms; !done(); ) {
    if (Date.now() > end) throw new Error('timed out');
    await tick();
  }
}

/** The fds one test uses, in a directory of its own; all closed and removed after it. */
class Fds {
  readonly dir = mkdtempSync(join(tmpdir(), 'ty-vring-'));
  private readonly open: number[] = [];
  private readonly pollers: PollerHandle[] = [];
  private n = 0;

  /** A FIFO opened both ways: it polls readable for what this process writes to it. */
  fifo(): number {
    const path = join(this.dir, `fifo${this.n++}`);
    execFileSync('mkfifo', [path]);
    return this.keep(openSync(path, constants.O_RDWR | constants.O_NONBLOCK));
  }

  /** A datagram link: what is written to `send` arrives at `recv`, one frame per datagram. */
  link(): { send: number; recv: number } {
    const at = join(this.dir, `b${this.n}`);
    const recv = this.keep(tapio().unixDgram(at, null));
    const send = this.keep(tapio().unixDgram(join(this.dir, `a${this.n++}`), at));
    return { send, recv };
  }

  poller(fd: number, callback: (events: number, errno: number, count: number) => void): PollerHandle {
    const p = new (tapio().Poller)(fd, callback);
    this.pollers.push(p);
    return p;
  }

  close(): void {
    for (const p of this.pollers.splice(0)) p.close();
    for (const fd of this.open.splice(0)) tapio().close(fd);
    rmSync(this.dir, { recursive: true, force: true });
  }

  private keep(fd: number): number {
    this.open.push(fd);
    return fd;
  }
}

/** Every datagram waiting on fd, whole. */
function received(fd: number): Uint8Array[] {
  const ring = new Uint8Array(256 * 1024 + 12 + MAX_FRAME);
  const offsets = new Uint32Array(64);
  const lengths = new Int32Array(64);
  const out: Uint8Array[] = [];
  for (let n = tapio().readBatch(fd, ring, offsets, lengths, 0, 12, 64); n > 0; ) {
    for (let i = 0; i < n; i++) out.push(ring.slice(offsets[i]!, offsets[i]! + lengths[i]!));
    n = tapio().readBatch(fd, ring, offsets, lengths, 0, 12, 64);
  }
  return out;
}

/** Signals waiting on a FIFO (a call: 8 bytes each), read. */
function signals(fd: number): number {
  const b = Buffer.alloc(8 * 64);
  try {
    return readSync(fd, b) / 8;
  } catch {
    return 0; // EAGAIN: none
  }
}

let fds: Fds;
afterEach(() => fds?.close());

/** The guest's transmit ring walked by the addon into a wire on each kick. */
function transmit(g: Guest, o: { budget?: number; offloads?: number; guard?: Uint8Array } = {}) {
  fds = new Fds();
  g.ring.shape({ ...V1, offloads: o.offloads ?? 0, maxFrame: MAX_FRAME });
  const call = fds.fifo();
  g.ring.callFd = call;
  const kick = fds.fifo();
  const wire = fds.link();
  const stats = new Float64Array(5);
  const wireStats = new Float64Array(5);
  const left = { calls: 0 };
  // As vhost-user.ts kicked() does: the kick is read, then JavaScript would walk.
  const poller = fds.poller(kick, () => {
    signals(kick);
    left.calls++;
  });
  const ring = g.ring.native();
  expect(ring).not.toBeNull();
  poller.setRingSource(ring!, o.budget ?? 64, wire.send, Int32Array.of(1514), stats, wireStats, o.guard);
  poller.start(true, false);
  return {
    stats,
    wireStats,
    left,
    call,
    kick: () => writeSync(kick, Buffer.alloc(8)),
    frames: () => received(wire.recv),
  };
}

/** Put a frame the guest sends, with its 12-byte header, at `at` in the region, as chain head 0. */
function sendOne(g: Guest, frame: Uint8Array, header: Uint8Array = new Uint8Array(12), at = BUF): void {
  g.bytes.set(header, at);
  g.bytes.set(frame, at + 12);
  g.desc(0, GPA + at, 12 + frame.length);
  g.offer(0);
}

describe("the addon's walk of a guest's transmit ring", () => {
  it('a frame in one descriptor: on the wire with the 10-byte header, returned, the guest interrupted', async () => {
    const g = new Guest();
    const t = transmit(g);
    const frame = ethernet(60);
    sendOne(g, frame);
    t.kick();
    await until(() => g.usedIdx === 1);
    const out = t.frames();
    expect(out).toHaveLength(1);
    expect([...out[0]!.subarray(0, 10)]).toEqual(new Array(10).fill(0));
    expect(out[0]!.subarray(10)).toEqual(frame);
    expect(g.used(0)).toEqual({ id: 0, len: 0 });
    expect([...t.stats]).toEqual([1, 60, 0, 0, 0]);
    expect([...t.wireStats]).toEqual([0, 0, 1, 60, 0]);
    expect(signals(t.call)).toBe(1);
    expect(t.left.calls).toBe(0);
    // Kicks are wanted again (no event index: VIRTQ_USED_F_NO_NOTIFY clear).
    expect(g.view.getUint16(0x200, true)).toBe(0);
    expect(g.untouchedOutside()).toBe(true);
  });

  it('a header and two fragments in one chain are one frame on the wire', async () => {
    const g = new Guest();
    const t = transmit(g);
    const frame = ethernet(100, 3);
    g.bytes.set(frame.subarray(0, 40), BUF + 0x100);
    g.bytes.set(frame.subarray(40), BUF + 0x200);
    g.desc(0, GPA + BUF, 12, F.NEXT, 1);
    g.desc(1, GPA + BUF + 0x100, 40, F.NEXT, 2);
    g.desc(2, GPA + BUF + 0x200, 60);
    g.offer(0);
    t.kick();
    await until(() => g.usedIdx === 1);
    expect(t.frames().map((f) => f.subarray(10))).toEqual([frame]);
  });

  it('a budget of 2 and five chains: the addon kicks itself for the rest, JavaScript is never called', async () => {
    const g = new Guest();
    const t = transmit(g, { budget: 2 });
    for (let i = 0; i < 5; i++) {
      g.bytes.set(ethernet(64, i), BUF + 0x100 * i + 12);
      g.desc(i, GPA + BUF + 0x100 * i, 12 + 64);
      g.offer(i);
    }
    t.kick();
    await until(() => g.usedIdx === 5);
    expect(t.frames().map((f) => f[10 + 20])).toEqual([0, 1, 2, 3, 4].map((i) => 20 + i));
    expect(t.left.calls).toBe(0);
  });

  it('a GSO frame goes whole only where the guest negotiated it (HOST_TSO4); else JavaScript names it', async () => {
    const frame = ethernet(3000);
    const plain = new Guest();
    const t = transmit(plain);
    sendOne(plain, frame, gsoHeader(12));
    t.kick();
    await until(() => t.left.calls === 1);
    expect(plain.usedIdx).toBe(0);
    expect(new NetQueues(V1).take(plain.ring, new Uint8Array(8192), 64, 8000, MAX_FRAME)).toBe(TxTake.DROPPED);

    fds.close();
    const g = new Guest();
    const u = transmit(g, { offloads: TunOffload.CSUM | TunOffload.TSO4 });
    sendOne(g, frame, gsoHeader(12));
    u.kick();
    await until(() => g.usedIdx === 1);
    const out = u.frames();
    expect(out[0]!.subarray(0, 10)).toEqual(gsoHeader(10));
    expect(out[0]!.length).toBe(3010);
  });

  it("a macvtap's source guard: another MAC is counted (spoof=count) or left to JavaScript (spoof=drop)", async () => {
    const guard = Uint8Array.of(2, 0, 0, 0, 0, 9, 1, 0);
    const g = new Guest();
    const t = transmit(g, { guard });
    sendOne(g, ethernet(60));
    t.kick();
    await until(() => g.usedIdx === 1);
    expect(t.wireStats[4]).toBe(1);
    guard[6] = 2;
    g.desc(1, GPA + BUF, 12 + 60);
    g.offer(1);
    t.kick();
    await until(() => t.left.calls === 1);
    expect(g.ring.lastAvail).toBe(1);
    expect(t.frames()).toHaveLength(1);
  });

  // Each chain the JavaScript walk drops by name: the addon must leave it where it is.
  const hostile: [string, (g: Guest) => void, string][] = [
    ['a descriptor past the region', (g) => g.desc(0, GPA + SIZE - 8, 76), VirtqReason.DESC_OUTSIDE],
    ['a descriptor below the region', (g) => g.desc(0, GPA - 16, 76), VirtqReason.DESC_OUTSIDE],
    ['a descriptor of length 0', (g) => g.desc(0, GPA + BUF, 0), VirtqReason.DESC_EMPTY],
    ['a descriptor of length 2^32-1', (g) => g.desc(0, GPA + BUF, 0xffffffff), VirtqReason.DESC_OUTSIDE],
    ['an address above 2^63', (g) => g.desc(0, 0xffff_ffff_ffff_f000n, 76), VirtqReason.DESC_OUTSIDE],
    [
      'a loop (0 -> 1 -> 0)',
      (g) => {
        g.desc(0, GPA + BUF, 40, F.NEXT, 1);
        g.desc(1, GPA + BUF + 0x100, 40, F.NEXT, 0);
      },
      VirtqReason.CHAIN_LOOP,
    ],
    ['a next index past the table', (g) => g.desc(0, GPA + BUF, 40, F.NEXT, NUM + 2), VirtqReason.DESC_INDEX],
    [
      'two descriptors over the same bytes',
      (g) => {
        g.desc(0, GPA + BUF, 60, F.NEXT, 1);
        g.desc(1, GPA + BUF + 30, 60);
      },
      VirtqReason.DESC_OVERLAP,
    ],
    ['a writable descriptor', (g) => g.desc(0, GPA + BUF, 76, F.WRITE), VirtqReason.WRONG_DIRECTION],
    ['an indirect table never negotiated', (g) => g.desc(0, GPA + BUF, 32, F.INDIRECT), VirtqReason.BAD_INDIRECT],
    ['a chain shorter than its header', (g) => g.desc(0, GPA + BUF, 8), VirtqReason.CHAIN_TOO_SHORT],
    ['a frame shorter than Ethernet', (g) => g.desc(0, GPA + BUF, 12 + 10), 'ok'],
  ];
  it.each(
    hostile,
  )('%s: left to JavaScript untaken, nothing written, nothing outside touched', async (_, make, reason) => {
    const g = new Guest();
    const t = transmit(g);
    make(g);
    g.offer(0);
    t.kick();
    await until(() => t.left.calls === 1);
    expect({ lastAvail: g.ring.lastAvail, used: g.usedIdx, wire: t.frames().length }).toEqual({
      lastAvail: 0,
      used: 0,
      wire: 0,
    });
    expect(g.untouchedOutside()).toBe(true);
    const net = new NetQueues(V1);
    const got = net.take(g.ring, new Uint8Array(8192), 64, 8000, 2048);
    // The walk in TypeScript takes it: a named drop, or (a runt) a frame the loop drops by name.
    expect(got === TxTake.DROPPED ? net.reason : 'ok').toBe(reason);
  });

  it('a head past the table, or the index jumping by more than the queue: left to JavaScript', async () => {
    for (const bad of [(g: Guest) => g.offer(NUM + 3), (g: Guest) => g.setAvailIdx(NUM + 5)]) {
      const g = new Guest();
      const t = transmit(g);
      bad(g);
      t.kick();
      await until(() => t.left.calls === 1);
      expect(g.ring.lastAvail).toBe(0);
      new NetQueues(V1).take(g.ring, new Uint8Array(4096), 64, 4000, 2048);
      expect(g.ring.broken).not.toBeNull();
      fds.close();
    }
  });

  it('a stopped ring is never touched: its kick goes to JavaScript', async () => {
    const g = new Guest();
    const t = transmit(g);
    sendOne(g, ethernet(60));
    g.ring.stop();
    t.kick();
    await until(() => t.left.calls === 1);
    expect(g.usedIdx).toBe(0);
    expect(t.frames()).toHaveLength(0);
  });
});

/** Frames from a wire spliced into the guest's receive ring. */
function receive(g: Guest, o: { offloads?: number; mergeable?: boolean; filter?: Uint8Array } = {}) {
  fds = new Fds();
  g.ring.shape({ guestHdr: 12, mergeable: o.mergeable ?? true, offloads: o.offloads ?? 0, maxFrame: 1514 });
  const call = fds.fifo();
  g.ring.callFd = call;
  const wire = fds.link();
  const stats = new Float64Array(5);
  const guestStats = new Float64Array(5);
  const left: number[] = [];
  const poller = fds.poller(wire.recv, (_e, _err, count) => left.push(count));
  poller.setRing(new Uint8Array(256 * 1024 + 12 + MAX_FRAME), new Uint32Array(64), new Int32Array(64), 10, 12, 64);
  poller.spliceIntoRing(g.ring.native()!, stats, guestStats, o.filter);
  poller.start(true, false);
  return {
    stats,
    guestStats,
    left,
    call,
    send: (header: Uint8Array, frame: Uint8Array) => writeSync(wire.send, Buffer.concat([header, frame])),
  };
}

describe("the addon's writes into a guest's receive ring", () => {
  it('a frame lands in one buffer: header with num_buffers 1, the frame, the guest interrupted', async () => {
    const g = new Guest();
    const r = receive(g);
    g.desc(0, GPA + BUF, 2048, F.WRITE);
    g.offer(0);
    const frame = ethernet(60);
    r.send(new Uint8Array(10), frame);
    await until(() => g.usedIdx === 1);
    expect(g.used(0)).toEqual({ id: 0, len: 72 });
    expect([...g.bytes.subarray(BUF, BUF + 12)]).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0]);
    expect(g.bytes.subarray(BUF + 12, BUF + 72)).toEqual(frame);
    expect(signals(r.call)).toBe(1);
    expect([...r.stats]).toEqual([1, 60, 0, 0, 0]);
    expect([...r.guestStats]).toEqual([0, 0, 1, 60, 0]);
    expect(r.left).toEqual([]);
  });

  it('a GSO frame for a guest with GUEST_TSO4 fills three merged buffers: num_buffers 3', async () => {
    const g = new Guest();
    const r = receive(g, { offloads: TunOffload.CSUM | TunOffload.TSO4 });
    for (let i = 0; i < 3; i++) {
      g.desc(i, GPA + BUF + 0x800 * i, 1200, F.WRITE);
      g.offer(i);
    }
    const frame = ethernet(3000, 7);
    r.send(gsoHeader(10), frame);
    await until(() => g.usedIdx === 3);
    expect([0, 1, 2].map((i) => g.used(i).len)).toEqual([1200, 1200, 3012 - 2400]);
    expect(g.bytes[BUF + 10]).toBe(3);
    const got = new Uint8Array(3000);
    got.set(g.bytes.subarray(BUF + 12, BUF + 1200), 0);
    got.set(g.bytes.subarray(BUF + 0x800, BUF + 0x800 + 1200), 1188);
    got.set(g.bytes.subarray(BUF + 0x1000, BUF + 0x1000 + 612), 2388);
    expect(got).toEqual(frame);
  });

  const leftOver: [string, (g: Guest) => void, { offloads?: number; mergeable?: boolean }, boolean][] = [
    ['no receive buffer offered', () => undefined, {}, false],
    ['a read-only receive buffer', (g) => g.desc(0, GPA + BUF, 2048), {}, true],
    ['a buffer outside the region', (g) => g.desc(0, GPA + SIZE, 2048, F.WRITE), {}, true],
    ['too small a buffer without MRG_RXBUF', (g) => g.desc(0, GPA + BUF, 40, F.WRITE), { mergeable: false }, true],
  ];
  it.each(leftOver)('%s: the frame is left to JavaScript, nothing taken', async (_, make, shape, offer) => {
    const g = new Guest();
    const r = receive(g, shape);
    make(g);
    if (offer) g.offer(0);
    r.send(new Uint8Array(10), ethernet(60));
    await until(() => r.left.length === 1);
    expect(r.left).toEqual([1]);
    expect({ lastAvail: g.ring.lastAvail, used: g.usedIdx }).toEqual({ lastAvail: 0, used: 0 });
    expect(g.untouchedOutside()).toBe(true);
  });

  it("the guest NIC's receive filter: its own MAC and broadcast go in from C, another MAC does not", async () => {
    const nic = parseMac('52:54:00:12:34:56')!;
    const filter = buildRxFilter('vm', { mac: nic, modes: [], table: [], vlans: null }, null).spliceCell;
    const g = new Guest();
    const r = receive(g, { filter });
    for (let i = 0; i < 3; i++) {
      g.desc(i, GPA + BUF + 0x800 * i, 2048, F.WRITE);
      g.offer(i);
    }
    const to = (dst: number[]) => {
      const f = ethernet(60);
      f.set(dst, 0);
      return f;
    };
    r.send(new Uint8Array(10), to([0x52, 0x54, 0, 0x12, 0x34, 0x56]));
    r.send(new Uint8Array(10), to([0xff, 0xff, 0xff, 0xff, 0xff, 0xff]));
    await until(() => g.usedIdx === 2);
    r.send(new Uint8Array(10), to([0x52, 0x54, 0, 0xaa, 0xbb, 0xcc]));
    await until(() => r.left.length === 1);
    expect({ used: g.usedIdx, left: r.left }).toEqual({ used: 2, left: [1] });
  });

  it('a GSO frame for a guest without GUEST_TSO4 is left to JavaScript (which drops it by name)', async () => {
    const g = new Guest();
    const r = receive(g);
    g.desc(0, GPA + BUF, 4096, F.WRITE);
    g.offer(0);
    r.send(gsoHeader(10), ethernet(3000));
    await until(() => r.left.length === 1);
    expect(g.usedIdx).toBe(0);
  });
});

describe("the addon's walk against random rings", () => {
  // The walk in TypeScript is the oracle: over a copy of the same memory it must take the same
  // chains to the same bytes, whatever the addon took; and nothing outside the region changes.
  it('1000 random rings, both ways: the addon does what the TypeScript walk does, or leaves it', async () => {
    const random = seeded(23);
    const pick = (n: number) => Math.floor(random() * n);
    const address = () => {
      const where = random();
      if (where < 0.4) return GPA + pick(SIZE);
      if (where < 0.7) return GPA + SIZE - pick(4000); // across the region's end
      if (where < 0.85) return GPA - pick(64);
      return 2 ** 40 + pick(1000);
    };
    let gave = 0;
    let took = 0;
    for (let round = 0; round < 1000; round++) {
      const indirect = random() < 0.3;
      const g = new Guest({ indirect });
      const writable = round % 2 === 1;
      for (let i = 0; i < NUM; i++) {
        const len = random() < 0.05 ? 0 : random() < 0.05 ? 0xffffffff - pick(4) : 1 + pick(3000);
        let flags = random() < 0.3 ? F.NEXT : 0;
        if (random() < 0.9 === writable) flags |= F.WRITE;
        if (random() < 0.1) flags |= F.INDIRECT;
        g.desc(i, address(), len, flags, pick(NUM + 1));
      }
      for (let i = pick(NUM + 2); i > 0; i--) g.offer(random() < 0.95 ? pick(NUM) : NUM + pick(3));
      if (random() < 0.05) g.setAvailIdx(pick(0x10000));
      const twin = new Guest({ indirect });
      twin.bytes.set(g.bytes);
      const offloads = random() < 0.5 ? 7 : 0;
      if (writable) {
        const mergeable = random() < 0.7;
        const r = receive(g, { offloads, mergeable });
        const header = random() < 0.3 ? gsoHeader(10) : new Uint8Array(10);
        const frame = ethernet(14 + pick(4000), round);
        r.send(header, frame);
        await until(() => r.left.length === 1 || g.usedIdx !== 0);
        if (r.left.length === 0) {
          gave++;
          const net = new NetQueues({ guestHdr: 12, mergeable, toGuest: offloads });
          const buf = new Uint8Array([...header, ...frame]);
          expect(net.give(twin.ring, buf, 0, buf.length)).toBeNull();
          twin.ring.publish();
          expect(g.bytes).toEqual(twin.bytes);
        }
      } else {
        const t = transmit(g, { offloads, budget: 1 + pick(4) });
        t.kick();
        await tick();
        await tick();
        const net = new NetQueues({ ...V1, fromGuest: offloads });
        for (const sent of t.frames()) {
          took++;
          const dst = new Uint8Array(MAX_FRAME + 128);
          const got = net.take(twin.ring, dst, 64, dst.length - 64, MAX_FRAME);
          expect(got).toBe(sent.length - 10);
          expect(dst.subarray(54, 64 + got)).toEqual(sent);
        }
      }
      expect(g.untouchedOutside()).toBe(true);
      fds.close();
    }
    // Enough of each kind reached the copies for the comparison to mean something.
    expect({ gave: gave > 30, took: took > 30 }).toEqual({ gave: true, took: true });
  }, 180_000);
});
