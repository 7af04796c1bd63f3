// IP addresses as the frame layer holds them: IPv4 as an unsigned 32-bit number (compares with
// ===, keys a Map, no allocation), IPv6 as 16 bytes (views read them in place; only text and
// plain-data reprs copy them).

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

const DOTTED_QUAD = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

/** `10.77.0.1` → number; null when the text is not a dotted quad. */
export function parseIpv4(text: string): Ipv4Address | null {
  const m = DOTTED_QUAD.exec(text.trim());
  if (m === null) return null;
  let address = 0;
  for (let i = 1; i <= 4; i++) {
    const part = Number(m[i]);
    if (part > 255) return null;
    address = address * 256 + part;
  }
  return address;
}

export function formatIpv4(address: Ipv4Address): string {
  return `${address >>> 24}.${(address >>> 16) & 0xff}.${(address >>> 8) & 0xff}.${address & 0xff}`;
}

/** Copy the 16 bytes at `offset` out of a frame. */
export function readIpv6(bytes: Uint8Array, offset: number): Ipv6Address {
  return bytes.slice(offset, offset + IPV6_ADDRESS_LEN);
}

/** RFC 4291 §2.2 text (`fd77::1`, `::ffff:10.0.0.1`) → 16 bytes; null when it is not an IPv6 address. */
export function parseIpv6(text: string): Ipv6Address | null {
  let s = text.trim().toLowerCase();
  const out = new Uint8Array(IPV6_ADDRESS_LEN);
  // An embedded IPv4 tail stands for the last two groups: parse it apart, keep two placeholders.
  let tail: number[] = [];
  const lastColon = s.lastIndexOf(':');
  if (lastColon >= 0 && s.indexOf('.', lastColon) > 0) {
    const v4 = parseIpv4(s.slice(lastColon + 1));
    if (v4 === null) return null;
    tail = [v4 >>> 16, v4 & 0xffff];
    s = `${s.slice(0, lastColon + 1)}0:0`;
  }
  const halves = s.split('::');
  if (halves.length > 2) return null;
  const parseGroups = (part: string): number[] | null => {
    if (part === '') return [];
    const groups: number[] = [];
    for (const g of part.split(':')) {
      if (!/^[0-9a-f]{1,4}$/.test(g)) return null;
      groups.push(parseInt(g, 16));
    }
    return groups;
  };
  const head = parseGroups(halves[0]!);
  const rest = halves.length === 2 ? parseGroups(halves[1]!) : [];
  if (head === null || rest === null) return null;
  const missing = 8 - head.length - rest.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return null;
  const groups = [...head, ...new Array<number>(missing).fill(0), ...rest];
  if (tail.length === 2) groups.splice(6, 2, ...tail);
  groups.forEach((g, i) => {
    out[2 * i] = g >>> 8;
    out[2 * i + 1] = g & 0xff;
  });
  return out;
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
