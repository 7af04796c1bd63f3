// Loads the tapio addon (native/tapio.c): the syscalls and ioctls JavaScript cannot make.
// The types below are the whole native surface; see the C file for what each call does.

import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { TapyardError } from '../error.js';
import { packageRoot } from '../package-root.js';

export interface PollerHandle {
  /** Arm the poll for exactly these events; (false, false) stops it. */
  start(readable: boolean, writable: boolean): void;
  /** Readable batches are drained into this ring before the callback runs. */
  setRing(
    ring: Uint8Array,
    offsets: Uint32Array,
    lengths: Int32Array,
    hdrLen: number,
    headroom: number,
    budget: number,
  ): void;
  /**
   * Write the plain frames of each readable batch to `egressFd` from C (tapio.c, Splice), counting
   * them into `stats` ([rx frames, rx bytes, tx frames, tx bytes, spoofed]) and `egressStats`; the
   * rest go to the callback as before. With `egressGuard` (source-guard.ts: the egress's MAC and
   * mode), a frame with another source MAC is counted in egressStats[4] (count) or left to the
   * callback (drop), where JavaScript drops it under its reason. With `egressFilter` (an RxFilter's
   * spliceCell), only frames that filter accepts in any state go below JavaScript. -1 stops any
   * splice of this poller.
   */
  setSplice(
    egressFd: number,
    maxFrame?: Int32Array,
    stats?: Float64Array,
    egressStats?: Float64Array,
    egressGuard?: Uint8Array,
    egressFilter?: Uint8Array,
  ): void;
  /**
   * Like setSplice, into a guest's receive ring (vhost-user) instead of an fd: each frame the
   * ring can take whole goes in from C (tapio.c vr_give), the guest hears once per batch, and the
   * rest go to the callback. setSplice(-1) stops it.
   */
  spliceIntoRing(
    ring: VhostRingHandle,
    stats: Float64Array,
    egressStats: Float64Array,
    egressFilter?: Uint8Array,
  ): void;
  /**
   * This poller's fd is the kick of a guest's transmit ring: each kick walks up to `budget` chains
   * from C (tapio.c vr_take_to) and writes their frames to `egressFd`, as setSplice would; the
   * callback runs only when JavaScript must walk on (a chain C leaves to it). setSplice(-1) stops it.
   */
  setRingSource(
    ring: VhostRingHandle,
    budget: number,
    egressFd: number,
    maxFrame: Int32Array,
    stats: Float64Array,
    egressStats: Float64Array,
    egressGuard?: Uint8Array,
    egressFilter?: Uint8Array,
  ): void;
  close(): void;
}

/** A guest's virtqueue as C walks it (tapio.c VhostRing); virtqueue.ts owns and closes it. */
export interface VhostRingHandle {
  /** C stops touching the ring's memory (before it is unmapped, or when the ring stops). */
  close(): void;
}

export interface Tapio {
  openMacvtap(major: number, minor: number): number;
  attachTap(name: string, flags: number, netnsPath: string | null): { fd: number; name: string };
  packetSocket(ifname: string, protocol: number, netnsPath: string | null): number;
  /** A non-blocking unix datagram socket, bound to one path and/or connected to another. */
  unixDgram(bindPath: string | null, connectPath: string | null): number;
  close(fd: number): void;
  /** SIGNO reaches this process when its parent ends (PR_SET_PDEATHSIG). */
  parentDeathSignal(signo: number): void;
  /** The uid of the process on the other end of a unix stream socket (SO_PEERCRED). */
  peerUid(fd: number): number;
  /** SIGRTMIN..SIGRTMAX ignored: their default ends the process, and Node cannot listen to them. */
  ignoreRealtimeSignals(): void;
  tunGetIff(fd: number): { name: string; flags: number };
  tunSetOffload(fd: number, flags: number): void;
  tunSetVnetHdrSz(fd: number, size: number): void;
  hwaddr(fd: number): Buffer;
  ifMtu(ifname: string, netnsPath: string | null): number;
  /** A datagram socket made in that namespace: asks about its devices without entering it again. */
  nsSocket(netnsPath: string | null): number;
  ifStateAt(socketFd: number, ifname: string): { mtu: number; flags: number; index: number; mac: Buffer };
  /** A file opened read-only from inside a namespace (/proc/thread-self/net/... keeps showing that one). */
  nsOpenRead(netnsPath: string | null, path: string): number;
  /** A non-blocking NETLINK_ROUTE socket in that namespace, joined to these RTNLGRP_* groups. */
  rtnlSubscribe(netnsPath: string | null, groups: number[]): number;
  readBatch(
    fd: number,
    ring: Uint8Array,
    offsets: Uint32Array,
    lengths: Int32Array,
    hdrLen: number,
    headroom: number,
    budget: number,
  ): number;
  writeBatch(
    fd: number,
    buf: Uint8Array,
    offsets: Uint32Array,
    lengths: Uint32Array,
    count: number,
    status: Int32Array,
  ): number;
  /** A non-blocking unix stream socket listening on path, created with mode 0600 (vhost-user). */
  unixListen(path: string): number;
  /** A non-blocking connection to the unix stream socket at path; -1 while nobody listens there. */
  unixConnect(path: string): number;
  /** A waiting connection's fd (non-blocking), or -1 when none waits. */
  acceptConn(fd: number): number;
  /**
   * Up to `length` bytes into buf[offset..]: the count, 0 at the end of the stream, -1 when nothing
   * waits. The fds that came with them (SCM_RIGHTS) land in `fds`, the rest of it -1.
   */
  recvFds(fd: number, buf: Uint8Array, offset: number, length: number, fds: Int32Array): number;
  /** send() without blocking: the bytes the socket took. */
  sendAll(fd: number, buf: Uint8Array, length: number): number;
  /** `size` bytes of the file from `offset`, mapped shared read-write, as an ArrayBuffer over them. */
  mapShared(fd: number, size: number, offset: number): ArrayBuffer;
  /** Detach that ArrayBuffer (its views become empty) and unmap it. */
  unmapShared(buffer: ArrayBuffer): void;
  /** Read an eventfd's counter (0 when it was not signalled). */
  eventfdRead(fd: number): number;
  /** Signal an eventfd. */
  eventfdWrite(fd: number): void;
  Poller: new (fd: number, callback: (events: number, errno: number, count: number) => void) => PollerHandle;
  /**
   * A ring over `regions` (guest-physical base of each in `guestPhys`), its tables at `layout`:
   * [descRegion, descOffset, availRegion, availOffset, usedRegion, usedOffset, size]; `cells` is the
   * state C and virtqueue.ts share (RingCell). Throws when a table lies outside its region.
   */
  VhostRing: new (
    cells: Uint32Array,
    regions: Uint8Array[],
    guestPhys: number[],
    layout: number[],
  ) => VhostRingHandle;
}

/** Poll callback event bits. */
export const PollEvent = { READABLE: 1, WRITABLE: 2 } as const;

/** The largest frame a read can return (QEMU's NET_BUFSIZE): a 64 KiB GSO frame plus headers. */
export const MAX_FRAME = 65536 + 4096;

/** TUNSETIFF flags (include/uapi/linux/if_tun.h). */
export const TunFlag = {
  TUN: 0x0001,
  TAP: 0x0002,
  NO_PI: 0x1000,
  VNET_HDR: 0x4000,
  MULTI_QUEUE: 0x0100,
} as const;

/** TUNSETOFFLOAD flags. */
export const TunOffload = {
  CSUM: 0x01,
  TSO4: 0x02,
  TSO6: 0x04,
  TSO_ECN: 0x08,
  UFO: 0x10,
  USO4: 0x20,
  USO6: 0x40,
} as const;

/** Errors from the addon carry the errno name as `code`. */
export interface ErrnoError extends Error {
  code: string;
  errno: number;
}

export function isErrno(err: unknown, code?: string): err is ErrnoError {
  return (
    err instanceof Error &&
    typeof (err as ErrnoError).errno === 'number' &&
    (code === undefined || (err as ErrnoError).code === code)
  );
}

/** Where the addon is once built. */
/**
 * The addon this checkout built, or TAPYARD_ADDON: another build of the same source, as the test
 * of the rings' walk under AddressSanitizer loads it (test/integration/vring-asan.test.ts).
 */
export function addonPath(): string {
  return process.env.TAPYARD_ADDON ?? join(packageRoot(), 'build', 'Release', 'tapio.node');
}

function load(): Tapio {
  const path = addonPath();
  if (!existsSync(path)) {
    throw new TapyardError('ENOADDON', `the native addon is not built (${path}); run scripts/setup`);
  }
  return createRequire(import.meta.url)(path) as Tapio;
}

let loaded: Tapio | null = null;

/** The addon, loaded on first use so that pure-TypeScript users never need it. */
export function tapio(): Tapio {
  loaded ??= load();
  return loaded;
}

/** `/run/netns/NAME` for a namespace made by `ip netns add`, or null for the current one. */
export function netnsPath(name: string | undefined): string | null {
  if (name === undefined || name === '') return null;
  if (name.includes('/')) return name;
  return `/run/netns/${name}`;
}
