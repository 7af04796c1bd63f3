// IPv6 (RFC 8200) with its extension headers walked to the upper layer.
//
//  0                      4              6        7           8     24    40
//  | ver tclass flowlabel | payload len  | next   | hop limit | src | dst | ext headers... | upper
//
//  ext header:  | next | len | ...        len in 8-byte units beyond the first 8
//  fragment:    | next | 0   | offset(13) res(2) M(1) | identification(4) |      always 8 bytes
//  AH:          | next | len | ...        len in 4-byte units beyond the first 8 (RFC 4302)

import { EMPTY_BYTES, put16, put32, u16, u32 } from './bytes.js';
import { FrameError } from './error.js';
import { IPV6_ADDRESS_LEN, type Ipv6Address, readIpv6 } from './ip-address.js';
import { IpProtocol } from './ip-protocol.js';
import { ipv6OptionsValid } from './options.js';

export const Ipv6Field = {
  VERSION_CLASS_FLOW: 0,
  PAYLOAD_LENGTH: 4,
  NEXT_HEADER: 6,
  HOP_LIMIT: 7,
  SRC: 8,
  DST: 24,
} as const;

export const IPV6_HEADER_LEN = 40;

export const Ipv6ExtensionField = { NEXT_HEADER: 0, LENGTH: 1 } as const;
export const Ipv6FragmentField = { NEXT_HEADER: 0, OFFSET_FLAGS: 2, IDENTIFICATION: 4 } as const;
export const Ipv6RoutingField = { NEXT_HEADER: 0, LENGTH: 1, TYPE: 2, SEGMENTS_LEFT: 3, ADDRESSES: 8 } as const;
export const IPV6_FRAGMENT_HEADER_LEN = 8;
/** Every extension header is at least this long (AH carries 4 more bytes: SPI and sequence). */
const MIN_EXTENSION_LEN = 8;
const MIN_AH_LEN = 12;

/** Routing types whose data is a plain list of 16-byte addresses after an 8-byte header. */
const RoutingType = { SOURCE_ROUTE: 0, MOBILE_IPV6: 2, SEGMENT_ROUTING: 4 } as const;

/** Length of the extension header of type `protocol` at `at`, from its own length field. */
export function ipv6ExtensionLength(bytes: Uint8Array, at: number, protocol: number): number {
  if (protocol === IpProtocol.FRAGMENT) return IPV6_FRAGMENT_HEADER_LEN;
  const length = bytes[at + Ipv6ExtensionField.LENGTH]!;
  return protocol === IpProtocol.AH ? (length + 2) * 4 : (length + 1) * 8;
}

/**
 * A view over one IPv6 packet. `parse` re-points it and walks the extension headers, so that
 * `upperProtocol` / `upperOffset` name the first header that is not one (TCP, UDP, ICMPv6, ESP,
 * no-next-header, ...). A fragment header with a non-zero offset ends the walk: what follows it
 * is the middle of a datagram.
 */
export class Ipv6View {
  bytes: Uint8Array = EMPTY_BYTES;
  offset = 0;
  length = 0;
  payloadLength = 0;
  upperProtocol = 0;
  upperOffset = 0;
  /** Offset of the fragment header, -1 when there is none. */
  fragmentHeaderOffset = -1;
  /** Where the pseudo-header destination is: the final one of a routing header (RFC 8200 §8.1). */
  finalDestinationOffset = 0;

  parse(bytes: Uint8Array, offset: number, length: number): FrameError | null {
    this.bytes = bytes;
    this.offset = offset;
    this.length = length;
    this.payloadLength = 0;
    this.upperProtocol = 0;
    this.upperOffset = offset + IPV6_HEADER_LEN;
    this.fragmentHeaderOffset = -1;
    this.finalDestinationOffset = offset + Ipv6Field.DST;
    if (length < IPV6_HEADER_LEN) return FrameError.TRUNCATED;
    if (bytes[offset]! >>> 4 !== 6) return FrameError.BAD_HEADER;
    const payloadLength = u16(bytes, offset + Ipv6Field.PAYLOAD_LENGTH);
    if (IPV6_HEADER_LEN + payloadLength > length) return FrameError.BAD_LENGTH;
    this.payloadLength = payloadLength;
    const first = offset + IPV6_HEADER_LEN;
    const end = first + payloadLength;
    let next = bytes[offset + Ipv6Field.NEXT_HEADER]!;
    let at = first;
    for (;;) {
      let headerLength: number;
      switch (next) {
        case IpProtocol.HOP_BY_HOP:
        case IpProtocol.DESTINATION_OPTIONS:
          // Hop-by-hop options may only come first (RFC 8200 §4.1).
          if (next === IpProtocol.HOP_BY_HOP && at !== first) return FrameError.BAD_HEADER;
          if (at + MIN_EXTENSION_LEN > end) return FrameError.TRUNCATED;
          headerLength = (bytes[at + Ipv6ExtensionField.LENGTH]! + 1) * 8;
          if (at + headerLength > end) return FrameError.BAD_LENGTH;
          if (!ipv6OptionsValid(bytes, at + 2, at + headerLength)) return FrameError.BAD_OPTIONS;
          break;
        case IpProtocol.ROUTING:
          if (at + MIN_EXTENSION_LEN > end) return FrameError.TRUNCATED;
          headerLength = (bytes[at + Ipv6ExtensionField.LENGTH]! + 1) * 8;
          if (at + headerLength > end) return FrameError.BAD_LENGTH;
          this.noteFinalDestination(at, headerLength);
          break;
        case IpProtocol.FRAGMENT:
          if (at + IPV6_FRAGMENT_HEADER_LEN > end) return FrameError.TRUNCATED;
          headerLength = IPV6_FRAGMENT_HEADER_LEN;
          this.fragmentHeaderOffset = at;
          if ((u16(bytes, at + Ipv6FragmentField.OFFSET_FLAGS) & 0xfff8) !== 0) {
            this.upperProtocol = bytes[at]!;
            this.upperOffset = at + headerLength;
            return null;
          }
          break;
        case IpProtocol.AH:
          if (at + MIN_AH_LEN > end) return FrameError.TRUNCATED;
          headerLength = (bytes[at + Ipv6ExtensionField.LENGTH]! + 2) * 4;
          if (headerLength < MIN_AH_LEN || at + headerLength > end) return FrameError.BAD_LENGTH;
          break;
        default:
          this.upperProtocol = next;
          this.upperOffset = at;
          return null;
      }
      next = bytes[at + Ipv6ExtensionField.NEXT_HEADER]!;
      at += headerLength;
    }
  }

  /** With segments left, the packet's final destination is in the routing header, not in DST. */
  private noteFinalDestination(at: number, headerLength: number): void {
    if (this.bytes[at + Ipv6RoutingField.SEGMENTS_LEFT] === 0) return;
    const addresses = (headerLength - Ipv6RoutingField.ADDRESSES) >>> 4;
    if (addresses === 0) return;
    const type = this.bytes[at + Ipv6RoutingField.TYPE];
    if (type === RoutingType.SEGMENT_ROUTING) {
      // RFC 8754 §2: Segment List[0] is the last segment.
      this.finalDestinationOffset = at + Ipv6RoutingField.ADDRESSES;
    } else if (type === RoutingType.SOURCE_ROUTE || type === RoutingType.MOBILE_IPV6) {
      this.finalDestinationOffset = at + Ipv6RoutingField.ADDRESSES + IPV6_ADDRESS_LEN * (addresses - 1);
    }
  }

  get trafficClass(): number {
    return (u16(this.bytes, this.offset) >>> 4) & 0xff;
  }
  get flowLabel(): number {
    return u32(this.bytes, this.offset) & 0xfffff;
  }
  get nextHeader(): number {
    return this.bytes[this.offset + Ipv6Field.NEXT_HEADER]!;
  }
  get hopLimit(): number {
    return this.bytes[this.offset + Ipv6Field.HOP_LIMIT]!;
  }
  get srcOffset(): number {
    return this.offset + Ipv6Field.SRC;
  }
  get dstOffset(): number {
    return this.offset + Ipv6Field.DST;
  }
  get payloadOffset(): number {
    return this.offset + IPV6_HEADER_LEN;
  }
  /** Bytes of extension headers between the fixed header and the upper layer. */
  get extensionLength(): number {
    return this.upperOffset - this.offset - IPV6_HEADER_LEN;
  }
  get upperLength(): number {
    return this.offset + IPV6_HEADER_LEN + this.payloadLength - this.upperOffset;
  }
  /** Part of a fragmented datagram. An atomic fragment (offset 0, no M flag, RFC 6946) is whole. */
  get isFragment(): boolean {
    if (this.fragmentHeaderOffset < 0) return false;
    return (u16(this.bytes, this.fragmentHeaderOffset + Ipv6FragmentField.OFFSET_FLAGS) & 0xfff9) !== 0;
  }
  /** Not the first fragment: what follows the fragment header is not a header. */
  get isLaterFragment(): boolean {
    return this.fragmentHeaderOffset >= 0 && this.fragmentOffset !== 0;
  }
  /** In bytes; 0 without a fragment header. */
  get fragmentOffset(): number {
    if (this.fragmentHeaderOffset < 0) return 0;
    return u16(this.bytes, this.fragmentHeaderOffset + Ipv6FragmentField.OFFSET_FLAGS) & 0xfff8;
  }
  get moreFragments(): boolean {
    if (this.fragmentHeaderOffset < 0) return false;
    return (this.bytes[this.fragmentHeaderOffset + Ipv6FragmentField.OFFSET_FLAGS + 1]! & 1) === 1;
  }
  get fragmentIdentification(): number {
    if (this.fragmentHeaderOffset < 0) return 0;
    return u32(this.bytes, this.fragmentHeaderOffset + Ipv6FragmentField.IDENTIFICATION);
  }
}

/** One extension header as plain data: its type and the bytes after its first two. */
export interface Ipv6ExtensionRepr {
  protocol: number;
  /** 6 bytes for a fragment header, 8n + 6 for options and routing, 4n + 2 for AH. */
  body: Uint8Array;
}

export interface Ipv6Repr {
  trafficClass: number;
  flowLabel: number;
  hopLimit: number;
  src: Ipv6Address;
  dst: Ipv6Address;
  extensions: Ipv6ExtensionRepr[];
  /** The upper-layer protocol, after the extension headers. */
  protocol: number;
  /** Bytes after the extension headers. */
  payloadLength: number;
}

export function ipv6Repr(view: Ipv6View): Ipv6Repr {
  const extensions: Ipv6ExtensionRepr[] = [];
  let next = view.nextHeader;
  let at = view.payloadOffset;
  while (at < view.upperOffset) {
    const length = ipv6ExtensionLength(view.bytes, at, next);
    extensions.push({ protocol: next, body: view.bytes.slice(at + 2, at + length) });
    next = view.bytes[at]!;
    at += length;
  }
  return {
    trafficClass: view.trafficClass,
    flowLabel: view.flowLabel,
    hopLimit: view.hopLimit,
    src: readIpv6(view.bytes, view.srcOffset),
    dst: readIpv6(view.bytes, view.dstOffset),
    extensions,
    protocol: view.upperProtocol,
    payloadLength: view.upperLength,
  };
}

export function ipv6HeaderLength(repr: Ipv6Repr): number {
  let length = IPV6_HEADER_LEN;
  for (const ext of repr.extensions) length += 2 + ext.body.length;
  return length;
}

/** Write the fixed header and the extension headers at `offset`; returns their length. */
export function emitIpv6(repr: Ipv6Repr, bytes: Uint8Array, offset: number): number {
  const headerLength = ipv6HeaderLength(repr);
  put32(bytes, offset, (6 << 28) | ((repr.trafficClass & 0xff) << 20) | (repr.flowLabel & 0xfffff));
  put16(bytes, offset + Ipv6Field.PAYLOAD_LENGTH, headerLength - IPV6_HEADER_LEN + repr.payloadLength);
  bytes[offset + Ipv6Field.NEXT_HEADER] = repr.extensions[0]?.protocol ?? repr.protocol;
  bytes[offset + Ipv6Field.HOP_LIMIT] = repr.hopLimit;
  bytes.set(repr.src.subarray(0, IPV6_ADDRESS_LEN), offset + Ipv6Field.SRC);
  bytes.set(repr.dst.subarray(0, IPV6_ADDRESS_LEN), offset + Ipv6Field.DST);
  let at = offset + IPV6_HEADER_LEN;
  repr.extensions.forEach((ext, i) => {
    const length = 2 + ext.body.length;
    bytes[at] = repr.extensions[i + 1]?.protocol ?? repr.protocol;
    const lengthAt = at + Ipv6ExtensionField.LENGTH;
    if (ext.protocol === IpProtocol.FRAGMENT) bytes[lengthAt] = 0;
    else if (ext.protocol === IpProtocol.AH) bytes[lengthAt] = length / 4 - 2;
    else bytes[lengthAt] = length / 8 - 1;
    bytes.set(ext.body, at + 2);
    at += length;
  });
  return headerLength;
}
