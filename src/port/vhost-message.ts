// vhost-user messages (QEMU docs/interop/vhost-user.rst): a 12-byte header (request, flags, size,
// little-endian u32s), then `size` bytes of payload; fds ride along over SCM_RIGHTS. The
// front-end is a peer on a socket like any other: every size is checked against the request's
// payload before a field is read, and every fd is accounted for (used, or handed back to close).

import { readU64 } from './vhost-memory.js';

export const VhostRequest = {
  GET_FEATURES: 1,
  SET_FEATURES: 2,
  SET_OWNER: 3,
  RESET_OWNER: 4,
  SET_MEM_TABLE: 5,
  SET_VRING_NUM: 8,
  SET_VRING_ADDR: 9,
  SET_VRING_BASE: 10,
  GET_VRING_BASE: 11,
  SET_VRING_KICK: 12,
  SET_VRING_CALL: 13,
  SET_VRING_ERR: 14,
  GET_PROTOCOL_FEATURES: 15,
  SET_PROTOCOL_FEATURES: 16,
  GET_QUEUE_NUM: 17,
  SET_VRING_ENABLE: 18,
} as const;

export const HEADER_BYTES = 12;
/** The largest payload taken: the memory table with 8 regions is 264 bytes. */
export const MAX_PAYLOAD = 4096;
/** The most regions one SET_MEM_TABLE carries (VHOST_MEMORY_BASELINE_NREGIONS). */
export const MAX_REGIONS = 8;
const REGION_BYTES = 32;

/** Header flags: the protocol version in the low bits, a reply, and "ack this" (REPLY_ACK). */
export const HeaderFlag = { VERSION: 0x1, VERSION_MASK: 0x3, REPLY: 0x4, NEED_REPLY: 0x8 } as const;

/** In SET_VRING_KICK/CALL/ERR's u64: no fd came (the queue is polled instead). */
const VRING_NOFD = 0x100;

export interface Header {
  request: number;
  flags: number;
  size: number;
}

export interface RegionSpec {
  guestPhys: number;
  size: number;
  userAddr: number;
  mmapOffset: number;
  fd: number;
}

/** A request, its payload read. */
export type VhostMessage =
  | { type: 'bare'; request: number }
  | { type: 'u64'; request: number; value: bigint }
  | { type: 'state'; request: number; index: number; num: number }
  | { type: 'addr'; request: number; index: number; flags: number; desc: number; used: number; avail: number }
  | { type: 'file'; request: number; index: number; fd: number | null }
  | { type: 'memory'; request: number; regions: RegionSpec[] }
  | { type: 'unknown'; request: number };

const BARE = new Set<number>([
  VhostRequest.GET_FEATURES,
  VhostRequest.SET_OWNER,
  VhostRequest.RESET_OWNER,
  VhostRequest.GET_PROTOCOL_FEATURES,
  VhostRequest.GET_QUEUE_NUM,
]);
const U64 = new Set<number>([VhostRequest.SET_FEATURES, VhostRequest.SET_PROTOCOL_FEATURES]);
const STATE = new Set<number>([
  VhostRequest.SET_VRING_NUM,
  VhostRequest.SET_VRING_BASE,
  VhostRequest.GET_VRING_BASE,
  VhostRequest.SET_VRING_ENABLE,
]);
const FILE = new Set<number>([VhostRequest.SET_VRING_KICK, VhostRequest.SET_VRING_CALL, VhostRequest.SET_VRING_ERR]);

/** The name of a request for a sentence: `SET_MEM_TABLE`, or `request 42`. */
export function requestName(request: number): string {
  for (const [name, value] of Object.entries(VhostRequest)) if (value === request) return name;
  return `request ${request}`;
}

/** The header of a message; a sentence when it cannot be one (a wrong version, a huge size). */
export function parseHeader(bytes: Uint8Array): Header | string {
  const view = new DataView(bytes.buffer, bytes.byteOffset, HEADER_BYTES);
  const request = view.getUint32(0, true);
  const flags = view.getUint32(4, true);
  const size = view.getUint32(8, true);
  if ((flags & HeaderFlag.VERSION_MASK) !== HeaderFlag.VERSION)
    return `${requestName(request)} has protocol version ${flags & HeaderFlag.VERSION_MASK}, not 1`;
  if (size > MAX_PAYLOAD) return `${requestName(request)} announces ${size} bytes of payload (at most ${MAX_PAYLOAD})`;
  return { request, flags, size };
}

export interface Parsed {
  /** The message, or a sentence saying why it is not one. */
  message: VhostMessage | string;
  /** Fds that came with it and that it does not use: the caller closes them. */
  unused: number[];
}

/** The payload of a request whose header was `header`, with the fds that came with it. */
export function parseMessage(header: Header, payload: Uint8Array, fds: readonly number[]): Parsed {
  const { request } = header;
  const name = requestName(request);
  const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  const need = (bytes: number) =>
    payload.byteLength < bytes ? `${name} has ${payload.byteLength} bytes of payload, not ${bytes}` : null;
  const refuse = (sentence: string): Parsed => ({ message: sentence, unused: [...fds] });
  if (BARE.has(request)) return { message: { type: 'bare', request }, unused: [...fds] };
  if (U64.has(request)) {
    const short = need(8);
    if (short !== null) return refuse(short);
    return { message: { type: 'u64', request, value: view.getBigUint64(0, true) }, unused: [...fds] };
  }
  if (STATE.has(request)) {
    const short = need(8);
    if (short !== null) return refuse(short);
    const message = { type: 'state', request, index: view.getUint32(0, true), num: view.getUint32(4, true) } as const;
    return { message, unused: [...fds] };
  }
  if (request === VhostRequest.SET_VRING_ADDR) {
    const short = need(40);
    if (short !== null) return refuse(short);
    const message = {
      type: 'addr',
      request,
      index: view.getUint32(0, true),
      flags: view.getUint32(4, true),
      desc: readU64(view, 8),
      used: readU64(view, 16),
      avail: readU64(view, 24),
    } as const;
    return { message, unused: [...fds] };
  }
  if (FILE.has(request)) {
    const short = need(8);
    if (short !== null) return refuse(short);
    const value = view.getUint32(0, true);
    const index = value & 0xff;
    const noFd = (value & VRING_NOFD) !== 0;
    if (noFd) return { message: { type: 'file', request, index, fd: null }, unused: [...fds] };
    if (fds.length !== 1) return refuse(`${name} for queue ${index} came with ${fds.length} fds, not 1`);
    return { message: { type: 'file', request, index, fd: fds[0]! }, unused: [] };
  }
  if (request === VhostRequest.SET_MEM_TABLE) {
    const short = need(8);
    if (short !== null) return refuse(short);
    const count = view.getUint32(0, true);
    if (count === 0 || count > MAX_REGIONS) return refuse(`${name} has ${count} regions (1 to ${MAX_REGIONS})`);
    const sized = need(8 + REGION_BYTES * count);
    if (sized !== null) return refuse(sized);
    if (fds.length !== count) return refuse(`${name} has ${count} regions but came with ${fds.length} fds`);
    const regions: RegionSpec[] = [];
    for (let i = 0; i < count; i++) {
      const at = 8 + REGION_BYTES * i;
      const region = {
        guestPhys: readU64(view, at),
        size: readU64(view, at + 8),
        userAddr: readU64(view, at + 16),
        mmapOffset: readU64(view, at + 24),
        fd: fds[i]!,
      };
      const bad = badRegion(region, regions);
      if (bad !== null) return refuse(`${name}: region ${i} ${bad}`);
      regions.push(region);
    }
    return { message: { type: 'memory', request, regions }, unused: [] };
  }
  return { message: { type: 'unknown', request }, unused: [...fds] };
}

/** Why a region cannot be taken: empty, past 2^53, or overlapping an earlier one. */
function badRegion(r: RegionSpec, before: readonly RegionSpec[]): string | null {
  const limit = Number.MAX_SAFE_INTEGER;
  if (r.size === 0) return 'is empty';
  if (r.size > limit - r.guestPhys || r.size > limit - r.userAddr || r.size > limit - r.mmapOffset)
    return 'ends past 2^53';
  for (const o of before) {
    if (r.guestPhys < o.guestPhys + o.size && o.guestPhys < r.guestPhys + r.size)
      return 'overlaps another in the guest';
    if (r.userAddr < o.userAddr + o.size && o.userAddr < r.userAddr + r.size) return 'overlaps another in QEMU';
  }
  return null;
}

/** A reply to `request` carrying `payload`. */
export function encodeReply(request: number, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(HEADER_BYTES + payload.byteLength);
  const view = new DataView(out.buffer);
  view.setUint32(0, request, true);
  view.setUint32(4, HeaderFlag.VERSION | HeaderFlag.REPLY, true);
  view.setUint32(8, payload.byteLength, true);
  out.set(payload, HEADER_BYTES);
  return out;
}

export function u64Payload(value: bigint): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, value, true);
  return out;
}

export function statePayload(index: number, num: number): Uint8Array {
  const out = new Uint8Array(8);
  const view = new DataView(out.buffer);
  view.setUint32(0, index, true);
  view.setUint32(4, num, true);
  return out;
}
