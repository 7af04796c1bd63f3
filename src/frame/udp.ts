// UDP (RFC 768).
//
//  0          2          4        6          8
//  | src port | dst port | length | checksum | data...

import { EMPTY_BYTES, put16, u16 } from './bytes.js';
import { FrameError } from './error.js';

export const UdpField = { SRC_PORT: 0, DST_PORT: 2, LENGTH: 4, CHECKSUM: 6 } as const;
export const UDP_HEADER_LEN = 8;

/** A view over one UDP datagram. `length` is what the IP layer offers; the datagram is `udpLength`. */
export class UdpView {
  bytes: Uint8Array = EMPTY_BYTES;
  offset = 0;
  length = 0;
  udpLength = 0;

  parse(bytes: Uint8Array, offset: number, length: number): FrameError | null {
    this.bytes = bytes;
    this.offset = offset;
    this.length = length;
    this.udpLength = 0;
    if (length < UDP_HEADER_LEN) return FrameError.TRUNCATED;
    const udpLength = u16(bytes, offset + UdpField.LENGTH);
    // Shorter than the IP payload is legal (the rest is ignored); longer is not.
    if (udpLength < UDP_HEADER_LEN || udpLength > length) return FrameError.BAD_LENGTH;
    this.udpLength = udpLength;
    return null;
  }

  get srcPort(): number {
    return u16(this.bytes, this.offset + UdpField.SRC_PORT);
  }
  get dstPort(): number {
    return u16(this.bytes, this.offset + UdpField.DST_PORT);
  }
  /** 0 over IPv4 means "no checksum". */
  get checksum(): number {
    return u16(this.bytes, this.offset + UdpField.CHECKSUM);
  }
  get payloadOffset(): number {
    return this.offset + UDP_HEADER_LEN;
  }
  get payloadLength(): number {
    return this.udpLength - UDP_HEADER_LEN;
  }
}

export interface UdpRepr {
  srcPort: number;
  dstPort: number;
  payloadLength: number;
}

export function udpRepr(view: UdpView): UdpRepr {
  return { srcPort: view.srcPort, dstPort: view.dstPort, payloadLength: view.payloadLength };
}

/** Write the header with a zero checksum at `offset`; returns its length. */
export function emitUdp(repr: UdpRepr, bytes: Uint8Array, offset: number): number {
  put16(bytes, offset + UdpField.SRC_PORT, repr.srcPort);
  put16(bytes, offset + UdpField.DST_PORT, repr.dstPort);
  put16(bytes, offset + UdpField.LENGTH, UDP_HEADER_LEN + repr.payloadLength);
  put16(bytes, offset + UdpField.CHECKSUM, 0);
  return UDP_HEADER_LEN;
}
