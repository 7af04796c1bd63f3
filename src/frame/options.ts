// Option lists inside headers. Only their framing is checked here (every option fits in the
// header that holds it); what an option means is left to whoever reads it.

/** IPv4 (RFC 791 §3.1) and TCP (RFC 9293 §3.1) options: kind 0 ends the list, kind 1 is a
 *  one-byte no-op, every other kind is followed by a length byte that counts kind and length. */
export function kindLengthOptionsValid(bytes: Uint8Array, start: number, end: number): boolean {
  let at = start;
  while (at < end) {
    const kind = bytes[at]!;
    if (kind === 0) return true;
    if (kind === 1) {
      at++;
      continue;
    }
    if (at + 2 > end) return false;
    const length = bytes[at + 1]!;
    if (length < 2 || at + length > end) return false;
    at += length;
  }
  return true;
}

/** IPv6 hop-by-hop and destination options (RFC 8200 §4.2): type 0 is one byte of padding,
 *  every other type is followed by a length byte that counts only the data after it. */
export function ipv6OptionsValid(bytes: Uint8Array, start: number, end: number): boolean {
  let at = start;
  while (at < end) {
    if (bytes[at] === 0) {
      at++;
      continue;
    }
    if (at + 2 > end) return false;
    at += 2 + bytes[at + 1]!;
    if (at > end) return false;
  }
  return true;
}
