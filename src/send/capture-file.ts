// Reading a capture file to replay: classic pcap (microsecond or nanosecond timestamps, either
// byte order) and pcapng (Section Header, Interface Description, Enhanced, Simple and the old
// Packet blocks, each section in its own byte order, if_tsresol honoured). Only Ethernet frames
// are replayed, and only whole ones: a frame cut by the capture's snaplen would be sent as
// something else, so the file is refused instead. Times come back relative to the first frame.
// `only` picks one interface of a pcapng file (forward --capture writes one per port) by its
// index in its section or by its if_name; the frames of the others are skipped.
// The file is held whole while it is replayed: it must be a regular file of at most MAX_CAPTURE
// bytes (a device or a pipe could be endless), and no more than that is ever read.

import { closeSync, fstatSync, openSync, readSync, type Stats } from 'node:fs';
import { quote } from '../grammar/quote.js';
import { usageError } from '../grammar/value.js';

export interface CapturedFrames {
  readonly frames: readonly Uint8Array[];
  /** Seconds after the first frame, never decreasing (a frame stamped earlier goes at once). */
  readonly times: readonly number[];
  readonly format: 'pcap' | 'pcapng';
}

const PCAP_MICROS = 0xa1b2c3d4;
const PCAP_NANOS = 0xa1b23c4d;
const PCAPNG_SECTION = 0x0a0d0d0a;
const PCAPNG_BYTE_ORDER = 0x1a2b3c4d;
const LINKTYPE_ETHERNET = 1;
const Block = { INTERFACE: 1, PACKET: 2, SIMPLE_PACKET: 3, ENHANCED_PACKET: 6 } as const;
const OPT_IF_NAME = 2;
const OPT_IF_TSRESOL = 9;

/** One interface of a capture: its index (in its pcapng section) or its name. */
export type CaptureInterface = number | string;

interface Stamped {
  bytes: Uint8Array;
  /** Nanoseconds, from the file's own epoch; null: the block carries no time (a Simple Packet). */
  ns: bigint | null;
}

/** The largest capture file send replays: it is held in memory while it is sent. */
export const MAX_CAPTURE = 256 * 1024 * 1024;

export function readCaptureFile(path: string, only: CaptureInterface | null = null): CapturedFrames {
  const fail = (why: string) => usageError(`--pcap ${quote(path)}: ${why}`);
  const data = readBounded(path, fail);
  if (data.length < 4) throw fail('too short for a pcap or pcapng file');
  let format: 'pcap' | 'pcapng';
  let stamped: Stamped[];
  if (data.readUInt32LE(0) === PCAPNG_SECTION) {
    format = 'pcapng';
    stamped = readPcapng(data, fail, only);
  } else if (
    [PCAP_MICROS, PCAP_NANOS].includes(data.readUInt32LE(0)) ||
    [PCAP_MICROS, PCAP_NANOS].includes(data.readUInt32BE(0))
  ) {
    format = 'pcap';
    if (only !== null && only !== 0) throw fail(`a pcap file has one interface, 0, not ${quote(String(only))}`);
    stamped = readPcap(data, fail);
  } else {
    throw fail(`neither pcap nor pcapng (it begins with ${data.subarray(0, 4).toString('hex')})`);
  }
  if (stamped.length === 0) throw fail('holds no frames');
  const first = stamped.find((s) => s.ns !== null)?.ns ?? 0n;
  const times: number[] = [];
  let last = 0;
  for (const s of stamped) {
    if (s.ns !== null) last = Math.max(last, Number(s.ns - first) / 1e9);
    times.push(last);
  }
  return { frames: stamped.map((s) => s.bytes), times, format };
}

type Fail = (why: string) => Error;

/** The file's bytes: a regular file, read up to MAX_CAPTURE and no further, however it changes meanwhile. */
function readBounded(path: string, fail: Fail): Buffer {
  const cannot = (err: unknown) =>
    usageError(`cannot read --pcap ${quote(path)}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    throw cannot(err);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw fail(`is not a regular file (${fileKind(st)}); send replays a capture file`);
    if (st.size > MAX_CAPTURE) {
      throw fail(`has ${st.size} bytes; send replays at most ${MAX_CAPTURE} (cut it with editcap -r or -c)`);
    }
    const data = Buffer.allocUnsafe(st.size);
    let got = 0;
    try {
      for (let n = 1; n > 0 && got < data.length; got += n) n = readSync(fd, data, got, data.length - got, got);
    } catch (err) {
      throw cannot(err);
    }
    return data.subarray(0, got);
  } finally {
    closeSync(fd);
  }
}

function fileKind(st: Stats): string {
  if (st.isDirectory()) return 'a directory';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isFIFO()) return 'a pipe';
  if (st.isSocket()) return 'a socket';
  return 'not a file';
}

function nth(n: number): string {
  return `frame ${n}`;
}

function whole(bytes: Uint8Array, original: number, n: number, fail: Fail): Uint8Array {
  if (bytes.length === 0) throw fail(`${nth(n)} is empty (0 bytes): there is nothing to send`);
  if (bytes.length < original) {
    throw fail(`${nth(n)} was captured cut short (${bytes.length} of ${original} bytes); only whole frames are sent`);
  }
  return bytes;
}

function readPcap(data: Buffer, fail: Fail): Stamped[] {
  const le = [PCAP_MICROS, PCAP_NANOS].includes(data.readUInt32LE(0));
  const u32 = (at: number) => (le ? data.readUInt32LE(at) : data.readUInt32BE(at));
  if (data.length < 24) throw fail('its pcap header is cut short');
  const nanos = u32(0) === PCAP_NANOS;
  const link = u32(20) & 0xffff;
  if (link !== LINKTYPE_ETHERNET) throw fail(`its link type is ${link}, not Ethernet (1)`);
  const out: Stamped[] = [];
  for (let at = 24; at < data.length; ) {
    const n = out.length + 1;
    if (at + 16 > data.length) throw fail(`${nth(n)}'s record header is cut short`);
    const sec = BigInt(u32(at));
    const frac = BigInt(u32(at + 4));
    const captured = u32(at + 8);
    const original = u32(at + 12);
    if (at + 16 + captured > data.length) throw fail(`${nth(n)} is cut short by the end of the file`);
    const bytes = Uint8Array.prototype.slice.call(data, at + 16, at + 16 + captured);
    out.push({ bytes: whole(bytes, original, n, fail), ns: sec * 1_000_000_000n + (nanos ? frac : frac * 1000n) });
    at += 16 + captured;
  }
  return out;
}

interface Interface {
  link: number;
  /** Timestamp units per second. */
  unitsPerSecond: bigint;
  /** if_name, when the file gives one. */
  name: string | null;
}

function readPcapng(data: Buffer, fail: Fail, only: CaptureInterface | null): Stamped[] {
  const out: Stamped[] = [];
  /** Every interface of every section, to say which exist when `only` names none of them. */
  const seen: string[] = [];
  const wanted = (id: number) =>
    only === null || (typeof only === 'number' ? id === only : interfaces[id]?.name === only);
  let le = true;
  let interfaces: Interface[] = [];
  const u16 = (at: number) => (le ? data.readUInt16LE(at) : data.readUInt16BE(at));
  const u32 = (at: number) => (le ? data.readUInt32LE(at) : data.readUInt32BE(at));
  const ts = (high: number, low: number, i: Interface) =>
    ((BigInt(high) * 0x1_0000_0000n + BigInt(low)) * 1_000_000_000n) / i.unitsPerSecond;
  const iface = (id: number, n: number) => {
    const i = interfaces[id];
    if (i === undefined) throw fail(`${nth(n)} names interface ${id}, which the file never describes`);
    if (i.link !== LINKTYPE_ETHERNET) throw fail(`${nth(n)} is on a link of type ${i.link}, not Ethernet (1)`);
    return i;
  };
  for (let at = 0; at < data.length; ) {
    if (at + 12 > data.length) throw fail(`a block at byte ${at} is cut short`);
    if (data.readUInt32LE(at) === PCAPNG_SECTION) {
      const magic = data.readUInt32LE(at + 8);
      if (magic !== PCAPNG_BYTE_ORDER && data.readUInt32BE(at + 8) !== PCAPNG_BYTE_ORDER) {
        throw fail(`the section at byte ${at} has no byte-order magic`);
      }
      le = magic === PCAPNG_BYTE_ORDER;
      interfaces = [];
    }
    const type = u32(at);
    const length = u32(at + 4);
    if (length < 12 || length % 4 !== 0 || at + length > data.length) {
      throw fail(`the block at byte ${at} has a length (${length}) that does not fit the file`);
    }
    const body = at + 8;
    const n = out.length + 1;
    if (type === Block.INTERFACE) {
      const i = { link: u16(body), ...interfaceOptions(data, body + 8, at + length - 4, u16) };
      seen.push(i.name === null ? String(interfaces.length) : `${interfaces.length} ${i.name}`);
      interfaces.push(i);
    } else if (type === Block.ENHANCED_PACKET || type === Block.PACKET) {
      const enhanced = type === Block.ENHANCED_PACKET;
      const id = enhanced ? u32(body) : u16(body);
      if (!wanted(id)) {
        at += length;
        continue;
      }
      const i = iface(id, n);
      const captured = u32(body + 12);
      const original = u32(body + 16);
      if (body + 20 + captured > at + length - 4) throw fail(`${nth(n)} runs past the end of its block`);
      const bytes = Uint8Array.prototype.slice.call(data, body + 20, body + 20 + captured);
      out.push({ bytes: whole(bytes, original, n, fail), ns: ts(u32(body + 4), u32(body + 8), i) });
    } else if (type === Block.SIMPLE_PACKET && wanted(0)) {
      iface(0, n);
      const original = u32(body);
      const captured = Math.min(original, length - 16);
      out.push({
        bytes: whole(Uint8Array.prototype.slice.call(data, body + 4, body + 4 + captured), original, n, fail),
        ns: null,
      });
    }
    at += length;
  }
  if (only !== null && out.length === 0) {
    const which = typeof only === 'number' ? `interface ${only}` : `an interface named ${quote(only)}`;
    throw fail(`holds no frames on ${which} (its interfaces: ${seen.join(', ') || 'none'})`);
  }
  return out;
}

/**
 * An Interface Description's options: if_tsresol (10^-v, or 2^-v when the high bit is set;
 * microseconds when absent) and if_name.
 */
function interfaceOptions(
  data: Buffer,
  from: number,
  to: number,
  u16: (at: number) => number,
): { unitsPerSecond: bigint; name: string | null } {
  let unitsPerSecond = 1_000_000n;
  let name: string | null = null;
  for (let at = from; at + 4 <= to; ) {
    const code = u16(at);
    const length = u16(at + 2);
    if (code === 0 || at + 4 + length > to) break;
    if (code === OPT_IF_TSRESOL && length >= 1) {
      const v = data[at + 4]!;
      unitsPerSecond = (v & 0x80) !== 0 ? 2n ** BigInt(v & 0x7f) : 10n ** BigInt(v);
    }
    if (code === OPT_IF_NAME) name = data.toString('utf8', at + 4, at + 4 + length).replace(/\0+$/, '');
    at += 4 + ((length + 3) & ~3);
  }
  return { unitsPerSecond, name };
}
