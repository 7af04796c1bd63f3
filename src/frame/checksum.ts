// The Internet checksum (RFC 1071) and what is built on it: the IPv4 header checksum, the
// transport checksum over the IPv4/IPv6 pseudo-header, the RFC 1624 incremental update, and
// finishing a virtio NEEDS_CSUM frame. All of it runs per frame, so nothing allocates per call
// (sum16 makes its word view once per ArrayBuffer).
//
// A sum is kept unfolded while adding and folded once at the end, which equals folding as you
// go because 2^16 ≡ 1 (mod 0xffff). Long ranges are added as native 32-bit words through a
// Uint32Array over the bytes' ArrayBuffer: a 32-bit word is two 16-bit words for the same reason,
// and the byte order only swaps the bytes of the folded result (RFC 1071 §2 B), so one load does
// the work of four. The view is cached per ArrayBuffer: a port's batch buffer gets one for life.

import { FrameError } from './error.js';

/** Below this many bytes the byte loop wins over setting up the word loop. */
const WORD_PATH_MIN = 64;
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

let cachedBuffer: ArrayBufferLike | null = null;
let cachedWords: Uint32Array<ArrayBufferLike> = new Uint32Array(0);

function wordsOf(bytes: Uint8Array): Uint32Array {
  if (bytes.buffer !== cachedBuffer) {
    cachedBuffer = bytes.buffer;
    cachedWords = new Uint32Array(bytes.buffer, 0, bytes.buffer.byteLength >>> 2);
  }
  return cachedWords;
}

function swap16(value: number): number {
  return ((value & 0xff) << 8) | (value >>> 8);
}

/** Sum of [from, to) as big-endian words; with `even` false the first byte is a low byte. */
function byteSum(bytes: Uint8Array, from: number, to: number, even: boolean): number {
  let a = 0; // bytes at an even distance from `from`
  let b = 0;
  let i = from;
  for (; i < to - 7; i += 8) {
    a += bytes[i]! + bytes[i + 2]! + bytes[i + 4]! + bytes[i + 6]!;
    b += bytes[i + 1]! + bytes[i + 3]! + bytes[i + 5]! + bytes[i + 7]!;
  }
  for (; i < to - 1; i += 2) {
    a += bytes[i]!;
    b += bytes[i + 1]!;
  }
  if (i < to) a += bytes[i]!;
  return even ? a * 256 + b : b * 256 + a;
}

/** One's complement sum of [offset, offset + length) as big-endian 16-bit words, not folded.
 *  An odd last byte counts as the high byte of a word padded with zero. */
export function sum16(bytes: Uint8Array, offset: number, length: number): number {
  if (length < WORD_PATH_MIN) return byteSum(bytes, offset, offset + length, true);
  const absolute = bytes.byteOffset + offset;
  const head = (4 - (absolute & 3)) & 3;
  const first = (absolute + head) >>> 2;
  const count = (length - head) >>> 2;
  const words = wordsOf(bytes);
  let s0 = 0;
  let s1 = 0;
  let w = first;
  const end = first + count;
  for (; w < end - 3; w += 4) {
    s0 += words[w]! + words[w + 1]!;
    s1 += words[w + 2]! + words[w + 3]!;
  }
  for (; w < end; w++) s0 += words[w]!;
  let middle = fold(s0 + s1);
  if (LITTLE_ENDIAN) middle = swap16(middle);
  // Words that start an odd number of bytes into the range pair their bytes the other way round.
  if ((head & 1) === 1) middle = swap16(middle);
  const tail = offset + head + 4 * count;
  return byteSum(bytes, offset, offset + head, true) + middle + byteSum(bytes, tail, offset + length, (head & 1) === 0);
}

/** Fold an unfolded sum into 16 bits with end-around carry. A non-zero multiple of 0xffff folds
 *  to 0xffff (one's complement "negative zero"); only 0 folds to 0. */
export function fold(sum: number): number {
  while (sum > 0xffff_ffff) sum = (sum % 0x1_0000_0000) + Math.floor(sum / 0x1_0000_0000);
  sum = (sum & 0xffff) + (sum >>> 16);
  sum = (sum & 0xffff) + (sum >>> 16);
  return sum;
}

/** The Internet checksum of a byte range: the complement of its folded sum. */
export function internetChecksum(bytes: Uint8Array, offset: number, length: number): number {
  return ~fold(sum16(bytes, offset, length)) & 0xffff;
}

/** The checksum a range must carry in its 16-bit field at `offset + field` (an even distance):
 *  the range is summed as if that field were zero, plus `initial` (a pseudo-header sum or 0). */
export function checksumWithField(
  bytes: Uint8Array,
  offset: number,
  length: number,
  field: number,
  initial: number,
): number {
  const sum = initial + sum16(bytes, offset, field) + sum16(bytes, offset + field + 2, length - field - 2);
  return ~fold(sum) & 0xffff;
}

/** True when a range that includes its checksum field sums (with `initial`) to one's complement zero. */
export function checksumValid(bytes: Uint8Array, offset: number, length: number, initial: number): boolean {
  return fold(initial + sum16(bytes, offset, length)) === 0xffff;
}

/** The IPv4 header checksum for the header at `offset` of `headerLength` bytes (field at 10). */
export function ipv4HeaderChecksum(bytes: Uint8Array, offset: number, headerLength: number): number {
  return checksumWithField(bytes, offset, headerLength, 10, 0);
}

/** Sum of a transport pseudo-header: source and destination address (4 bytes each for IPv4,
 *  16 for IPv6), the protocol, and the transport length (RFC 768/793 for IPv4, RFC 8200 §8.1). */
export function pseudoHeaderSum(
  bytes: Uint8Array,
  srcOffset: number,
  dstOffset: number,
  addressLength: number,
  protocol: number,
  transportLength: number,
): number {
  return (
    sum16(bytes, srcOffset, addressLength) +
    sum16(bytes, dstOffset, addressLength) +
    protocol +
    (transportLength >>> 16) +
    (transportLength & 0xffff)
  );
}

/** The pseudo-header sum for the IPv4 header at `ipOffset` (addresses at 12 and 16). With a
 *  source route still to follow the destination is the route's last address: pass its offset. */
export function ipv4PseudoHeaderSum(
  bytes: Uint8Array,
  ipOffset: number,
  protocol: number,
  transportLength: number,
  dstOffset: number = ipOffset + 16,
): number {
  return pseudoHeaderSum(bytes, ipOffset + 12, dstOffset, 4, protocol, transportLength);
}

/** The pseudo-header sum for the IPv6 header at `ipOffset`. With a routing header the
 *  destination is the final one (RFC 8200 §8.1): pass its offset as `dstOffset`. */
export function ipv6PseudoHeaderSum(
  bytes: Uint8Array,
  ipOffset: number,
  protocol: number,
  transportLength: number,
  dstOffset: number = ipOffset + 24,
): number {
  return pseudoHeaderSum(bytes, ipOffset + 8, dstOffset, 16, protocol, transportLength);
}

/** RFC 1624 eqn. 3: the new checksum after one 16-bit word covered by it changes from
 *  `oldWord` to `newWord`, HC' = ~(~HC + ~m + m'). Two calls update a 32-bit field. */
export function updateChecksum(checksum: number, oldWord: number, newWord: number): number {
  return ~fold((~checksum & 0xffff) + (~oldWord & 0xffff) + newWord) & 0xffff;
}

/**
 * Finish a frame that a virtio_net_hdr marks NEEDS_CSUM (docs/kernel-notes.md §3): the 16-bit
 * field at csumStart + csumOffset holds the pseudo-header sum; summing [csumStart, end) with it
 * in place, folding and complementing gives the checksum. As the kernel's skb_checksum_help
 * (net/core/dev.c) does, a result of 0 is stored as 0xffff: for UDP, 0 would mean "no checksum".
 * Offsets are relative to the frame; an out-of-range field gives BAD_VNET_HDR and changes nothing.
 */
export function completePartialChecksum(
  bytes: Uint8Array,
  frameOffset: number,
  frameLength: number,
  csumStart: number,
  csumOffset: number,
): FrameError | null {
  if (csumStart + csumOffset + 2 > frameLength) return FrameError.BAD_VNET_HDR;
  const start = frameOffset + csumStart;
  const checksum = ~fold(sum16(bytes, start, frameLength - csumStart)) & 0xffff || 0xffff;
  const at = start + csumOffset;
  bytes[at] = checksum >>> 8;
  bytes[at + 1] = checksum & 0xff;
  return null;
}
