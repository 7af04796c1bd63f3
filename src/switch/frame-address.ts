// Tests on a frame's MAC addresses, made on the bytes where the addresses lie.
//
// Why the switches do not pass `frame.dst` around on the per-frame path: a MAC is a 48-bit
// double, not a small integer (Smi), and V8 boxes a double in a fresh HeapNumber whenever it
// crosses a call that was not inlined — as an argument or as a return value. A switch's decide
// is far larger than what V8 inlines whole, so every such crossing costs 16 bytes of garbage per
// frame. Functions that take (bytes, offset) only ever pass Smis and objects; the MAC is read
// as a double, if at all, inside the leaf that compares it (MacTable.getAt, McFilter.hasAt).
//
// The getters `frame.dst` / `frame.src` stay right for everything off the per-frame path:
// configuration, trace steps, error messages.

import { EthernetField } from '../frame/ethernet.js';

/** Offsets of the two addresses from the start of the frame. */
export const DST = EthernetField.DST;
export const SRC = EthernetField.SRC;

/** The I/G bit, the low bit of the first byte on the wire: set for multicast and broadcast. */
export function isGroupAt(bytes: Uint8Array, at: number): boolean {
  return (bytes[at]! & 1) === 1;
}

/** ff:ff:ff:ff:ff:ff. */
export function isBroadcastAt(bytes: Uint8Array, at: number): boolean {
  return (bytes[at]! & bytes[at + 1]! & bytes[at + 2]! & bytes[at + 3]! & bytes[at + 4]! & bytes[at + 5]!) === 0xff;
}

/** 00:00:00:00:00:00, which is_valid_ether_addr refuses as a source. */
export function isZeroAt(bytes: Uint8Array, at: number): boolean {
  return (bytes[at]! | bytes[at + 1]! | bytes[at + 2]! | bytes[at + 3]! | bytes[at + 4]! | bytes[at + 5]!) === 0;
}
