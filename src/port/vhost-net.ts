// Frames in and out of a virtio-net device's virtqueues (virtio 1.x §5.1.6): what tapyard reads
// from the guest's transmit queue and writes into its receive queue. Inside tapyard a frame has
// the 10-byte virtio_net_hdr before it, as on a tap; the guest's header is 12 bytes (num_buffers
// added) with VERSION_1 or MRG_RXBUF, and is converted here, once, each way.

import { GsoType, VNET_HDR_LEN, VNET_HDR_MRG_LEN, VnetFlag } from '../frame/vnet.js';
import { TunOffload } from './native.js';
import { VirtqReason, type Virtqueue } from './virtqueue.js';

/** What the guest negotiated that shapes its frames. */
export interface NetFeatures {
  /** 12 with VERSION_1 or MRG_RXBUF, else 10. */
  guestHdr: number;
  /** MRG_RXBUF: one frame may fill several receive buffers. */
  mergeable: boolean;
  /**
   * The offloads each way, as TunOffload flags: `toGuest` what it takes (GUEST_CSUM -> CSUM,
   * GUEST_TSO4/6 -> TSO4/6), `fromGuest` what it may send (CSUM, HOST_TSO4/6). 0 when absent.
   */
  toGuest?: number;
  fromGuest?: number;
}

/** Which offload a frame's virtio_net_hdr asks for, as TunOffload flags (0: a plain frame). */
function offloadOf(flags: number, gsoType: number): number {
  let need = (flags & VnetFlag.NEEDS_CSUM) !== 0 ? TunOffload.CSUM : 0;
  const gso = gsoType & ~GsoType.ECN;
  if (gso === GsoType.TCPV4) need |= TunOffload.TSO4;
  else if (gso === GsoType.TCPV6) need |= TunOffload.TSO6;
  // UDP fragmentation and segmentation are never negotiated here: such a frame can never pass.
  else if (gso !== GsoType.NONE) need |= OFFLOAD_NEVER;
  if ((gsoType & GsoType.ECN) !== 0) need |= TunOffload.TSO_ECN;
  return need;
}

/** A bit no negotiation ever grants. */
const OFFLOAD_NEVER = 0x10000;

/** The outcome of taking one chain from the transmit queue (a frame length is >= 0). */
export const TxTake = {
  /** Nothing available. */
  EMPTY: -1,
  /** The ring broke (its sentence is in ring.broken). */
  BROKEN: -2,
  /** The frame does not fit where it was to go: the chain stays available. */
  NO_ROOM: -3,
  /** The chain was malformed and was returned; `reason` says why. */
  DROPPED: -4,
} as const;

export class NetQueues {
  /** Why the last chain was dropped (a VirtqReason). */
  reason: string | null = null;
  /** Receive buffers the guest offered malformed, returned unused, and the last one's reason. */
  badRxBuffers = 0;
  badRxReason: string | null = null;
  /**
   * The receive buffers give() saw offered when its frame did not fit. The guest adds buffers from
   * another thread, so the ring read again a moment later may already hold more: a waiter that
   * compared with that later count would wait for a kick the guest, having offered them all, never
   * sends.
   */
  roomWhenFull = 0;
  private readonly header = new Uint8Array(VNET_HDR_MRG_LEN);

  constructor(readonly features: NetFeatures) {}

  /**
   * Take one frame the guest sent and copy it into dst so that it starts at `at`, its 10-byte
   * header just before (at - 10 >= 0, and `at - guestHdr` too). `room` is the bytes dst has
   * from `at` on. Returns the frame's length, or a TxTake code.
   */
  take(ring: Virtqueue, dst: Uint8Array, at: number, room: number, maxFrame: number): number {
    const pending = ring.pending();
    if (pending < 0) return TxTake.BROKEN;
    if (pending === 0) return TxTake.EMPTY;
    const head = ring.take(false);
    if (head < 0) return TxTake.BROKEN;
    const hdr = this.features.guestHdr;
    let reason = ring.reason;
    const total = reason === null ? ring.chainBytes() : 0;
    if (reason === null && total < hdr) reason = VirtqReason.CHAIN_TOO_SHORT;
    if (reason === null && total - hdr > maxFrame) reason = VirtqReason.CHAIN_TOO_BIG;
    if (reason !== null) {
      this.reason = reason;
      ring.put(head, 0);
      return TxTake.DROPPED;
    }
    if (total - hdr > room) {
      ring.untake(1);
      return TxTake.NO_ROOM;
    }
    ring.readChain(dst, at - hdr);
    // The 12-byte header's first 10 bytes are the 10-byte header: moved next to the frame.
    if (hdr !== VNET_HDR_LEN) dst.copyWithin(at - VNET_HDR_LEN, at - hdr, at - hdr + VNET_HDR_LEN);
    ring.put(head, 0);
    if (!this.allowed(dst[at - VNET_HDR_LEN]!, dst[at - VNET_HDR_LEN + 1]!, this.features.fromGuest)) {
      this.reason = VirtqReason.OFFLOAD_NOT_NEGOTIATED;
      return TxTake.DROPPED;
    }
    return total - hdr;
  }

  /**
   * Write one frame (its 10-byte header at buf[off], the frame behind it, `len` bytes in all)
   * into the guest's receive buffers: as many as it needs with MRG_RXBUF, else one. Returns
   * null when it went in; 'full' when the guest has not offered room enough yet (nothing was
   * taken); 'broken' when the ring broke; or a VirtqReason when the frame cannot ever fit.
   */
  give(ring: Virtqueue, buf: Uint8Array, off: number, len: number): null | 'full' | 'broken' | string {
    const { guestHdr: hdr, mergeable } = this.features;
    const frame = len - VNET_HDR_LEN;
    const header = this.header;
    for (let i = 0; i < VNET_HDR_LEN; i++) header[i] = buf[off + i]!;
    header[10] = 1;
    header[11] = 0;
    const toGuest = this.features.toGuest ?? 0;
    if (!this.allowed(header[0]!, header[1]!, toGuest)) return VirtqReason.OFFLOAD_NOT_NEGOTIATED;
    // DATA_VALID ("the checksum was checked") only means something to a guest with GUEST_CSUM.
    if ((toGuest & TunOffload.CSUM) === 0) header[0] = header[0]! & ~VnetFlag.DATA_VALID;
    const offered = ring.pending();
    let available = offered;
    // Chains taken (and returned) for this frame, so that a frame that does not fit leaves none.
    let taken = 0;
    let chains = 0;
    let frameDone = 0;
    let first: { bytes: Uint8Array; offset: number } | null = null;
    while (first === null || frameDone < frame) {
      const head = available > 0 ? ring.take(true) : -1;
      if (head < 0) {
        ring.untake(taken);
        ring.unput(taken);
        this.roomWhenFull = offered;
        return ring.broken !== null ? 'broken' : 'full';
      }
      available--;
      taken++;
      const segment = ring.firstSegment();
      // A chain collected without a reason has a first segment.
      if (ring.reason !== null || segment === null || (first === null && segment.length < hdr)) {
        // A buffer the guest made wrong: returned unused, and the frame tries the next one.
        this.badRxBuffers++;
        this.badRxReason = ring.reason ?? 'a first segment shorter than the virtio-net header';
        ring.put(head, 0);
        continue;
      }
      let used = 0;
      if (first === null) {
        if (!mergeable && ring.chainBytes() < hdr + frame) {
          ring.untake(taken);
          ring.unput(taken - 1);
          return VirtqReason.RX_NO_ROOM;
        }
        first = { bytes: segment.bytes, offset: segment.offset };
        used = ring.writeChain(header, 0, hdr, 0);
      }
      const n = ring.writeChain(buf, off + VNET_HDR_LEN + frameDone, frame - frameDone, used);
      frameDone += n;
      ring.put(head, used + n);
      chains++;
      if (!mergeable) break;
    }
    // num_buffers: how many buffers the frame took (1 without MRG_RXBUF).
    if (hdr === VNET_HDR_MRG_LEN) {
      first.bytes[first.offset + 10] = chains & 0xff;
      first.bytes[first.offset + 11] = chains >> 8;
    }
    return null;
  }

  /** Whether a frame with this header's flags and gso_type needs only offloads in `granted`. */
  private allowed(flags: number, gsoType: number, granted = 0): boolean {
    const need = offloadOf(flags, gsoType);
    return need === 0 || (need & ~granted) === 0;
  }
}
