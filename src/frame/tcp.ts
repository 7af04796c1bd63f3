// TCP (RFC 9293).
//
//  0          2          4     8     12            13      14       16         18       20
//  | src port | dst port | seq | ack | doff(4) rsv | flags | window | checksum | urgent | options...

import { EMPTY_BYTES, put16, put32, u16, u32 } from './bytes.js';
import { FrameError } from './error.js';
import { kindLengthOptionsValid } from './options.js';

export const TcpField = {
  SRC_PORT: 0,
  DST_PORT: 2,
  SEQ: 4,
  ACK: 8,
  DATA_OFFSET_FLAGS: 12,
  WINDOW: 14,
  CHECKSUM: 16,
  URGENT: 18,
  OPTIONS: 20,
} as const;

export const TCP_HEADER_LEN = 20;
export const TCP_MAX_HEADER_LEN = 60;

/** The low 12 bits after the data offset: 3 reserved bits, AE (once the ECN-nonce NS bit of
 *  RFC 3540, now Accurate ECN's), then the classic eight. */
export const TcpFlag = {
  FIN: 0x001,
  SYN: 0x002,
  RST: 0x004,
  PSH: 0x008,
  ACK: 0x010,
  URG: 0x020,
  ECE: 0x040,
  CWR: 0x080,
  AE: 0x100,
} as const;

/** A view over one TCP segment. `length` is what the IP layer offers: the segment ends there. */
export class TcpView {
  bytes: Uint8Array = EMPTY_BYTES;
  offset = 0;
  length = 0;
  headerLength = 0;

  parse(bytes: Uint8Array, offset: number, length: number): FrameError | null {
    this.bytes = bytes;
    this.offset = offset;
    this.length = length;
    this.headerLength = 0;
    if (length < TCP_HEADER_LEN) return FrameError.TRUNCATED;
    const headerLength = (bytes[offset + TcpField.DATA_OFFSET_FLAGS]! >>> 4) * 4;
    if (headerLength < TCP_HEADER_LEN) return FrameError.BAD_HEADER;
    if (headerLength > length) return FrameError.BAD_LENGTH;
    this.headerLength = headerLength;
    const options = offset + TCP_HEADER_LEN;
    if (headerLength > TCP_HEADER_LEN && !kindLengthOptionsValid(bytes, options, offset + headerLength)) {
      return FrameError.BAD_OPTIONS;
    }
    return null;
  }

  get srcPort(): number {
    return u16(this.bytes, this.offset + TcpField.SRC_PORT);
  }
  get dstPort(): number {
    return u16(this.bytes, this.offset + TcpField.DST_PORT);
  }
  get seq(): number {
    return u32(this.bytes, this.offset + TcpField.SEQ);
  }
  get ack(): number {
    return u32(this.bytes, this.offset + TcpField.ACK);
  }
  /** TcpFlag bits. */
  get flags(): number {
    return u16(this.bytes, this.offset + TcpField.DATA_OFFSET_FLAGS) & 0xfff;
  }
  get window(): number {
    return u16(this.bytes, this.offset + TcpField.WINDOW);
  }
  get checksum(): number {
    return u16(this.bytes, this.offset + TcpField.CHECKSUM);
  }
  get urgent(): number {
    return u16(this.bytes, this.offset + TcpField.URGENT);
  }
  get optionsLength(): number {
    return this.headerLength - TCP_HEADER_LEN;
  }
  get payloadOffset(): number {
    return this.offset + this.headerLength;
  }
  get payloadLength(): number {
    return this.length - this.headerLength;
  }
}

export interface TcpRepr {
  srcPort: number;
  dstPort: number;
  seq: number;
  ack: number;
  /** TcpFlag bits. */
  flags: number;
  window: number;
  urgent: number;
  /** Raw option bytes; emit pads them with End-of-options to a multiple of four. */
  options: Uint8Array;
  payloadLength: number;
}

export function tcpRepr(view: TcpView): TcpRepr {
  return {
    srcPort: view.srcPort,
    dstPort: view.dstPort,
    seq: view.seq,
    ack: view.ack,
    flags: view.flags,
    window: view.window,
    urgent: view.urgent,
    options: view.bytes.slice(view.offset + TCP_HEADER_LEN, view.offset + view.headerLength),
    payloadLength: view.payloadLength,
  };
}

export function tcpHeaderLength(repr: TcpRepr): number {
  return TCP_HEADER_LEN + Math.ceil(repr.options.length / 4) * 4;
}

/** Write the header with a zero checksum at `offset`; returns its length. */
export function emitTcp(repr: TcpRepr, bytes: Uint8Array, offset: number): number {
  const headerLength = tcpHeaderLength(repr);
  put16(bytes, offset + TcpField.SRC_PORT, repr.srcPort);
  put16(bytes, offset + TcpField.DST_PORT, repr.dstPort);
  put32(bytes, offset + TcpField.SEQ, repr.seq);
  put32(bytes, offset + TcpField.ACK, repr.ack);
  put16(bytes, offset + TcpField.DATA_OFFSET_FLAGS, ((headerLength / 4) << 12) | (repr.flags & 0xfff));
  put16(bytes, offset + TcpField.WINDOW, repr.window);
  put16(bytes, offset + TcpField.CHECKSUM, 0);
  put16(bytes, offset + TcpField.URGENT, repr.urgent);
  bytes.set(repr.options, offset + TcpField.OPTIONS);
  bytes.fill(0, offset + TcpField.OPTIONS + repr.options.length, offset + headerLength);
  return headerLength;
}

// tcpdump's flag letters, in its order; ACK is '.'. spec/tcp-flags.ts reads the same letters.
export const TCP_FLAG_LETTERS: ReadonlyArray<readonly [number, string]> = [
  [TcpFlag.SYN, 'S'],
  [TcpFlag.FIN, 'F'],
  [TcpFlag.PSH, 'P'],
  [TcpFlag.RST, 'R'],
  [TcpFlag.URG, 'U'],
  [TcpFlag.ECE, 'E'],
  [TcpFlag.CWR, 'W'],
  [TcpFlag.AE, 'e'],
  [TcpFlag.ACK, '.'],
];

/** Flags as tcpdump prints them: `S`, `S.`, `P.`, `F.`, `R`; `none` for no flag. */
export function formatTcpFlags(flags: number): string {
  let text = '';
  for (const [bit, letter] of TCP_FLAG_LETTERS) if ((flags & bit) !== 0) text += letter;
  return text === '' ? 'none' : text;
}
