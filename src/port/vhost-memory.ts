// The guest's memory as vhost-user hands it over (SET_MEM_TABLE): regions, each a slice of
// guest-physical address space that QEMU also maps at its own virtual address. Ring addresses
// (SET_VRING_ADDR) are QEMU's virtual addresses; the addresses in descriptors are the guest's
// physical ones. Every address the guest or QEMU gives is looked up here before it is touched:
// a range is usable only when it lies whole inside one region, and the region's bytes are a
// typed array over the mapping, so even a mistake here cannot reach outside it.

/** One region: where it is for the guest and for QEMU, and its bytes. */
export interface MemoryRegion {
  readonly guestPhys: number;
  readonly size: number;
  readonly userAddr: number;
  readonly bytes: Uint8Array;
}

/** A 64-bit little-endian address as a number; above 2^53 (never a real address) it is Infinity. */
export function readU64(view: DataView, at: number): number {
  const lo = view.getUint32(at, true);
  const hi = view.getUint32(at + 4, true);
  return hi >= 0x200000 ? Number.POSITIVE_INFINITY : hi * 0x1_0000_0000 + lo;
}

export class GuestMemory {
  readonly regions: readonly MemoryRegion[];
  readonly views: readonly DataView[];
  /** The region the last successful lookup found (valid until the next lookup). */
  region: MemoryRegion | null = null;
  /** Its DataView. */
  view: DataView | null = null;
  /** Its place in regions. */
  regionIndex = -1;

  constructor(regions: readonly MemoryRegion[]) {
    // A region's bytes start 2-aligned, so ring indexes can be read as 16-bit cells (virtqueue.ts).
    if (regions.some((r) => r.bytes.byteOffset % 2 !== 0)) throw new RangeError('a region must start 2-aligned');
    this.regions = regions;
    this.views = regions.map((r) => new DataView(r.bytes.buffer, r.bytes.byteOffset, r.bytes.byteLength));
  }

  /** Offset of guest-physical [addr, addr + len) in its region (this.region), or -1. */
  guest(addr: number, len: number): number {
    return this.find(addr, len, false);
  }

  /** Offset of QEMU-virtual [addr, addr + len) in its region (this.region), or -1. */
  user(addr: number, len: number): number {
    return this.find(addr, len, true);
  }

  private find(addr: number, len: number, user: boolean): number {
    const regions = this.regions;
    for (let i = 0; i < regions.length; i++) {
      const r = regions[i]!;
      const start = user ? r.userAddr : r.guestPhys;
      // Written so that no sum can pass 2^53 and lose precision: offset first, then room.
      if (addr < start) continue;
      const offset = addr - start;
      if (offset >= r.size || len > r.size - offset || offset + len > r.bytes.length) continue;
      this.region = r;
      this.view = this.views[i]!;
      this.regionIndex = i;
      return offset;
    }
    return -1;
  }
}
