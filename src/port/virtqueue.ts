// One split virtqueue (virtio 1.x §2.7) as a vhost-user back-end walks it, over the guest's
// memory: a descriptor table, the ring of chains the guest made available, and the ring of
// chains tapyard used. The guest wrote every byte of it and may write anything, any time: each
// value is read once, checked, then used; a descriptor outside the memory table, of length 0,
// overlapping another of its chain, a chain longer than the queue (a loop), or a bad indirect
// table is a named drop of that chain (it is still returned, so the guest gets it back); an
// index no queue can have (an available head past the table, the available index moving by
// more than the queue) breaks the ring: it stops, with one sentence, as a virtio device sets
// DEVICE_NEEDS_RESET, until the front-end sets it up again.

import { reasons } from '../reason.js';
import { tapio, type VhostRingHandle } from './native.js';
import { type GuestMemory, type MemoryRegion, readU64 } from './vhost-memory.js';

export const VirtqReason = reasons({
  DESC_OUTSIDE: ['vhost-desc-outside', 'a guest descriptor pointed outside the guest memory tapyard was given'],
  DESC_EMPTY: ['vhost-desc-empty', 'a guest descriptor of length 0'],
  DESC_OVERLAP: ['vhost-desc-overlap', 'two descriptors of one guest chain cover the same bytes'],
  DESC_INDEX: ['vhost-desc-index', "a guest chain's next index is past the descriptor table"],
  CHAIN_LOOP: ['vhost-chain-loop', 'a guest chain longer than its queue: a loop, or more descriptors than allowed'],
  BAD_INDIRECT: [
    'vhost-bad-indirect',
    'an indirect descriptor table outside guest memory, empty, not whole entries, nested, or not negotiated',
  ],
  WRONG_DIRECTION: [
    'vhost-desc-direction',
    'a guest chain with a buffer the device may write where it may only read, or the other way round',
  ],
  CHAIN_TOO_BIG: ['vhost-chain-too-big', 'a frame from the guest larger than the largest frame tapyard reads'],
  CHAIN_TOO_SHORT: ['vhost-chain-short', 'a frame from the guest shorter than its virtio-net header'],
  OFFLOAD_NOT_NEGOTIATED: [
    'vhost-offload-not-negotiated',
    'a frame with checksum or segmentation work left (virtio_net_hdr) that its receiver did not negotiate',
  ],
  RX_NO_ROOM: [
    'vhost-rx-no-room',
    "the guest's receive buffers cannot hold the frame (a GSO frame for a guest without GUEST_TSO, or one buffer " +
      'without MRG_RXBUF)',
  ],
});

/** Descriptor flags. */
const DescFlag = { NEXT: 1, WRITE: 2, INDIRECT: 4 } as const;
/** In the available ring's flags: the guest asks not to be interrupted. */
const AVAIL_F_NO_INTERRUPT = 1;
/** In the used ring's flags: tapyard asks the guest not to kick (it looks at the ring anyway). */
const USED_F_NO_NOTIFY = 1;
const DESC_BYTES = 16;
/** The largest split queue (virtio §2.7: Queue Size is at most 32768). */
export const MAX_QUEUE_SIZE = 32768;

/**
 * Where the ring is, shared with the addon's walk of it (tapio.c VC_*: the same order): both walk
 * the same ring, one at a time on the loop, so each goes on where the other stopped. The rest
 * says what the guest negotiated, which C reads on each frame.
 */
export const RingCell = {
  LAST_AVAIL: 0,
  USED_IDX: 1,
  PUBLISHED: 2,
  FLAGS: 3,
  /** The call eventfd, or -1 (as a Uint32: 0xffffffff). */
  CALL_FD: 4,
  /** 10 or 12. */
  GUEST_HDR: 5,
  /** TunOffload flags the frames on this ring may carry (GUEST_* for receive, HOST_* for transmit). */
  OFFLOADS: 6,
  /** The largest frame without GSO (a receive ring: the port's maxFrame). */
  MAX_FRAME: 7,
} as const;
const RING_CELLS = 8;
/** RingCell.FLAGS bits. */
const RingFlag = { EVENT_IDX: 1, INDIRECT: 2, MERGEABLE: 4 } as const;

/** What shapes the frames on one ring, for the addon's walk (vhost-user.ts setFeatures). */
export interface RingShape {
  guestHdr: number;
  mergeable: boolean;
  offloads: number;
  maxFrame: number;
}

/** Where the front-end put the rings (SET_VRING_ADDR), in its own virtual addresses. */
export interface RingAddresses {
  desc: number;
  avail: number;
  used: number;
}

/** A readable or writable range of one chain, inside one region. */
interface Segment {
  region: number;
  bytes: Uint8Array;
  offset: number;
  length: number;
}

export class Virtqueue {
  /** Queue size (SET_VRING_NUM). */
  size = 0;
  /** What this queue is waiting for, or why it stopped: null while it runs. */
  broken: string | null = null;
  /** The state the addon's walk shares (RingCell). */
  readonly cells = new Uint32Array(RING_CELLS);

  private memory: GuestMemory | null = null;
  /** Where each table is: [descRegion, descOffset, availRegion, availOffset, usedRegion, usedOffset]. */
  private layout: number[] = [];
  /** The addon's view of this ring, made when a splice first asks for it (native()). */
  private nativeRing: VhostRingHandle | null = null;
  private desc: { view: DataView; at: number } | null = null;
  private avail: { view: DataView; at: number; idx: Uint16Array; idxAt: number } | null = null;
  private used: { view: DataView; at: number; idx: Uint16Array; idxAt: number } | null = null;
  /** Segments of the chain last collected, reused. */
  private readonly segments: Segment[] = [];
  private segmentCount = 0;
  /** Why the last chain was refused (a VirtqReason), when collect returned -1. */
  reason: string | null = null;

  constructor() {
    this.cells[RingCell.CALL_FD] = -1 >>> 0;
  }

  /** The next available entry tapyard takes (SET_VRING_BASE; GET_VRING_BASE returns it). */
  get lastAvail(): number {
    return this.cells[RingCell.LAST_AVAIL]!;
  }
  set lastAvail(v: number) {
    this.cells[RingCell.LAST_AVAIL] = v;
  }
  /** The used index as tapyard has advanced it; written to the ring when a batch is published. */
  private get usedIdx(): number {
    return this.cells[RingCell.USED_IDX]!;
  }
  private set usedIdx(v: number) {
    this.cells[RingCell.USED_IDX] = v;
  }
  private get published(): number {
    return this.cells[RingCell.PUBLISHED]!;
  }
  private set published(v: number) {
    this.cells[RingCell.PUBLISHED] = v;
  }
  /** VIRTIO_RING_F_INDIRECT_DESC was negotiated: a descriptor may point to a table of them. */
  get indirectAllowed(): boolean {
    return (this.cells[RingCell.FLAGS]! & RingFlag.INDIRECT) !== 0;
  }
  set indirectAllowed(on: boolean) {
    this.flag(RingFlag.INDIRECT, on);
  }
  /**
   * VIRTIO_RING_F_EVENT_IDX was negotiated: interrupts and kicks are asked for by index (the
   * available ring's used_event, the used ring's avail_event), not by the rings' flags.
   */
  get eventIdx(): boolean {
    return (this.cells[RingCell.FLAGS]! & RingFlag.EVENT_IDX) !== 0;
  }
  set eventIdx(on: boolean) {
    this.flag(RingFlag.EVENT_IDX, on);
  }
  /** The eventfd the addon writes when it publishes (vhost-user.ts writes it from JavaScript), or -1. */
  set callFd(fd: number) {
    this.cells[RingCell.CALL_FD] = fd >>> 0;
  }

  /** What the guest negotiated for this ring's frames, for the addon's walk. */
  shape(s: RingShape): void {
    this.flag(RingFlag.MERGEABLE, s.mergeable);
    this.cells[RingCell.GUEST_HDR] = s.guestHdr;
    this.cells[RingCell.OFFLOADS] = s.offloads;
    this.cells[RingCell.MAX_FRAME] = s.maxFrame;
  }

  /**
   * The addon's view of this running ring, made on first use and closed when the ring stops
   * (before its memory can be unmapped); null while it does not run.
   */
  native(): VhostRingHandle | null {
    if (!this.running) return null;
    if (this.nativeRing !== null) return this.nativeRing;
    const regions = this.memory!.regions;
    try {
      this.nativeRing = new (tapio().VhostRing)(
        this.cells,
        regions.map((r) => r.bytes),
        regions.map((r) => r.guestPhys),
        [...this.layout, this.size],
      );
    } catch {
      // The addon checks the tables again and may refuse (a ring misaligned in its mapping): the
      // walk here serves it alone, as it always can.
      return null;
    }
    return this.nativeRing;
  }

  private flag(bit: number, on: boolean): void {
    const flags = this.cells[RingCell.FLAGS]!;
    this.cells[RingCell.FLAGS] = on ? flags | bit : flags & ~bit;
  }

  /** Set the rings up over `memory`; a sentence when an address or the size is impossible. */
  start(memory: GuestMemory, addresses: RingAddresses): string | null {
    this.stop();
    const num = this.size;
    if (num === 0 || num > MAX_QUEUE_SIZE || (num & (num - 1)) !== 0)
      return `the queue size ${num} is not a power of 2`;
    if (addresses.desc % 16 !== 0 || addresses.avail % 2 !== 0 || addresses.used % 4 !== 0)
      return 'a ring address is not aligned as virtio requires';
    const d = memory.user(addresses.desc, num * DESC_BYTES);
    if (d < 0) return 'the descriptor table lies outside the guest memory';
    const descView = memory.view!;
    const descIndex = memory.regionIndex;
    const a = memory.user(addresses.avail, 6 + 2 * num);
    if (a < 0) return 'the available ring lies outside the guest memory';
    const availRegion = memory.region!;
    const availView = memory.view!;
    const availIndex = memory.regionIndex;
    const u = memory.user(addresses.used, 6 + 8 * num);
    if (u < 0) return 'the used ring lies outside the guest memory';
    const usedRegion = memory.region!;
    this.layout = [descIndex, d, availIndex, a, memory.regionIndex, u];
    if (a % 2 !== 0 || u % 4 !== 0) return 'a ring is not aligned inside its memory region';
    this.memory = memory;
    this.desc = { view: descView, at: d };
    this.avail = { view: availView, at: a, ...idxCell(availRegion, a) };
    this.used = { view: memory.view!, at: u, ...idxCell(usedRegion, u) };
    // The used index goes on from where the ring is (a front-end that stopped and restarted it).
    this.usedIdx = Atomics.load(this.used.idx, this.used.idxAt);
    this.published = this.usedIdx;
    this.broken = null;
    return null;
  }

  /** Stop using the rings (GET_VRING_BASE, a reset, the memory going away). */
  stop(): void {
    this.closeNative();
    this.memory = null;
    this.desc = null;
    this.avail = null;
    this.used = null;
  }

  get running(): boolean {
    return this.memory !== null && this.broken === null;
  }

  /** Chains the guest made available and tapyard has not taken; -1 when the ring just broke. */
  pending(): number {
    if (!this.running) return 0;
    const n = (Atomics.load(this.avail!.idx, this.avail!.idxAt) - this.lastAvail) & 0xffff;
    if (n > this.size) {
      this.fail(`the guest moved its available index ${n} entries ahead on a queue of ${this.size}`);
      return -1;
    }
    return n;
  }

  /**
   * Take the next available chain and collect its segments (readable ones for a transmit queue,
   * writable ones for a receive queue). Returns its head, with `reason` set when the chain is
   * malformed (it must still be returned with put, with nothing written); -1 when the ring broke.
   */
  take(writable: boolean): number {
    const avail = this.avail!;
    const slot = avail.at + 4 + 2 * (this.lastAvail & (this.size - 1));
    const head = avail.view.getUint16(slot, true);
    if (head >= this.size) {
      this.fail(`the guest made descriptor ${head} available on a queue of ${this.size}`);
      return -1;
    }
    this.lastAvail = (this.lastAvail + 1) & 0xffff;
    this.reason = this.collect(head, writable);
    if (this.reason !== null) this.segmentCount = 0;
    return head;
  }

  /** The first segment of the collected chain (where a receive buffer's header goes), or null. */
  firstSegment(): { bytes: Uint8Array; offset: number; length: number } | null {
    return this.segmentCount === 0 ? null : this.segments[0]!;
  }

  /** Give back the last chains taken (they were not used): the receive side found no room. */
  untake(count: number): void {
    this.lastAvail = (this.lastAvail - count) & 0xffff;
  }

  /** Bytes the collected chain holds. */
  chainBytes(): number {
    let total = 0;
    for (let i = 0; i < this.segmentCount; i++) total += this.segments[i]!.length;
    return total;
  }

  /** Copy the collected (readable) chain into dst at `at`; the bytes copied. */
  readChain(dst: Uint8Array, at: number): number {
    let pos = at;
    for (let i = 0; i < this.segmentCount; i++) {
      const s = this.segments[i]!;
      dst.set(s.bytes.subarray(s.offset, s.offset + s.length), pos);
      pos += s.length;
    }
    return pos - at;
  }

  /**
   * Write src[from, from + length) into the collected (writable) chain, starting `skip` bytes in;
   * the bytes written (fewer when the chain is full).
   */
  writeChain(src: Uint8Array, from: number, length: number, skip: number): number {
    let done = 0;
    for (let i = 0; i < this.segmentCount && done < length; i++) {
      const s = this.segments[i]!;
      if (skip >= s.length) {
        skip -= s.length;
        continue;
      }
      const n = Math.min(s.length - skip, length - done);
      s.bytes.set(src.subarray(from + done, from + done + n), s.offset + skip);
      skip = 0;
      done += n;
    }
    return done;
  }

  /** Return a chain to the guest: `written` bytes of it were filled. Published by publish(). */
  put(head: number, written: number): void {
    const used = this.used!;
    const slot = used.at + 4 + 8 * (this.usedIdx & (this.size - 1));
    used.view.setUint32(slot, head, true);
    used.view.setUint32(slot + 4, written, true);
    this.usedIdx = (this.usedIdx + 1) & 0xffff;
  }

  /** Forget the chains put since the last publish (a frame that did not fit after all). */
  unput(count: number): void {
    this.usedIdx = (this.usedIdx - count) & 0xffff;
  }

  /**
   * Make the chains put since the last call visible to the guest. Returns whether the guest wants
   * an interrupt for them: something was published and it did not set VIRTQ_AVAIL_F_NO_INTERRUPT.
   */
  publish(): boolean {
    if (this.used === null || this.usedIdx === this.published) return false;
    // A sequentially consistent store: the entries above are visible before the index, and the
    // flags below are read after it (the guest re-checks the index after it sets the flag).
    Atomics.store(this.used.idx, this.used.idxAt, this.usedIdx);
    const before = this.published;
    this.published = this.usedIdx;
    const avail = this.avail!;
    if (!this.eventIdx) return (avail.view.getUint16(avail.at, true) & AVAIL_F_NO_INTERRUPT) === 0;
    // vring_need_event: the guest wants an interrupt once the used index passes its used_event.
    const event = avail.view.getUint16(avail.at + 4 + 2 * this.size, true);
    return ((this.usedIdx - event - 1) & 0xffff) < ((this.usedIdx - before) & 0xffff);
  }

  /**
   * Ask the guest to kick for new chains (on), or not (off: tapyard will look at the ring soon
   * anyway). After turning kicks back on, the caller looks at pending() once more: a chain made
   * available just before the guest saw the flag brings no kick.
   */
  wantKicks(on: boolean): void {
    if (this.used === null) return;
    // Sequentially consistent stores, so that the pending() that follows reads after them. With
    // event indexes, avail_event = the guest's available index now asks for a kick at its next
    // chain; leaving it behind asks for none.
    if (!this.eventIdx) Atomics.store(this.used.idx, this.used.idxAt - 1, on ? 0 : USED_F_NO_NOTIFY);
    else if (on) {
      const now = Atomics.load(this.avail!.idx, this.avail!.idxAt);
      Atomics.store(this.used.idx, this.used.idxAt + 1 + 4 * this.size, now);
    }
  }

  private fail(sentence: string): void {
    this.broken = sentence;
    this.closeNative();
  }

  private closeNative(): void {
    this.nativeRing?.close();
    this.nativeRing = null;
  }

  /** Collect the chain at `head` into this.segments; null, or why it cannot be used. */
  private collect(head: number, writable: boolean): string | null {
    const memory = this.memory!;
    let view = this.desc!.view;
    let table = this.desc!.at;
    let entries = this.size;
    let indirect = false;
    let index = head;
    let count = 0;
    this.segmentCount = 0;
    for (;;) {
      if (index >= entries) return VirtqReason.DESC_INDEX;
      const at = table + DESC_BYTES * index;
      const addr = readU64(view, at);
      const len = view.getUint32(at + 8, true);
      const flags = view.getUint16(at + 12, true);
      const next = view.getUint16(at + 14, true);
      if ((flags & DescFlag.INDIRECT) !== 0) {
        if (!this.indirectAllowed || indirect || (flags & DescFlag.NEXT) !== 0) return VirtqReason.BAD_INDIRECT;
        if (len === 0 || len % DESC_BYTES !== 0 || len / DESC_BYTES > this.size) return VirtqReason.BAD_INDIRECT;
        const t = memory.guest(addr, len);
        if (t < 0) return VirtqReason.BAD_INDIRECT;
        view = memory.view!;
        table = t;
        entries = len / DESC_BYTES;
        indirect = true;
        index = 0;
        continue;
      }
      if (++count > this.size) return VirtqReason.CHAIN_LOOP;
      if (len === 0) return VirtqReason.DESC_EMPTY;
      if (((flags & DescFlag.WRITE) !== 0) !== writable) return VirtqReason.WRONG_DIRECTION;
      const offset = memory.guest(addr, len);
      if (offset < 0) return VirtqReason.DESC_OUTSIDE;
      this.addSegment(memory.regionIndex, memory.region!.bytes, offset, len);
      if ((flags & DescFlag.NEXT) === 0) break;
      index = next;
    }
    return this.overlapping() ? VirtqReason.DESC_OVERLAP : null;
  }

  private addSegment(region: number, bytes: Uint8Array, offset: number, length: number): void {
    let s = this.segments[this.segmentCount];
    if (s === undefined) {
      s = { region, bytes, offset, length };
      this.segments.push(s);
    } else {
      s.region = region;
      s.bytes = bytes;
      s.offset = offset;
      s.length = length;
    }
    this.segmentCount++;
  }

  /** Whether two segments of the chain share a byte (sorted, so a long chain costs n log n). */
  private overlapping(): boolean {
    const n = this.segmentCount;
    if (n < 2) return false;
    const list = this.segments.slice(0, n);
    list.sort((x, y) => x.region - y.region || x.offset - y.offset);
    for (let i = 1; i < n; i++) {
      const a = list[i - 1]!;
      const b = list[i]!;
      if (a.region === b.region && a.offset + a.length > b.offset) return true;
    }
    return false;
  }
}

/** A Uint16Array over a region, for atomic loads and stores of a ring's index (offset 2 of the ring). */
function idxCell(region: MemoryRegion, ringAt: number): { idx: Uint16Array; idxAt: number } {
  const bytes = region.bytes;
  const idx = new Uint16Array(bytes.buffer, bytes.byteOffset, bytes.byteLength >>> 1);
  return { idx, idxAt: (ringAt + 2) >>> 1 };
}
