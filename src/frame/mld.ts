// MLD (RFC 2710, RFC 3810): the ICMPv6 messages a snooping bridge reads to build its mdb. Its
// ICMPv6 header is IcmpView's; this view reads what follows it.
//
//  v1 messages and the v2 query:
//  0      1      2          4                   6          8                       24
//  | type | code | checksum | max response (ms) | reserved | multicast address (16) |
//  (a v2 query goes on: S/QRV, QQIC, nsrcs, sources)
//
//  v2 report:
//  0      1     2          4     6                   8
//  | 143  | 0   | checksum | 0   | number of records | records...
//  record:  | type | aux words | nsrcs (2) | multicast address (16) | sources (16 each) | aux data (4 each)

import { EMPTY_BYTES, put16, u16 } from './bytes.js';
import { FrameError } from './error.js';
import { IPV6_ADDRESS_LEN, type Ipv6Address, readIpv6 } from './ip-address.js';

export const MldField = { TYPE: 0, CODE: 1, CHECKSUM: 2, MAX_DELAY: 4, ADDRESS: 8, V2_RECORD_COUNT: 6 } as const;
export const MldRecordField = { TYPE: 0, AUX_WORDS: 1, NSRCS: 2, ADDRESS: 4, SOURCES: 20 } as const;
/** struct mld_msg: every v1 message, and the part of a v2 query before its sources. */
export const MLD_MESSAGE_LEN = 24;
/** struct mld2_query without sources (ipv6_mc_check_mld_query: a query is 24 bytes or at least 28). */
export const MLDV2_QUERY_LEN = 28;
export const MLDV2_REPORT_HEADER_LEN = 8;
export const MLDV2_RECORD_LEN = 20;

export const MldType = { QUERY: 130, V1_REPORT: 131, DONE: 132, V2_REPORT: 143 } as const;

/** A view over one MLD message: `length` is the ICMPv6 message's (the checksum covers all of it). */
export class MldView {
  bytes: Uint8Array = EMPTY_BYTES;
  offset = 0;
  length = 0;

  parse(bytes: Uint8Array, offset: number, length: number): FrameError | null {
    this.bytes = bytes;
    this.offset = offset;
    this.length = length;
    const type = length > 0 ? bytes[offset]! : 0;
    if (type === MldType.V2_REPORT) {
      if (length < MLDV2_REPORT_HEADER_LEN) return FrameError.TRUNCATED;
      let at = MLDV2_REPORT_HEADER_LEN;
      for (let i = 0; i < this.recordCount; i++) {
        if (at + MLDV2_RECORD_LEN > length) return FrameError.BAD_LENGTH;
        at += this.recordLengthAt(offset + at);
        if (at > length) return FrameError.BAD_LENGTH;
      }
      return null;
    }
    if (length < MLD_MESSAGE_LEN) return FrameError.TRUNCATED;
    if (type === MldType.QUERY && length !== MLD_MESSAGE_LEN && length < MLDV2_QUERY_LEN) return FrameError.BAD_LENGTH;
    return null;
  }

  get type(): number {
    return this.bytes[this.offset + MldField.TYPE]!;
  }
  get checksum(): number {
    return u16(this.bytes, this.offset + MldField.CHECKSUM);
  }
  get maxDelayCode(): number {
    return u16(this.bytes, this.offset + MldField.MAX_DELAY);
  }
  get isV2Query(): boolean {
    return this.type === MldType.QUERY && this.length !== MLD_MESSAGE_LEN;
  }
  /** The max response delay in milliseconds (mldv2_mrc for a v2 query's floating-point codes). */
  get maxDelayMs(): number {
    const code = this.maxDelayCode;
    if (!this.isV2Query || code < 0x8000) return code;
    return ((code & 0x0fff) | 0x1000) << (((code >> 12) & 0x07) + 3);
  }
  /** Where the multicast address of a query, v1 report or done lies (16 bytes). */
  get addressOffset(): number {
    return this.offset + MldField.ADDRESS;
  }
  /** The unspecified address in a query: a general query. */
  get isGeneralQuery(): boolean {
    for (let i = 0; i < IPV6_ADDRESS_LEN; i++) if (this.bytes[this.addressOffset + i] !== 0) return false;
    return true;
  }
  get querySourceCount(): number {
    return this.isV2Query ? u16(this.bytes, this.offset + MLD_MESSAGE_LEN + 2) : 0;
  }
  get recordCount(): number {
    return this.type === MldType.V2_REPORT ? u16(this.bytes, this.offset + MldField.V2_RECORD_COUNT) : 0;
  }
  get firstRecordOffset(): number {
    return this.offset + MLDV2_REPORT_HEADER_LEN;
  }
  recordLengthAt(at: number): number {
    const b = this.bytes;
    return (
      MLDV2_RECORD_LEN + IPV6_ADDRESS_LEN * u16(b, at + MldRecordField.NSRCS) + 4 * b[at + MldRecordField.AUX_WORDS]!
    );
  }
}

export interface MldRecordRepr {
  type: number;
  address: Ipv6Address;
  sources: readonly Ipv6Address[];
}

export interface MldRepr {
  type: number;
  maxDelayCode: number;
  /** Queries, v1 reports and dones (the unspecified address for a general query). */
  address: Ipv6Address;
  records: readonly MldRecordRepr[];
  v2Query: boolean;
}

export function mldRepr(view: MldView): MldRepr {
  const records: MldRecordRepr[] = [];
  let at = view.firstRecordOffset;
  for (let i = 0; i < view.recordCount; i++) {
    const n = u16(view.bytes, at + MldRecordField.NSRCS);
    const sources = Array.from({ length: n }, (_, s) =>
      readIpv6(view.bytes, at + MldRecordField.SOURCES + IPV6_ADDRESS_LEN * s),
    );
    records.push({ type: view.bytes[at]!, address: readIpv6(view.bytes, at + MldRecordField.ADDRESS), sources });
    at += view.recordLengthAt(at);
  }
  const v2 = view.type === MldType.V2_REPORT;
  return {
    type: view.type,
    maxDelayCode: v2 ? 0 : view.maxDelayCode,
    address: v2 ? new Uint8Array(IPV6_ADDRESS_LEN) : readIpv6(view.bytes, view.addressOffset),
    records,
    v2Query: view.isV2Query,
  };
}

export function mldLength(repr: MldRepr): number {
  if (repr.type === MldType.V2_REPORT)
    return (
      MLDV2_REPORT_HEADER_LEN +
      repr.records.reduce((n, r) => n + MLDV2_RECORD_LEN + IPV6_ADDRESS_LEN * r.sources.length, 0)
    );
  return repr.type === MldType.QUERY && repr.v2Query ? MLDV2_QUERY_LEN : MLD_MESSAGE_LEN;
}

/** Write the message with a zero checksum at `offset` (the ICMPv6 checksum needs the pseudo-header:
 *  see `checksumWithField`); returns its length. */
export function emitMld(repr: MldRepr, bytes: Uint8Array, offset: number): number {
  const length = mldLength(repr);
  bytes.fill(0, offset, offset + length);
  bytes[offset + MldField.TYPE] = repr.type;
  if (repr.type !== MldType.V2_REPORT) {
    put16(bytes, offset + MldField.MAX_DELAY, repr.maxDelayCode);
    bytes.set(repr.address.subarray(0, IPV6_ADDRESS_LEN), offset + MldField.ADDRESS);
    return length;
  }
  put16(bytes, offset + MldField.V2_RECORD_COUNT, repr.records.length);
  let at = offset + MLDV2_REPORT_HEADER_LEN;
  for (const r of repr.records) {
    bytes[at + MldRecordField.TYPE] = r.type;
    put16(bytes, at + MldRecordField.NSRCS, r.sources.length);
    bytes.set(r.address.subarray(0, IPV6_ADDRESS_LEN), at + MldRecordField.ADDRESS);
    r.sources.forEach((s, i) => {
      bytes.set(s.subarray(0, IPV6_ADDRESS_LEN), at + MldRecordField.SOURCES + IPV6_ADDRESS_LEN * i);
    });
    at += MLDV2_RECORD_LEN + IPV6_ADDRESS_LEN * r.sources.length;
  }
  return length;
}
