// IGMP (RFC 2236, RFC 3376): the messages a snooping bridge reads to build its mdb.
//
//  v1/v2 and the v3 query share the first eight bytes:
//  0      1               2          4              8
//  | type | max resp code | checksum | group        |  (v2: 8 bytes; v3 query: + resv/S/QRV, QQIC, nsrcs, sources)
//
//  v3 report:
//  0      1     2          4     6                   8
//  | 0x22 | 0   | checksum | 0   | number of records | records...
//  record:  | type | aux words | nsrcs (2) | group (4) | sources (4 each) | aux data (4 each)

import { EMPTY_BYTES, put16, put32, u16, u32 } from './bytes.js';
import { FrameError } from './error.js';
import type { Ipv4Address } from './ip-address.js';

export const IgmpField = { TYPE: 0, MAX_RESP: 1, CHECKSUM: 2, GROUP: 4, V3_RECORD_COUNT: 6, V3_NSRCS: 10 } as const;
export const IgmpRecordField = { TYPE: 0, AUX_WORDS: 1, NSRCS: 2, GROUP: 4, SOURCES: 8 } as const;
export const IGMP_HEADER_LEN = 8;
/** A v3 query's fixed part (ip_mc_check_igmp_query: anything else but 8 bytes must be this long). */
export const IGMPV3_QUERY_LEN = 12;
export const IGMPV3_RECORD_LEN = 8;

export const IgmpType = {
  QUERY: 0x11,
  V1_REPORT: 0x12,
  V2_REPORT: 0x16,
  LEAVE: 0x17,
  V3_REPORT: 0x22,
} as const;

/** IGMPv3 / MLDv2 group record types (RFC 3376 §4.2.12); MLDv2 uses the same numbers. */
export const GroupRecordType = {
  MODE_IS_INCLUDE: 1,
  MODE_IS_EXCLUDE: 2,
  CHANGE_TO_INCLUDE: 3,
  CHANGE_TO_EXCLUDE: 4,
  ALLOW_NEW_SOURCES: 5,
  BLOCK_OLD_SOURCES: 6,
} as const;

/** A view over one IGMP message: `length` is the IP payload (the checksum covers all of it). */
export class IgmpView {
  bytes: Uint8Array = EMPTY_BYTES;
  offset = 0;
  length = 0;

  parse(bytes: Uint8Array, offset: number, length: number): FrameError | null {
    this.bytes = bytes;
    this.offset = offset;
    this.length = length;
    if (length < IGMP_HEADER_LEN) return FrameError.TRUNCATED;
    if (this.type === IgmpType.V3_REPORT) {
      // Each record must be there in full: the count is only a claim.
      let at = IGMP_HEADER_LEN;
      for (let i = 0; i < this.recordCount; i++) {
        if (at + IGMPV3_RECORD_LEN > length) return FrameError.BAD_LENGTH;
        at += this.recordLengthAt(offset + at);
        if (at > length) return FrameError.BAD_LENGTH;
      }
    }
    return null;
  }

  get type(): number {
    return this.bytes[this.offset + IgmpField.TYPE]!;
  }
  /** Tenths of a second for v2; v3 codes from 128 up are a floating-point form (RFC 3376 §4.1.1). */
  get maxRespCode(): number {
    return this.bytes[this.offset + IgmpField.MAX_RESP]!;
  }
  get checksum(): number {
    return u16(this.bytes, this.offset + IgmpField.CHECKSUM);
  }
  /** The group of a query (0: general), a v1/v2 report or a leave. */
  get group(): Ipv4Address {
    return u32(this.bytes, this.offset + IgmpField.GROUP);
  }
  /** A query longer than eight bytes is a v3 query. */
  get isV3Query(): boolean {
    return this.type === IgmpType.QUERY && this.length !== IGMP_HEADER_LEN;
  }
  /** Sources of a v3 query (0 for a v2 one). */
  get querySourceCount(): number {
    return this.isV3Query && this.length >= IGMPV3_QUERY_LEN ? u16(this.bytes, this.offset + IgmpField.V3_NSRCS) : 0;
  }
  /** The max response time in milliseconds (IGMPV3_MRC for v3 codes). */
  get maxRespMs(): number {
    const code = this.maxRespCode;
    if (!this.isV3Query || code < 128) return code * 100;
    return (((code & 0x0f) | 0x10) << (((code >> 4) & 0x07) + 3)) * 100;
  }
  /** Group records of a v3 report. */
  get recordCount(): number {
    return this.type === IgmpType.V3_REPORT ? u16(this.bytes, this.offset + IgmpField.V3_RECORD_COUNT) : 0;
  }
  /** The offset of the first v3 record; `recordLengthAt` steps to the next. */
  get firstRecordOffset(): number {
    return this.offset + IGMP_HEADER_LEN;
  }
  recordLengthAt(at: number): number {
    const b = this.bytes;
    return IGMPV3_RECORD_LEN + 4 * u16(b, at + IgmpRecordField.NSRCS) + 4 * b[at + IgmpRecordField.AUX_WORDS]!;
  }
}

/** One v3 group record, as plain data. */
export interface IgmpRecordRepr {
  type: number;
  group: Ipv4Address;
  sources: readonly Ipv4Address[];
}

export interface IgmpRepr {
  type: number;
  maxRespCode: number;
  /** Queries, v1/v2 reports and leaves. */
  group: Ipv4Address;
  /** v3 reports. */
  records: readonly IgmpRecordRepr[];
  /** A v3 query (12 bytes, no sources) instead of an 8-byte v2 one. */
  v3Query: boolean;
}

export function igmpRepr(view: IgmpView): IgmpRepr {
  const records: IgmpRecordRepr[] = [];
  let at = view.firstRecordOffset;
  for (let i = 0; i < view.recordCount; i++) {
    const n = u16(view.bytes, at + IgmpRecordField.NSRCS);
    const sources = Array.from({ length: n }, (_, s) => u32(view.bytes, at + IgmpRecordField.SOURCES + 4 * s));
    records.push({ type: view.bytes[at]!, group: u32(view.bytes, at + IgmpRecordField.GROUP), sources });
    at += view.recordLengthAt(at);
  }
  return {
    type: view.type,
    maxRespCode: view.maxRespCode,
    group: view.type === IgmpType.V3_REPORT ? 0 : view.group,
    records,
    v3Query: view.isV3Query,
  };
}

export function igmpLength(repr: IgmpRepr): number {
  if (repr.type === IgmpType.V3_REPORT)
    return IGMP_HEADER_LEN + repr.records.reduce((n, r) => n + IGMPV3_RECORD_LEN + 4 * r.sources.length, 0);
  return repr.type === IgmpType.QUERY && repr.v3Query ? IGMPV3_QUERY_LEN : IGMP_HEADER_LEN;
}

/** Write the message with a zero checksum at `offset` (it covers whatever follows in the IP
 *  payload: see `checksumWithField`); returns its length. */
export function emitIgmp(repr: IgmpRepr, bytes: Uint8Array, offset: number): number {
  const length = igmpLength(repr);
  bytes.fill(0, offset, offset + length);
  bytes[offset + IgmpField.TYPE] = repr.type;
  if (repr.type !== IgmpType.V3_REPORT) {
    bytes[offset + IgmpField.MAX_RESP] = repr.maxRespCode;
    put32(bytes, offset + IgmpField.GROUP, repr.group);
    return length;
  }
  put16(bytes, offset + IgmpField.V3_RECORD_COUNT, repr.records.length);
  let at = offset + IGMP_HEADER_LEN;
  for (const r of repr.records) {
    bytes[at + IgmpRecordField.TYPE] = r.type;
    put16(bytes, at + IgmpRecordField.NSRCS, r.sources.length);
    put32(bytes, at + IgmpRecordField.GROUP, r.group);
    r.sources.forEach((s, i) => {
      put32(bytes, at + IgmpRecordField.SOURCES + 4 * i, s);
    });
    at += IGMPV3_RECORD_LEN + 4 * r.sources.length;
  }
  return length;
}
