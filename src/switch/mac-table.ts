// A hash table from MAC to a small non-negative integer, over typed arrays: what the switches
// look a frame's addresses up in, once or twice per frame.
//
// Why not a Map: a MAC is a 48-bit double, not a small integer (Smi), so V8 boxes it in a fresh
// HeapNumber for every Map.get/has/set: 16 bytes of garbage per lookup, a scavenge every few
// hundred thousand frames, and a slower lookup besides. Here the key stays an unboxed double
// from readMac to the compare.
//
// Open addressing with linear probing. Keys live in a Float64Array (EMPTY is -1, which no MAC
// is), values in an Int32Array (callers index their own arrays with them). The table is kept at
// most half full and doubles when it would be more. Deleting shifts the rest of the probe run
// back (no tombstones), so lookups stay short however many entries come and go — the FDB
// learns and ages entries for as long as the forwarder runs.
//
// get, has and delete allocate nothing; set allocates only when the table grows. The per-frame
// path uses getAt / hasAt, which read the address from the frame themselves, so that the MAC
// never crosses a call as a double (see frame-address.ts).

import { TapyardError } from '../error.js';
import type { Mac } from '../mac.js';

/** What get returns for a MAC that is not in the table. */
export const ABSENT = -1;

const EMPTY = -1;
const TWO_32 = 0x1_0000_0000;
const MIN_BITS = 3;
/** 2^32 / golden ratio: multiplying by it spreads any input bit over the top bits. */
const FIBONACCI = 0x9e37_79b9;
/** An odd constant that moves the two top bytes of the MAC up before they meet the low four. */
const HIGH_MIX = 0x85eb_ca6b;

/** The home slot of `mac` in a table of 2^bits slots: Fibonacci hashing over all six bytes. */
export function macSlot(mac: Mac, bits: number): number {
  // ToInt32 (`| 0`) keeps the low 32 bits of the double: bytes 2..5, without a division.
  return slotOf((mac / TWO_32) | 0, mac | 0, bits);
}

/** The slot for a MAC given as bytes 0..1 and bytes 2..5 (an int32): both small integers, so
 *  calling this never boxes. */
function slotOf(high: number, low: number, bits: number): number {
  return Math.imul(low ^ Math.imul(high, HIGH_MIX), FIBONACCI) >>> (32 - bits);
}

export class MacTable {
  private keys: Float64Array;
  private values: Int32Array;
  private bits: number;
  private mask: number;
  /** Number of MACs in the table. */
  size = 0;

  /** `expected`: how many MACs it should hold before it first grows. */
  constructor(expected = 4) {
    let bits = MIN_BITS;
    while (1 << (bits - 1) < expected) bits++;
    this.bits = bits;
    this.mask = (1 << bits) - 1;
    this.keys = new Float64Array(1 << bits).fill(EMPTY);
    this.values = new Int32Array(1 << bits);
  }

  /** The value stored for `mac`, or ABSENT. */
  get(mac: Mac): number {
    const keys = this.keys;
    const mask = this.mask;
    for (let i = macSlot(mac, this.bits); ; i = (i + 1) & mask) {
      const key = keys[i]!;
      if (key === mac) return this.values[i]!;
      if (key === EMPTY) return ABSENT;
    }
  }

  has(mac: Mac): boolean {
    return this.get(mac) !== ABSENT;
  }

  /** get for the MAC at bytes[at..at+6]. The probe loop is get's, repeated rather than called:
   *  calling get would pass the MAC as a double again. */
  getAt(bytes: Uint8Array, at: number): number {
    const high = (bytes[at]! << 8) | bytes[at + 1]!;
    const low = (bytes[at + 2]! << 24) | (bytes[at + 3]! << 16) | (bytes[at + 4]! << 8) | bytes[at + 5]!;
    const mac = high * TWO_32 + (low >>> 0);
    const keys = this.keys;
    const mask = this.mask;
    for (let i = slotOf(high, low, this.bits); ; i = (i + 1) & mask) {
      const key = keys[i]!;
      if (key === mac) return this.values[i]!;
      if (key === EMPTY) return ABSENT;
    }
  }

  hasAt(bytes: Uint8Array, at: number): boolean {
    return this.getAt(bytes, at) !== ABSENT;
  }

  /** Store `value` (a non-negative int32) for `mac`, replacing what was there. */
  set(mac: Mac, value: number): void {
    if ((value | 0) !== value || value < 0)
      throw new TapyardError('EINVAL', `a MAC table value must be a non-negative int32, not ${value}`);
    if (!(mac >= 0 && mac < 2 ** 48 && Math.floor(mac) === mac))
      throw new TapyardError('EINVAL', `${mac} is not a 48-bit MAC`);
    let i = this.slotFor(mac);
    if (this.keys[i] !== mac) {
      if (2 * (this.size + 1) > this.keys.length) {
        this.grow();
        i = this.slotFor(mac);
      }
      this.keys[i] = mac;
      this.size++;
    }
    this.values[i] = value;
  }

  /** Remove `mac`; false when it was not there. */
  delete(mac: Mac): boolean {
    const keys = this.keys;
    const mask = this.mask;
    let hole = this.slotFor(mac);
    if (keys[hole] !== mac) return false;
    // Backward shift: walk the rest of the run and move back every key that may sit in the
    // hole, i.e. whose home slot is not between the hole and where it sits now.
    for (let i = (hole + 1) & mask; keys[i] !== EMPTY; i = (i + 1) & mask) {
      const key = keys[i]!;
      const home = macSlot(key, this.bits);
      if (((i - home) & mask) >= ((i - hole) & mask)) {
        keys[hole] = key;
        this.values[hole] = this.values[i]!;
        hole = i;
      }
    }
    keys[hole] = EMPTY;
    this.size--;
    return true;
  }

  clear(): void {
    this.keys.fill(EMPTY);
    this.size = 0;
  }

  /** Every MAC in the table, as a new array: safe to delete from the table while walking it. */
  macs(): Mac[] {
    const out: Mac[] = [];
    for (const key of this.keys) if (key !== EMPTY) out.push(key);
    return out;
  }

  /** The slot holding `mac`, or the empty slot that ends its probe run. */
  private slotFor(mac: Mac): number {
    const keys = this.keys;
    let i = macSlot(mac, this.bits);
    while (keys[i] !== mac && keys[i] !== EMPTY) i = (i + 1) & this.mask;
    return i;
  }

  private grow(): void {
    const keys = this.keys;
    const values = this.values;
    this.bits++;
    this.mask = (1 << this.bits) - 1;
    this.keys = new Float64Array(1 << this.bits).fill(EMPTY);
    this.values = new Int32Array(1 << this.bits);
    for (let j = 0; j < keys.length; j++) {
      if (keys[j] === EMPTY) continue;
      const i = this.slotFor(keys[j]!);
      this.keys[i] = keys[j]!;
      this.values[i] = values[j]!;
    }
  }
}
