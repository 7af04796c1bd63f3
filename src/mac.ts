// A MAC address is a 48-bit number: a double holds it exactly and compares with ===. It is not
// a small integer, though, so handing one to a Map or to a function V8 does not inline boxes it
// (an allocation): the per-frame paths look MACs up from the frame's bytes instead
// (switch/mac-table.ts, switch/frame-address.ts).

export type Mac = number;

export const BROADCAST: Mac = 0xffff_ffff_ffff;
const TWO_32 = 0x1_0000_0000;

/** Read the six bytes at `offset` as a MAC. */
export function readMac(bytes: Uint8Array, offset: number): Mac {
  return (
    ((bytes[offset]! << 8) | bytes[offset + 1]!) * TWO_32 +
    ((bytes[offset + 2]! << 24) >>> 0) +
    ((bytes[offset + 3]! << 16) | (bytes[offset + 4]! << 8) | bytes[offset + 5]!)
  );
}

/** Write `mac` as six bytes at `offset`. */
export function writeMac(bytes: Uint8Array, offset: number, mac: Mac): void {
  const hi = Math.floor(mac / TWO_32);
  const lo = mac - hi * TWO_32;
  bytes[offset] = hi >>> 8;
  bytes[offset + 1] = hi & 0xff;
  bytes[offset + 2] = lo >>> 24;
  bytes[offset + 3] = (lo >>> 16) & 0xff;
  bytes[offset + 4] = (lo >>> 8) & 0xff;
  bytes[offset + 5] = lo & 0xff;
}

/** The I/G bit: set for multicast and broadcast. */
export function isGroup(mac: Mac): boolean {
  return (Math.floor(mac / 0x100_0000_0000) & 1) === 1;
}

export function isBroadcast(mac: Mac): boolean {
  return mac === BROADCAST;
}

/** Multicast but not broadcast. */
export function isMulticast(mac: Mac): boolean {
  return isGroup(mac) && mac !== BROADCAST;
}

/** The U/L bit: set for locally administered addresses (what a lab should use). */
export function isLocal(mac: Mac): boolean {
  return (Math.floor(mac / 0x100_0000_0000) & 2) === 2;
}

const MAC_TEXT =
  /^([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})$/i;

/** Parse `aa:bb:cc:dd:ee:ff` (or with dashes); null when the text is not a MAC. */
export function parseMac(text: string): Mac | null {
  const m = MAC_TEXT.exec(text.trim());
  if (m === null) return null;
  let mac = 0;
  for (let i = 1; i <= 6; i++) mac = mac * 256 + parseInt(m[i]!, 16);
  return mac;
}

export function formatMac(mac: Mac): string {
  let out = '';
  for (let shift = 40; shift >= 0; shift -= 8) {
    const byte = Math.floor(mac / 2 ** shift) & 0xff;
    out += (shift === 40 ? '' : ':') + byte.toString(16).padStart(2, '0');
  }
  return out;
}

/** The Ethernet group address an IPv4 multicast group maps to (RFC 1112: 01:00:5e + low 23 bits). */
export function ipv4MulticastMac(group: number): Mac {
  return 0x01005e000000 + (group & 0x7fffff);
}

/** The Ethernet group address an IPv6 multicast group maps to (RFC 2464: 33:33 + low 32 bits). */
export function ipv6MulticastMac(low32: number): Mac {
  return 0x333300000000 + (low32 >>> 0);
}
