// IPv4 (RFC 791), options and fragments included.
//
//  0        1          2             4        6              8     9       10       12    16    20
//  | ver ihl | dscp ecn | total length | ident  | flags offset | ttl | proto | checksum| src | dst | options

import { EMPTY_BYTES, put16, u16 } from './bytes.js';
import { checksumValid, ipv4HeaderChecksum } from './checksum.js';
import { FrameError } from './error.js';
import { type Ipv4Address, readIpv4, writeIpv4 } from './ip-address.js';
import { kindLengthOptionsValid } from './options.js';

export const Ipv4Field = {
  VERSION_IHL: 0,
  DSCP_ECN: 1,
  TOTAL_LENGTH: 2,
  IDENTIFICATION: 4,
  FLAGS_FRAGMENT: 6,
  TTL: 8,
  PROTOCOL: 9,
  CHECKSUM: 10,
  SRC: 12,
  DST: 16,
  OPTIONS: 20,
} as const;

export const IPV4_HEADER_LEN = 20;
export const IPV4_MAX_HEADER_LEN = 60;

const FLAG_DF = 0x4000;
const FLAG_MF = 0x2000;
const OFFSET_MASK = 0x1fff;
const FRAGMENTED = FLAG_MF | OFFSET_MASK;
const FLAGS_FRAGMENT = Ipv4Field.FLAGS_FRAGMENT;

/**
 * A view over one IPv4 packet. `parse` re-points it; no allocation. `length` is what the
 * layer below offers (it may include Ethernet padding); the packet itself is `totalLength`.
 */
export class Ipv4View {
  bytes: Uint8Array = EMPTY_BYTES;
  offset = 0;
  length = 0;
  headerLength = 0;
  totalLength = 0;

  parse(bytes: Uint8Array, offset: number, length: number): FrameError | null {
    this.bytes = bytes;
    this.offset = offset;
    this.length = length;
    this.headerLength = 0;
    this.totalLength = 0;
    if (length < IPV4_HEADER_LEN) return FrameError.TRUNCATED;
    const versionIhl = bytes[offset]!;
    if (versionIhl >>> 4 !== 4) return FrameError.BAD_HEADER;
    const headerLength = (versionIhl & 0xf) * 4;
    if (headerLength < IPV4_HEADER_LEN) return FrameError.BAD_HEADER;
    const totalLength = u16(bytes, offset + Ipv4Field.TOTAL_LENGTH);
    if (totalLength < headerLength || totalLength > length) return FrameError.BAD_LENGTH;
    this.headerLength = headerLength;
    this.totalLength = totalLength;
    const options = offset + IPV4_HEADER_LEN;
    if (headerLength > IPV4_HEADER_LEN && !kindLengthOptionsValid(bytes, options, offset + headerLength)) {
      return FrameError.BAD_OPTIONS;
    }
    return null;
  }

  get dscp(): number {
    return this.bytes[this.offset + Ipv4Field.DSCP_ECN]! >>> 2;
  }
  get ecn(): number {
    return this.bytes[this.offset + Ipv4Field.DSCP_ECN]! & 3;
  }
  get identification(): number {
    return u16(this.bytes, this.offset + Ipv4Field.IDENTIFICATION);
  }
  get dontFragment(): boolean {
    return (u16(this.bytes, this.offset + Ipv4Field.FLAGS_FRAGMENT) & FLAG_DF) !== 0;
  }
  get moreFragments(): boolean {
    return (u16(this.bytes, this.offset + Ipv4Field.FLAGS_FRAGMENT) & FLAG_MF) !== 0;
  }
  /** In bytes (the field counts 8-byte units). */
  get fragmentOffset(): number {
    return (u16(this.bytes, this.offset + Ipv4Field.FLAGS_FRAGMENT) & OFFSET_MASK) * 8;
  }
  /** Part of a fragmented datagram: more fragments follow, or this one is not the first. Kept
   *  under V8's size for always-inlined functions (the whole-frame parse reads it per frame, and
   *  a getter is otherwise the last thing V8 inlines). */
  get isFragment(): boolean {
    return (u16(this.bytes, this.offset + FLAGS_FRAGMENT) & FRAGMENTED) !== 0;
  }
  /** Not the first fragment: what follows the header is the middle of a datagram, not a header. */
  get isLaterFragment(): boolean {
    return (u16(this.bytes, this.offset + Ipv4Field.FLAGS_FRAGMENT) & OFFSET_MASK) !== 0;
  }
  get ttl(): number {
    return this.bytes[this.offset + Ipv4Field.TTL]!;
  }
  get protocol(): number {
    return this.bytes[this.offset + Ipv4Field.PROTOCOL]!;
  }
  get checksum(): number {
    return u16(this.bytes, this.offset + Ipv4Field.CHECKSUM);
  }
  get src(): Ipv4Address {
    return readIpv4(this.bytes, this.offset + Ipv4Field.SRC);
  }
  get dst(): Ipv4Address {
    return readIpv4(this.bytes, this.offset + Ipv4Field.DST);
  }
  get optionsLength(): number {
    return this.headerLength - IPV4_HEADER_LEN;
  }
  get payloadOffset(): number {
    return this.offset + this.headerLength;
  }
  get payloadLength(): number {
    return this.totalLength - this.headerLength;
  }
  /** Where the transport pseudo-header's destination is: the source route's last address, if any. */
  get finalDestinationOffset(): number {
    return ipv4FinalDestinationOffset(this.bytes, this.offset, this.headerLength);
  }
  /** The header checksum verifies. Not part of `parse`: a switch forwards what it cannot verify. */
  checksumValid(): boolean {
    return checksumValid(this.bytes, this.offset, this.headerLength, 0);
  }
}

export interface Ipv4Repr {
  dscp: number;
  ecn: number;
  identification: number;
  dontFragment: boolean;
  moreFragments: boolean;
  /** In bytes, a multiple of 8. */
  fragmentOffset: number;
  ttl: number;
  protocol: number;
  src: Ipv4Address;
  dst: Ipv4Address;
  /** Raw option bytes; emit pads them with End-of-options to a multiple of four. */
  options: Uint8Array;
  payloadLength: number;
}

export function ipv4Repr(view: Ipv4View): Ipv4Repr {
  return {
    dscp: view.dscp,
    ecn: view.ecn,
    identification: view.identification,
    dontFragment: view.dontFragment,
    moreFragments: view.moreFragments,
    fragmentOffset: view.fragmentOffset,
    ttl: view.ttl,
    protocol: view.protocol,
    src: view.src,
    dst: view.dst,
    options: view.bytes.slice(view.offset + IPV4_HEADER_LEN, view.offset + view.headerLength),
    payloadLength: view.payloadLength,
  };
}

export function ipv4HeaderLength(repr: Ipv4Repr): number {
  return IPV4_HEADER_LEN + Math.ceil(repr.options.length / 4) * 4;
}

/** Write the header, checksum included, at `offset`; returns its length. */
export function emitIpv4(repr: Ipv4Repr, bytes: Uint8Array, offset: number): number {
  const headerLength = ipv4HeaderLength(repr);
  bytes[offset + Ipv4Field.VERSION_IHL] = 0x40 | (headerLength / 4);
  bytes[offset + Ipv4Field.DSCP_ECN] = (repr.dscp << 2) | (repr.ecn & 3);
  put16(bytes, offset + Ipv4Field.TOTAL_LENGTH, headerLength + repr.payloadLength);
  put16(bytes, offset + Ipv4Field.IDENTIFICATION, repr.identification);
  put16(
    bytes,
    offset + Ipv4Field.FLAGS_FRAGMENT,
    (repr.dontFragment ? FLAG_DF : 0) | (repr.moreFragments ? FLAG_MF : 0) | ((repr.fragmentOffset / 8) & OFFSET_MASK),
  );
  bytes[offset + Ipv4Field.TTL] = repr.ttl;
  bytes[offset + Ipv4Field.PROTOCOL] = repr.protocol;
  writeIpv4(bytes, offset + Ipv4Field.SRC, repr.src);
  writeIpv4(bytes, offset + Ipv4Field.DST, repr.dst);
  bytes.set(repr.options, offset + Ipv4Field.OPTIONS);
  bytes.fill(0, offset + Ipv4Field.OPTIONS + repr.options.length, offset + headerLength);
  put16(bytes, offset + Ipv4Field.CHECKSUM, ipv4HeaderChecksum(bytes, offset, headerLength));
  return headerLength;
}

/** Loose and Strict Source and Record Route (RFC 791 §3.1): type, length, pointer, route data. */
const OPTION_LSRR = 0x83;
const OPTION_SSRR = 0x89;
/** Type, length, pointer and one address: the shortest source route with somewhere to go. */
const MIN_SOURCE_ROUTE = 7;

/**
 * Where the transport pseudo-header's destination is, in the IPv4 header at IPOFFSET. A source
 * route whose pointer is still within it has addresses left to visit: the header's destination is
 * only the next hop, and the final receiver (which sees the route's last address there) checks the
 * UDP or TCP checksum against that last address (RFC 791 §3.1, RFC 1122 §4.1.3.6). Otherwise, and
 * for options that do not frame, the header's own destination.
 */
export function ipv4FinalDestinationOffset(bytes: Uint8Array, ipOffset: number, headerLength: number): number {
  const end = ipOffset + headerLength;
  for (let at = ipOffset + IPV4_HEADER_LEN; at < end; ) {
    const kind = bytes[at]!;
    if (kind === 0) break;
    if (kind === 1) {
      at++;
      continue;
    }
    if (at + 2 > end) break;
    const length = bytes[at + 1]!;
    if (length < 2 || at + length > end) break;
    if ((kind === OPTION_LSRR || kind === OPTION_SSRR) && length >= MIN_SOURCE_ROUTE && bytes[at + 2]! <= length) {
      const addresses = Math.floor((length - 3) / 4);
      return at + 3 + (addresses - 1) * 4;
    }
    at += length;
  }
  return ipOffset + Ipv4Field.DST;
}
