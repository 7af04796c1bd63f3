// A Port is where frames enter and leave tapyard: a macvtap, a tap, a pcap handle, or memory.
// Every port speaks in batches over a ring of bytes it owns, and keeps its own counters.

import type { TapyardError } from '../error.js';
import { formatMac, type Mac } from '../mac.js';
import type { Counters } from './counters.js';
import type { KernelDrops } from './kernel-drops.js';
import type { VhostRingHandle } from './native.js';

/**
 * Frames a port has just read. Frame i starts at buf[offsets[i]] and is lengths[i] bytes long
 * (-1: the kernel truncated it); its vnet header, when the port has one, is the hdrLen bytes
 * just before it, and there is always room for one (HEADROOM) so a header can be added in place.
 * Valid only during the onBatch call: the port reuses the ring for the next batch.
 */
export interface RxBatch {
  buf: Uint8Array;
  offsets: Uint32Array;
  lengths: Int32Array;
  count: number;
}

export interface PortListener {
  onBatch(port: Port, batch: RxBatch): void;
  onWritable(port: Port): void;
  /** The port cannot go on (its device was deleted, its fd failed): one clear sentence. */
  onFatal(port: Port, error: TapyardError): void;
  /** Something about the device changed that the user should hear of (its MTU): one sentence. */
  onNote?(port: Port, sentence: string): void;
  /**
   * A VM's NIC on this port negotiated the offloads it takes (TunOffload flags: CSUM, TSO4, ...):
   * the devices that hand the loop offloaded frames should hand it only those, as QEMU's tap
   * backend follows its guest (tap_set_offload). 0 when the VM went away.
   */
  onGuestOffloads?(port: Port, flags: number): void;
}

export type PortKind = 'macvtap' | 'tap' | 'pcap' | 'memory' | 'qemu' | 'guest' | 'vhost-user';

/**
 * A send() status: the port dropped that frame itself and counted it under a named reason (a
 * guest whose buffers cannot hold it), so the loop counts nothing more.
 */
export const COUNTED = -1;

/** Bytes reserved before every frame in a ring: room for the largest vnet header tapyard uses. */
export const HEADROOM = 12;

/** Frames per read batch, and per turn of a port in the loop. */
export const DEFAULT_BUDGET = 64;

/** A port that splices into another: told when the other's end changes (it settles, a ring restarts, it closes). */
export interface SpliceSource {
  spliceTo(peer: Port | null, peerFilter?: Uint8Array | null): boolean;
  applySplice(): void;
}

/** An fd port's end of a splice, for a splice from a port of another kind (vhost-user). */
export interface SpliceEgress {
  readonly fd: number;
  /** Its largest frame without GSO (the addon reads it on each frame). */
  readonly maxFrame: Int32Array;
  /** Its Counters.spliced. */
  readonly spliced: Float64Array;
  /** Its source guard's cell (source-guard.ts), if it has one. */
  readonly guard: Uint8Array | undefined;
}

export interface Port {
  readonly name: string;
  readonly kind: PortKind;
  /** The device behind the port, e.g. "macvtap ty-1a2b3-mvt". */
  readonly device: string;
  readonly counters: Counters;
  /** Length of the virtio_net_hdr before each frame: 0 (none) or 10. */
  readonly hdrLen: number;
  /** The device's MAC when it has one. */
  readonly mac: Mac | null;
  /** The largest frame without GSO the device will carry (MTU + Ethernet + one VLAN tag). */
  readonly maxFrame: number;
  /** Whether the device was asked for offloaded (GSO / NEEDS_CSUM) frames on read. */
  readonly offload: boolean;
  /** The most frames one batch (one turn of this port in the loop) holds. */
  readonly budget: number;

  /**
   * What the kernel dropped on this port's device since it was opened, outside tapyard's own
   * counters (docs/drop-reasons.md), read now; absent where the device has no such counters.
   */
  kernelDrops?(): KernelDrops;

  /** Begin delivering batches and events to `listener`. */
  start(listener: PortListener): void;
  /** Resolves once the port really receives (a capture process may take a moment to open). */
  readonly ready?: Promise<void>;
  /** Stop reading (back-pressure) or resume. Frames wait in the kernel meanwhile. */
  setReading(on: boolean): void;
  /**
   * Busy polling, for ports that can: stop waiting for readiness (each wake-up of a sleeping
   * loop costs tens of microseconds of latency here) and read only when pollOnce() is called.
   */
  enterBusyPoll?(): void;
  /** Read one batch now, if there is one and reading is on. */
  pollOnce?(): void;
  /**
   * For a plain cross-connect, ports that can: write every frame read here that needs nothing
   * of the loop straight to `peer`, below JavaScript, and hand only the others to the listener
   * (fd-port.ts). Counted in both ports' counters as if the loop had written them. Returns
   * whether it could (fd ports, or an fd port and a vhost-user port, with the same header
   * length); null stops it. `peerFilter` is the receive filter the peer plays (RxFilter
   * spliceCell): only what it accepts in any state goes below JavaScript.
   */
  spliceTo?(peer: Port | null, peerFilter?: Uint8Array | null): boolean;
  /** The port whose splice writes into this one, told when what it writes into changes; or null. */
  acceptSplice?(source: SpliceSource | null): void;
  /** Where a splice writes into this port as an fd (fd-port.ts): null while it cannot. */
  spliceEgress?(): SpliceEgress | null;
  /** Where a splice writes into this port as a guest's receive ring (vhost-user.ts): null while none runs. */
  spliceRing?(): VhostRingHandle | null;
  /**
   * Ask the device for offloaded frames of these kinds only (TUNSETOFFLOAD): for a port opened
   * with offload=on, following the guest it feeds (onGuestOffloads). Others ignore it.
   */
  setOffloads?(flags: number): void;
  /** Ask for one onWritable call when the device can take frames again. */
  setWantWritable(on: boolean): void;
  /**
   * Write frames buf[offsets[i] .. +lengths[i]) (vnet header included when hdrLen > 0).
   * status[i] is 0, the errno of a frame the device refused, or COUNTED. Returns the frames consumed;
   * fewer than `count` means the device is full (EAGAIN): the rest were not written.
   */
  send(buf: Uint8Array, offsets: Uint32Array, lengths: Uint32Array, count: number, status: Int32Array): number;
  /** Stop polling and release the device. Safe to call twice. */
  close(): void;
  /**
   * Close once every frame already sent has reached the device: for a port that hands frames to
   * another process (pcap), where close() drops what is still on the way. Other ports need none.
   */
  closeAfterSent?(): Promise<void>;
}

/** Largest frame a device with this MTU carries: Ethernet header plus one VLAN tag. */
export function maxFrameForMtu(mtu: number): number {
  return mtu + 14 + 4;
}

/** A port in the banner: `wire (macvtap ty-1-mvt, 02:..., vnet 10)`. */
export function describePort(port: Port): string {
  const extras = [
    port.mac === null ? null : formatMac(port.mac),
    port.hdrLen > 0 ? `vnet ${port.hdrLen}` : null,
    port.offload ? 'offload' : null,
  ];
  return `${port.name} (${port.device}${extras
    .filter((x) => x !== null)
    .map((x) => `, ${x}`)
    .join('')})`;
}
