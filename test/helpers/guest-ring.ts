// A guest's memory built by hand, with one queue in it and its driver's side of the rings: for
// the walk in TypeScript (test/unit/port/virtqueue.test.ts) and the addon's (test/integration/
// vring-walk.test.ts). A margin around the region lets a test see that no walk wrote outside it.

import { GuestMemory } from '../../src/port/vhost-memory.js';
import { Virtqueue } from '../../src/port/virtqueue.js';

export const GPA = 0x100000; // where the region is for the guest
export const UVA = 0x7f00_0000_0000; // and for QEMU
export const SIZE = 0x20000;
export const NUM = 8;
export const DESC = 0x0;
export const AVAIL = 0x100;
export const USED = 0x200;
export const F = { NEXT: 1, WRITE: 2, INDIRECT: 4 };

/** A guest: one region of memory with a queue of NUM in it, and its driver's side of the rings. */
export class Guest {
  // A margin around the region: the walk must never touch it (checked after each test).
  readonly backing = new Uint8Array(SIZE + 2 * 4096).fill(0xee);
  readonly bytes = this.backing.subarray(4096, 4096 + SIZE);
  readonly view = new DataView(this.bytes.buffer, this.bytes.byteOffset, SIZE);
  readonly memory: GuestMemory;
  readonly ring = new Virtqueue();
  private availIdx = 0;

  constructor(options: { indirect?: boolean } = {}) {
    this.bytes.fill(0);
    this.memory = new GuestMemory([{ guestPhys: GPA, size: SIZE, userAddr: UVA, bytes: this.bytes }]);
    this.ring.size = NUM;
    this.ring.indirectAllowed = options.indirect ?? false;
    const failure = this.ring.start(this.memory, { desc: UVA + DESC, avail: UVA + AVAIL, used: UVA + USED });
    if (failure !== null) throw new Error(failure);
  }

  /** Descriptor i of the table at `table` (a region offset): addr is guest-physical. */
  desc(i: number, addr: bigint | number, len: number, flags = 0, next = 0, table = DESC): void {
    const at = table + 16 * i;
    this.view.setBigUint64(at, BigInt(addr), true);
    this.view.setUint32(at + 8, len, true);
    this.view.setUint16(at + 12, flags, true);
    this.view.setUint16(at + 14, next, true);
  }

  offer(head: number): void {
    this.view.setUint16(AVAIL + 4 + 2 * (this.availIdx % NUM), head, true);
    this.availIdx = (this.availIdx + 1) & 0xffff;
    this.view.setUint16(AVAIL + 2, this.availIdx, true);
  }

  setAvailIdx(idx: number): void {
    this.availIdx = idx;
    this.view.setUint16(AVAIL + 2, idx, true);
  }

  get usedIdx(): number {
    return this.view.getUint16(USED + 2, true);
  }

  used(i: number): { id: number; len: number } {
    const at = USED + 4 + 8 * (i % NUM);
    return { id: this.view.getUint32(at, true), len: this.view.getUint32(at + 4, true) };
  }

  fill(offset: number, text: string): void {
    this.bytes.set(Buffer.from(text), offset);
  }

  text(offset: number, length: number): string {
    return Buffer.from(this.bytes.subarray(offset, offset + length)).toString();
  }

  /** The margins outside the region are as they were. */
  untouchedOutside(): boolean {
    return (
      this.backing.subarray(0, 4096).every((b) => b === 0xee) &&
      this.backing.subarray(4096 + SIZE).every((b) => b === 0xee)
    );
  }
}
