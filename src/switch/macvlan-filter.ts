// macvlan's hashed multicast filter: 256 bits, one per hash value (drivers/net/macvlan.c:
// mc_hash, macvlan_compute_filter; include/linux/if_macvlan.h MACVLAN_MC_FILTER_BITS).
//
//   mc_hash(vlan, addr) = hash_32(le32(addr[2..5]) ^ mix(vlan), 8)
//   hash_32(x, 8)       = (x * 0x61C88647) >> 24            (include/linux/hash.h, GOLDEN_RATIO_32)
//   mix(vlan)           = (u32)(address of the struct macvlan_dev >> L1_CACHE_SHIFT); 0 for the port
//
// Consequences the model reproduces:
// - Bytes 0 and 1 of the address never reach the hash: 33:33:5e:00:00:01 always hits the bit of
//   01:00:5e:00:00:01 (224.0.0.1, which every IPv4 interface joins), whatever the mix.
// - Two addresses that differ only in byte 5 never collide (their XOR lies in the top byte of
//   the multiplicand, and the multiplier is odd).
// - Any other pair collides for about one mix in 256. The port-level filters use mix 0, so
//   their collisions are fixed and predictable; an endpoint's mix is a kernel heap address,
//   different for every endpoint and every boot, so which unrelated groups leak into one
//   endpoint cannot be predicted from userspace. The model takes the mix as a parameter.

import { BROADCAST, type Mac } from '../mac.js';

export const MC_FILTER_BITS = 8;
export const MC_FILTER_SIZE = 1 << MC_FILTER_BITS;
const GOLDEN_RATIO_32 = 0x61c88647;

/** The four bytes mc_hash reads (addr + 2), as the little-endian u32 an x86 load gives. */
function hashedBytes(mac: Mac): number {
  const low = mac % 0x1_0000_0000; // bytes 2..5, big-endian
  return ((low >>> 24) | ((low >>> 8) & 0xff00) | ((low << 8) & 0xff0000) | (low << 24)) >>> 0;
}

/** The filter bit the kernel uses for `mac` under `mix`. */
export function mcHash(mac: Mac, mix: number): number {
  return hash32(hashedBytes(mac) ^ mix);
}

/** hash_32(x, MC_FILTER_BITS): the top bits of x times the golden ratio. */
function hash32(x: number): number {
  return Math.imul(x, GOLDEN_RATIO_32) >>> (32 - MC_FILTER_BITS);
}

export class McFilter {
  readonly bits = new Uint32Array(MC_FILTER_SIZE / 32);

  constructor(readonly mix = 0) {}

  clear(): void {
    this.bits.fill(0);
  }

  /** IFF_PROMISC or IFF_ALLMULTI: every bit set. */
  fill(): void {
    this.bits.fill(0xffff_ffff);
  }

  add(mac: Mac): void {
    const bit = mcHash(mac, this.mix);
    this.bits[bit >>> 5]! |= 1 << (bit & 31);
  }

  has(mac: Mac): boolean {
    return this.hasBit(mcHash(mac, this.mix));
  }

  /** has() for the MAC at bytes[at..at+6], as the kernel reads it: the u32 at addr + 2, loaded
   *  little-endian. Per frame; the MAC never becomes a number (see frame-address.ts). */
  hasAt(bytes: Uint8Array, at: number): boolean {
    const word = bytes[at + 2]! | (bytes[at + 3]! << 8) | (bytes[at + 4]! << 16) | (bytes[at + 5]! << 24);
    return this.hasBit(hash32(word ^ this.mix));
  }

  private hasBit(bit: number): boolean {
    return (this.bits[bit >>> 5]! & (1 << (bit & 31))) !== 0;
  }

  /** macvlan_compute_filter for a device that is neither promiscuous nor all-multicast. */
  compute(groups: Iterable<Mac>): void {
    this.clear();
    for (const mac of groups) this.add(mac);
    this.add(BROADCAST);
  }
}
