// IP addresses as the frame layer holds them: IPv4 as an unsigned 32-bit number (compares with
// ===, keys a Map, no allocation), IPv6 as 16 bytes (views read them in place; only text and
// plain-data reprs copy them). Bytes in, bytes out, and text out for display; reading text is
// grammar/ip-address.ts's, above this floor.

import { put32, u32 } from './bytes.js';

export type Ipv4Address = number;
export type Ipv6Address = Uint8Array;

export const IPV6_ADDRESS_LEN = 16;

export function readIpv4(bytes: Uint8Array, offset: number): Ipv4Address {
  return u32(bytes, offset);
}

export function writeIpv4(bytes: Uint8Array, offset: number, address: Ipv4Address): void {
  put32(bytes, offset, address);
}

export function formatIpv4(address: Ipv4Address): string {
  return `${address >>> 24}.${(address >>> 16) & 0xff}.${(address >>> 8) & 0xff}.${address & 0xff}`;
}

/** Copy the 16 bytes at `offset` out of a frame. */
export function readIpv6(bytes: Uint8Array, offset: number): Ipv6Address {
  return bytes.slice(offset, offset + IPV6_ADDRESS_LEN);
}

/** RFC 5952 text: lower case, the longest run of two or more zero groups as `::` (the first on a tie). */
export function formatIpv6(bytes: Uint8Array, offset = 0): string {
  const groups: number[] = [];
  for (let i = 0; i < 8; i++) groups.push((bytes[offset + 2 * i]! << 8) | bytes[offset + 2 * i + 1]!);
  // IPv4-mapped addresses keep the dotted tail (RFC 5952 §5).
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    return `::ffff:${formatIpv4(((groups[6]! << 16) | groups[7]!) >>> 0)}`;
  }
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = (list: number[]) => list.map((g) => g.toString(16)).join(':');
  if (bestStart < 0) return hex(groups);
  return `${hex(groups.slice(0, bestStart))}::${hex(groups.slice(bestStart + bestLength))}`;
}
