// IP address text into the values frame/ip-address.ts holds: read once at the edge (port specs,
// trace and why groups, send's layers, the web view's listen address), so frame/ only ever sees
// numbers and bytes. Writing them back as text stays with the bytes (formatIpv4, formatIpv6).

import { IPV6_ADDRESS_LEN, type Ipv4Address, type Ipv6Address } from '../frame/ip-address.js';

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
