// virtio_net_hdr: the 10-byte header a tap or macvtap fd puts before every frame when
// IFF_VNET_HDR is on (include/uapi/linux/virtio_net.h). Little-endian on every host
// tapyard runs on (legacy headers use native order; see docs/kernel-notes.md §3).
//
//  0      1         2        4         6           8            10
//  |flags |gso_type | hdr_len| gso_size| csum_start| csum_offset| (num_buffers: 12-byte form)

import { FrameError } from './error.js';

export const VnetField = {
  FLAGS: 0,
  GSO_TYPE: 1,
  HDR_LEN: 2,
  GSO_SIZE: 4,
  CSUM_START: 6,
  CSUM_OFFSET: 8,
  NUM_BUFFERS: 10,
} as const;

/** struct virtio_net_hdr. */
export const VNET_HDR_LEN = 10;
/** struct virtio_net_hdr_mrg_rxbuf / _v1: adds num_buffers. */
export const VNET_HDR_MRG_LEN = 12;

export const VnetFlag = { NEEDS_CSUM: 1, DATA_VALID: 2, RSC_INFO: 4 } as const;

export const GsoType = { NONE: 0, TCPV4: 1, UDP: 3, TCPV6: 4, UDP_L4: 5, ECN: 0x80 } as const;

/** Bit n set: gso_type n is one the kernel accepts (NONE, TCPV4, UDP, TCPV6, UDP_L4). */
const KNOWN_GSO =
  (1 << GsoType.NONE) | (1 << GsoType.TCPV4) | (1 << GsoType.UDP) | (1 << GsoType.TCPV6) | (1 << GsoType.UDP_L4);

export class VnetView {
  bytes: Uint8Array = new Uint8Array(VNET_HDR_LEN);
  offset = 0;

  wrap(bytes: Uint8Array, offset: number): this {
    this.bytes = bytes;
    this.offset = offset;
    return this;
  }

  get flags(): number {
    return this.bytes[this.offset + VnetField.FLAGS]!;
  }
  get gsoType(): number {
    return this.bytes[this.offset + VnetField.GSO_TYPE]!;
  }
  get hdrLen(): number {
    return this.u16(VnetField.HDR_LEN);
  }
  get gsoSize(): number {
    return this.u16(VnetField.GSO_SIZE);
  }
  get csumStart(): number {
    return this.u16(VnetField.CSUM_START);
  }
  get csumOffset(): number {
    return this.u16(VnetField.CSUM_OFFSET);
  }

  /** True when a plain sink (no vnet header) cannot take the frame as it is. */
  get needsOffload(): boolean {
    return this.gsoType !== GsoType.NONE || (this.flags & VnetFlag.NEEDS_CSUM) !== 0;
  }

  get isGso(): boolean {
    return this.gsoType !== GsoType.NONE;
  }

  /** The checks tap_get_user/virtio_net_hdr_to_skb make before accepting a write. */
  check(frameLength: number): FrameError | null {
    const gso = this.gsoType & ~GsoType.ECN;
    if (gso > 31 || ((KNOWN_GSO >>> gso) & 1) === 0) return FrameError.BAD_VNET_HDR;
    if (gso !== GsoType.NONE && this.gsoSize === 0) return FrameError.BAD_VNET_HDR;
    if (this.hdrLen > frameLength) return FrameError.BAD_VNET_HDR;
    if ((this.flags & VnetFlag.NEEDS_CSUM) !== 0 && this.csumStart + this.csumOffset + 2 > frameLength) {
      return FrameError.BAD_VNET_HDR;
    }
    return null;
  }

  /** Clear the header: a frame that needs no offload work. */
  clear(length: number = VNET_HDR_LEN): void {
    this.bytes.fill(0, this.offset, this.offset + length);
  }

  setFlags(flags: number): void {
    this.bytes[this.offset + VnetField.FLAGS] = flags;
  }

  /**
   * The frame grew or shrank by `delta` bytes in front of its network header (a VLAN tag pushed
   * or popped): the offsets into it that the kernel reads move with it.
   */
  shift(delta: number): void {
    if ((this.flags & VnetFlag.NEEDS_CSUM) !== 0) this.put16(VnetField.CSUM_START, this.csumStart + delta);
    if (this.gsoType !== GsoType.NONE && this.hdrLen > 0) this.put16(VnetField.HDR_LEN, this.hdrLen + delta);
  }

  private put16(field: number, value: number): void {
    const at = this.offset + field;
    this.bytes[at] = value & 0xff;
    this.bytes[at + 1] = value >>> 8;
  }

  private u16(field: number): number {
    const at = this.offset + field;
    return this.bytes[at]! | (this.bytes[at + 1]! << 8);
  }
}

/** A header as plain data, for building frames and for tests. */
export interface VnetRepr {
  flags: number;
  gsoType: number;
  hdrLen: number;
  gsoSize: number;
  csumStart: number;
  csumOffset: number;
}

export const NO_OFFLOAD: VnetRepr = { flags: 0, gsoType: 0, hdrLen: 0, gsoSize: 0, csumStart: 0, csumOffset: 0 };

export function vnetRepr(view: VnetView): VnetRepr {
  return {
    flags: view.flags,
    gsoType: view.gsoType,
    hdrLen: view.hdrLen,
    gsoSize: view.gsoSize,
    csumStart: view.csumStart,
    csumOffset: view.csumOffset,
  };
}

export function emitVnet(repr: VnetRepr, bytes: Uint8Array, offset: number): number {
  const put16 = (field: number, v: number) => {
    bytes[offset + field] = v & 0xff;
    bytes[offset + field + 1] = v >>> 8;
  };
  bytes[offset + VnetField.FLAGS] = repr.flags;
  bytes[offset + VnetField.GSO_TYPE] = repr.gsoType;
  put16(VnetField.HDR_LEN, repr.hdrLen);
  put16(VnetField.GSO_SIZE, repr.gsoSize);
  put16(VnetField.CSUM_START, repr.csumStart);
  put16(VnetField.CSUM_OFFSET, repr.csumOffset);
  return VNET_HDR_LEN;
}
