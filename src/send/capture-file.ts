// Reading a capture file to replay: classic pcap (microsecond or nanosecond timestamps, either
// byte order) and pcapng (Section Header, Interface Description, Enhanced, Simple and the old
// Packet blocks, each section in its own byte order, if_tsresol honoured). Only Ethernet frames
// are replayed, and only whole ones: a frame cut by the capture's snaplen would be sent as
// something else, so the file is refused instead. Times come back relative to the first frame.
// `only` picks one interface of a pcapng file (forward --capture writes one per port) by its
// index in its section or by its if_name; the frames of the others are skipped.
// The file is streamed, never held whole: a first pass checks every frame (a bad file is refused
// before anything is sent) and counts them, each replay reads it again from the start, and no more
// than one block (at most MAX_BLOCK bytes) and a read-ahead chunk are held at a time. It must be a
// regular file (a device or a pipe could be endless, and cannot be read twice).

import { closeSync, fstatSync, openSync, readSync, type Stats } from 'node:fs';
import { quote } from '../grammar/quote.js';
import { usageError } from '../grammar/value.js';

/** One frame of a capture, with its time: seconds after the first frame, never decreasing. */
export interface TimedFrame {
  readonly bytes: Uint8Array;
  readonly time: number;
}

/** A capture file, checked whole and open for replay. */
export interface CaptureStream {
  readonly format: 'pcap' | 'pcapng';
  /** How many frames one replay gives. */
  readonly count: number;
  /** The longest frame: its length, and its number from 1. */
  readonly longest: { readonly length: number; readonly n: number };
  /** The last frame's time (the length of one replay). */
  readonly seconds: number;
  /** A pass over the frames from the start, holding at most one block; throws if the file changed into a bad one. */
  replay(): Generator<TimedFrame>;
  close(): void;
}

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

/** The largest block (a frame and its options) read at once: a whole frame is at most 256 KiB in any capture tool. */
export const MAX_BLOCK = 16 * 1024 * 1024;
/** How much is read from the file at a time. */
const CHUNK = 256 * 1024;

/** Every frame at once: for a caller that wants them all in memory (send streams instead). */
export function readCaptureFile(path: string, only: CaptureInterface | null = null): CapturedFrames {
  const stream = openCaptureFile(path, only);
  try {
    const frames: Uint8Array[] = [];
    const times: number[] = [];
    for (const f of stream.replay()) {
      frames.push(f.bytes);
      times.push(f.time);
    }
    return { frames, times, format: stream.format };
  } finally {
    stream.close();
  }
}

/** Opens and checks PATH (one pass, nothing kept); replay() then streams it. */
export function openCaptureFile(path: string, only: CaptureInterface | null = null): CaptureStream {
  const fail = (why: string) => usageError(`--pcap ${quote(path)}: ${why}`);
  const cannot = (err: unknown) =>
    usageError(`cannot read --pcap ${quote(path)}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  const fd = openRegular(path, fail, cannot);
  try {
    const head = new FileBytes(fd, cannot);
    if (head.have(4) < 4) throw fail('too short for a pcap or pcapng file');
    let format: 'pcap' | 'pcapng';
    let records: () => Generator<Stamped>;
    if (head.data.readUInt32LE(0) === PCAPNG_SECTION) {
      format = 'pcapng';
      records = () => readPcapng(new FileBytes(fd, cannot), fail, only);
    } else if (
      [PCAP_MICROS, PCAP_NANOS].includes(head.data.readUInt32LE(0)) ||
      [PCAP_MICROS, PCAP_NANOS].includes(head.data.readUInt32BE(0))
    ) {
      format = 'pcap';
      if (only !== null && only !== 0) throw fail(`a pcap file has one interface, 0, not ${quote(String(only))}`);
      records = () => readPcap(new FileBytes(fd, cannot), fail);
    } else {
      throw fail(`neither pcap nor pcapng (it begins with ${head.data.subarray(0, 4).toString('hex')})`);
    }
    const replay = function* (): Generator<TimedFrame> {
      // Times count from the first frame that has one (a Simple Packet has none: it goes at once).
      let first: bigint | null = null;
      let last = 0;
      for (const s of records()) {
        if (s.ns !== null) {
          first ??= s.ns;
          last = Math.max(last, Number(s.ns - first) / 1e9);
        }
        yield { bytes: s.bytes, time: last };
      }
    };
    let count = 0;
    let seconds = 0;
    let longest = { length: 0, n: 0 };
    for (const f of replay()) {
      count++;
      seconds = f.time;
      if (f.bytes.length > longest.length) longest = { length: f.bytes.length, n: count };
    }
    if (count === 0) throw fail('holds no frames');
    return { format, count, longest, seconds, replay, close: () => closeSync(fd) };
  } catch (err) {
    closeSync(fd);
    throw err;
  }
}

type Fail = (why: string) => Error;

/** An fd on PATH, which must be a regular file. */
function openRegular(path: string, fail: Fail, cannot: (err: unknown) => Error): number {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    throw cannot(err);
  }
  const st = fstatSync(fd);
  if (!st.isFile()) {
    closeSync(fd);
    throw fail(`is not a regular file (${fileKind(st)}); send replays a capture file`);
  }
  return fd;
}

/**
 * A file read forward through a window that holds what the parser asked for and one chunk more:
 * `data` starts at the parser's position (`offset` bytes into the file).
 */
class FileBytes {
  private buf = Buffer.allocUnsafe(CHUNK);
  private start = 0;
  private end = 0;
  /** Where the next read from the file starts. */
  private readAt = 0;
  offset = 0;

  constructor(
    private readonly fd: number,
    private readonly cannot: (err: unknown) => Error,
  ) {}

  /** The bytes held from the position on. */
  get data(): Buffer {
    return this.buf.subarray(this.start, this.end);
  }

  /** Makes N bytes (at most MAX_BLOCK + 16) from the position available; returns how many are (fewer at the end). */
  have(n: number): number {
    if (this.end - this.start >= n) return n;
    if (this.start > 0) {
      this.buf.copy(this.buf, 0, this.start, this.end);
      this.end -= this.start;
      this.start = 0;
    }
    if (n + CHUNK > this.buf.length) {
      const bigger = Buffer.allocUnsafe(n + CHUNK);
      this.buf.copy(bigger, 0, 0, this.end);
      this.buf = bigger;
    }
    while (this.end < n) {
      let got: number;
      try {
        got = readSync(this.fd, this.buf, this.end, this.buf.length - this.end, this.readAt);
      } catch (err) {
        throw this.cannot(err);
      }
      if (got === 0) break;
      this.end += got;
      this.readAt += got;
    }
    return Math.min(n, this.end - this.start);
  }

  skip(n: number): void {
    this.start += n;
    this.offset += n;
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

/** A block or record longer than MAX_BLOCK is refused, not held. */
function tooLong(what: string, length: number): string {
  return `${what} is ${length} bytes long; send holds at most ${MAX_BLOCK} at once (is the file damaged?)`;
}

function* readPcap(b: FileBytes, fail: Fail): Generator<Stamped> {
  if (b.have(24) < 24) throw fail('its pcap header is cut short');
  const le = [PCAP_MICROS, PCAP_NANOS].includes(b.data.readUInt32LE(0));
  const u32 = (at: number) => (le ? b.data.readUInt32LE(at) : b.data.readUInt32BE(at));
  const nanos = u32(0) === PCAP_NANOS;
  const link = u32(20) & 0xffff;
  if (link !== LINKTYPE_ETHERNET) throw fail(`its link type is ${link}, not Ethernet (1)`);
  b.skip(24);
  for (let n = 1; ; n++) {
    const held = b.have(16);
    if (held === 0) return;
    if (held < 16) throw fail(`${nth(n)}'s record header is cut short`);
    const sec = BigInt(u32(0));
    const frac = BigInt(u32(4));
    const captured = u32(8);
    const original = u32(12);
    if (captured > MAX_BLOCK) throw fail(tooLong(nth(n), captured));
    if (b.have(16 + captured) < 16 + captured) throw fail(`${nth(n)} is cut short by the end of the file`);
    const bytes = Uint8Array.prototype.slice.call(b.data, 16, 16 + captured);
    b.skip(16 + captured);
    yield { bytes: whole(bytes, original, n, fail), ns: sec * 1_000_000_000n + (nanos ? frac : frac * 1000n) };
  }
}

interface Interface {
  link: number;
  /** Timestamp units per second. */
  unitsPerSecond: bigint;
  /** if_name, when the file gives one. */
  name: string | null;
}

function* readPcapng(b: FileBytes, fail: Fail, only: CaptureInterface | null): Generator<Stamped> {
  let n = 1;
  /** Every interface of every section, to say which exist when `only` names none of them. */
  const seen: string[] = [];
  const wanted = (id: number) =>
    only === null || (typeof only === 'number' ? id === only : interfaces[id]?.name === only);
  let le = true;
  let interfaces: Interface[] = [];
  const u16 = (at: number) => (le ? b.data.readUInt16LE(at) : b.data.readUInt16BE(at));
  const u32 = (at: number) => (le ? b.data.readUInt32LE(at) : b.data.readUInt32BE(at));
  const ts = (high: number, low: number, i: Interface) =>
    ((BigInt(high) * 0x1_0000_0000n + BigInt(low)) * 1_000_000_000n) / i.unitsPerSecond;
  const iface = (id: number) => {
    const i = interfaces[id];
    if (i === undefined) throw fail(`${nth(n)} names interface ${id}, which the file never describes`);
    if (i.link !== LINKTYPE_ETHERNET) throw fail(`${nth(n)} is on a link of type ${i.link}, not Ethernet (1)`);
    return i;
  };
  for (;;) {
    const at = b.offset;
    const held = b.have(12);
    if (held === 0) break;
    if (held < 12) throw fail(`a block at byte ${at} is cut short`);
    if (b.data.readUInt32LE(0) === PCAPNG_SECTION) {
      const magic = b.data.readUInt32LE(8);
      if (magic !== PCAPNG_BYTE_ORDER && b.data.readUInt32BE(8) !== PCAPNG_BYTE_ORDER) {
        throw fail(`the section at byte ${at} has no byte-order magic`);
      }
      le = magic === PCAPNG_BYTE_ORDER;
      interfaces = [];
    }
    const type = u32(0);
    const length = u32(4);
    if (length > MAX_BLOCK) throw fail(tooLong(`the block at byte ${at}`, length));
    if (length < 12 || length % 4 !== 0 || b.have(length) < length) {
      throw fail(`the block at byte ${at} has a length (${length}) that does not fit the file`);
    }
    const body = 8;
    let frame: Stamped | null = null;
    if (type === Block.INTERFACE) {
      const i = { link: u16(body), ...interfaceOptions(b.data, body + 8, length - 4, u16) };
      seen.push(i.name === null ? String(interfaces.length) : `${interfaces.length} ${i.name}`);
      interfaces.push(i);
    } else if (type === Block.ENHANCED_PACKET || type === Block.PACKET) {
      const enhanced = type === Block.ENHANCED_PACKET;
      const id = enhanced ? u32(body) : u16(body);
      if (wanted(id)) {
        const i = iface(id);
        const captured = u32(body + 12);
        const original = u32(body + 16);
        if (body + 20 + captured > length - 4) throw fail(`${nth(n)} runs past the end of its block`);
        const bytes = Uint8Array.prototype.slice.call(b.data, body + 20, body + 20 + captured);
        frame = { bytes: whole(bytes, original, n, fail), ns: ts(u32(body + 4), u32(body + 8), i) };
      }
    } else if (type === Block.SIMPLE_PACKET && wanted(0)) {
      iface(0);
      const original = u32(body);
      const captured = Math.min(original, length - 16);
      const bytes = Uint8Array.prototype.slice.call(b.data, body + 4, body + 4 + captured);
      frame = { bytes: whole(bytes, original, n, fail), ns: null };
    }
    b.skip(length);
    if (frame !== null) {
      n++;
      yield frame;
    }
  }
  if (only !== null && n === 1) {
    const which = typeof only === 'number' ? `interface ${only}` : `an interface named ${quote(only)}`;
    throw fail(`holds no frames on ${which} (its interfaces: ${seen.join(', ') || 'none'})`);
  }
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
