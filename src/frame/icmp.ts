// ICMP (RFC 792) and ICMPv6 (RFC 4443) share their first eight bytes: type, code, checksum and
// a 32-bit rest-of-header, which echo messages split into identifier and sequence number.
//
//  0      1      2          4                6            8
//  | type | code | checksum | identifier     | sequence   | data...

import { EMPTY_BYTES, put16, u16 } from './bytes.js';
import { FrameError } from './error.js';

export const IcmpField = { TYPE: 0, CODE: 1, CHECKSUM: 2, IDENTIFIER: 4, SEQUENCE: 6 } as const;
export const ICMP_HEADER_LEN = 8;

export const Icmpv4Type = {
  ECHO_REPLY: 0,
  DESTINATION_UNREACHABLE: 3,
  REDIRECT: 5,
  ECHO_REQUEST: 8,
  TIME_EXCEEDED: 11,
  PARAMETER_PROBLEM: 12,
} as const;

export const Icmpv6Type = {
  DESTINATION_UNREACHABLE: 1,
  PACKET_TOO_BIG: 2,
  TIME_EXCEEDED: 3,
  PARAMETER_PROBLEM: 4,
  ECHO_REQUEST: 128,
  ECHO_REPLY: 129,
  MLD_QUERY: 130,
  MLD_REPORT: 131,
  MLD_DONE: 132,
  ROUTER_SOLICITATION: 133,
  ROUTER_ADVERTISEMENT: 134,
  NEIGHBOR_SOLICITATION: 135,
  NEIGHBOR_ADVERTISEMENT: 136,
  REDIRECT: 137,
  MLDV2_REPORT: 143,
} as const;

/** A view over one ICMP or ICMPv6 message; which one is the caller's knowledge (the IP header). */
export class IcmpView {
  bytes: Uint8Array = EMPTY_BYTES;
  offset = 0;
  length = 0;

  parse(bytes: Uint8Array, offset: number, length: number): FrameError | null {
    this.bytes = bytes;
    this.offset = offset;
    this.length = length;
    // Every ICMP and ICMPv6 message defined has at least the eight bytes above.
    if (length < ICMP_HEADER_LEN) return FrameError.TRUNCATED;
    return null;
  }

  get type(): number {
    return this.bytes[this.offset + IcmpField.TYPE]!;
  }
  get code(): number {
    return this.bytes[this.offset + IcmpField.CODE]!;
  }
  get checksum(): number {
    return u16(this.bytes, this.offset + IcmpField.CHECKSUM);
  }
  /** The echo identifier, or the high half of another message's rest-of-header. */
  get identifier(): number {
    return u16(this.bytes, this.offset + IcmpField.IDENTIFIER);
  }
  /** The echo sequence number, or the low half of another message's rest-of-header. */
  get sequence(): number {
    return u16(this.bytes, this.offset + IcmpField.SEQUENCE);
  }
  get payloadOffset(): number {
    return this.offset + ICMP_HEADER_LEN;
  }
  get payloadLength(): number {
    return this.length - ICMP_HEADER_LEN;
  }
}

export interface IcmpRepr {
  type: number;
  code: number;
  identifier: number;
  sequence: number;
}

export function icmpRepr(view: IcmpView): IcmpRepr {
  return { type: view.type, code: view.code, identifier: view.identifier, sequence: view.sequence };
}

/** Write the header with a zero checksum at `offset` (the checksum covers data that comes after:
 *  see `checksumWithField`); returns its length. */
export function emitIcmp(repr: IcmpRepr, bytes: Uint8Array, offset: number): number {
  bytes[offset + IcmpField.TYPE] = repr.type;
  bytes[offset + IcmpField.CODE] = repr.code;
  put16(bytes, offset + IcmpField.CHECKSUM, 0);
  put16(bytes, offset + IcmpField.IDENTIFIER, repr.identifier);
  put16(bytes, offset + IcmpField.SEQUENCE, repr.sequence);
  return ICMP_HEADER_LEN;
}
