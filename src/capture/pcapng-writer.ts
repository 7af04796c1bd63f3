// Every frame tapyard reads, written to a pcapng file: one interface per port (named after it),
// so Wireshark or tcpdump shows on which port each frame arrived. Frames are copied into a
// buffer as they come and the buffer goes to the file when it fills, on a timer and at close,
// so capturing allocates nothing per frame and never waits for the disk per frame.
//
// Blocks (pcapng, draft-ietf-opsawg-pcapng): a Section Header, an Interface Description per
// port (link type Ethernet, if_name), then an Enhanced Packet per frame (interface id,
// microsecond timestamp, captured and original length) whose opt_comment is the frame's fate
// (fate-comment.ts): the loop tells it right after the frame, while the block is still in the
// buffer, so the comment is appended to the block in place. Little-endian throughout.

import { closeSync, ftruncateSync, openSync, writeSync } from 'node:fs';
import type { FrameFate, FrameObserver } from '../engine/forwarder.js';
import { TapyardError } from '../error.js';
import type { SourceGuard } from '../port/source-guard.js';
import { fateComment } from './fate-comment.js';

const BlockType = { SECTION_HEADER: 0x0a0d0d0a, INTERFACE: 0x00000001, ENHANCED_PACKET: 0x00000006 } as const;
const BYTE_ORDER_MAGIC = 0x1a2b3c4d;
const LINKTYPE_ETHERNET = 1;
const OPT_END = 0;
const OPT_COMMENT = 1;
const OPT_IF_NAME = 2;
/** The longest comment kept (bytes of UTF-8); a longer one is cut. Room for it is kept per block. */
const MAX_COMMENT = 1024;
/** opt_comment's header, the longest comment, opt_endofopt. */
const COMMENT_ROOM = 4 + MAX_COMMENT + 4;
/** Enhanced Packet Block without its data: 7 words of header and fields, 1 trailing length. */
const EPB_OVERHEAD = 32;
const BUFFER_BYTES = 4 * 1024 * 1024;
const FLUSH_MS = 250;
const STDOUT = 1;

export class PcapngWriter implements FrameObserver {
  private readonly fd: number;
  /** Where the last Enhanced Packet Block starts in the buffer, while it can take a comment; else -1. */
  private open = -1;
  private readonly buf = Buffer.alloc(BUFFER_BYTES);
  private used = 0;
  private timer: NodeJS.Timeout | null = null;
  private closed = false;
  /** Bytes in the file, all of them whole blocks: where a failed write is cut back to. */
  private written = 0;
  frames = 0;
  /** Why the capture stopped early (a full disk, a closed pipe), or null. */
  failure: string | null = null;
  /** Each port's source guard (a macvtap's spoof=), in port order, for the fates; none by default. */
  sourceGuards: readonly (SourceGuard | null)[] = [];
  private readonly spoofed = (port: number): SourceGuard['policy'] | null => {
    const guard = this.sourceGuards[port] ?? null;
    const start = this.open;
    if (guard === null || start < 0) return null;
    // The frame as frame() kept it, in the block still in the buffer.
    return guard.isForeign(this.buf, start + 28, this.buf.readUInt32LE(start + 20)) ? guard.policy : null;
  };

  constructor(
    readonly path: string,
    /** One interface per port, in port order: their names. */
    readonly interfaces: readonly string[],
    /** Bytes kept of each frame (the rest is counted in the original length). */
    readonly snaplen = 262144,
    /**
     * The capture could not be written and has stopped: it is a side channel, so the caller
     * decides whether the run goes on. The file ends at its last whole block.
     */
    private readonly onFailure: (sentence: string) => void = () => {},
  ) {
    try {
      // `-` is standard output, as tcpdump's `-w -`: `tapyard forward --capture - | wireshark -k -i -`.
      this.fd = path === '-' ? STDOUT : openSync(path, 'w');
    } catch (err) {
      throw new TapyardError(
        'ECAPTURE',
        `cannot write the capture ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`,
      );
    }
    this.sectionHeader();
    for (const name of interfaces) this.interfaceDescription(name);
    this.flush();
    if (!this.closed) {
      this.timer = setInterval(() => this.flush(), FLUSH_MS);
      this.timer.unref();
    }
  }

  /** One frame that arrived on interface `port`; `micros` is the capture time in microseconds. */
  frame(port: number, micros: number, bytes: Uint8Array, offset: number, length: number): void {
    if (this.closed) return;
    const kept = Math.min(length, this.snaplen);
    const padded = (kept + 3) & ~3;
    const total = EPB_OVERHEAD + padded;
    if (this.used + total + COMMENT_ROOM > this.buf.length) this.flush();
    if (total > this.buf.length) return; // larger than the whole buffer: cannot happen with the default snaplen
    const b = this.buf;
    let at = this.used;
    b.writeUInt32LE(BlockType.ENHANCED_PACKET, at);
    b.writeUInt32LE(total, at + 4);
    b.writeUInt32LE(port, at + 8);
    // A 64-bit timestamp in two halves: microseconds since 1970 exceed 2^32.
    const high = Math.floor(micros / 0x1_0000_0000);
    b.writeUInt32LE(high, at + 12);
    b.writeUInt32LE(micros - high * 0x1_0000_0000, at + 16);
    b.writeUInt32LE(kept, at + 20);
    b.writeUInt32LE(length, at + 24);
    at += 28;
    b.set(bytes.subarray(offset, offset + kept), at);
    b.fill(0, at + kept, at + padded);
    b.writeUInt32LE(total, at + padded);
    this.open = this.used;
    this.used += total;
    this.frames++;
  }

  /** The fate of the frame just written, as its comment. */
  fate(fate: FrameFate): void {
    this.comment(fateComment(fate, this.interfaces, this.spoofed));
  }

  /** Append an opt_comment to the frame frame() wrote last (once; later calls do nothing). */
  comment(text: string): void {
    const start = this.open;
    if (start < 0 || this.closed) return;
    this.open = -1;
    const b = this.buf;
    const total = b.readUInt32LE(start + 4);
    let at = start + total - 4; // over the old trailing length: options go before it
    // At most MAX_COMMENT bytes, and never half a character (Buffer.write stops before one).
    const length = b.write(text, at + 4, MAX_COMMENT, 'utf8');
    const padded = (length + 3) & ~3;
    b.writeUInt16LE(OPT_COMMENT, at);
    b.writeUInt16LE(length, at + 2);
    b.fill(0, at + 4 + length, at + 4 + padded);
    at += 4 + padded;
    b.writeUInt16LE(OPT_END, at);
    b.writeUInt16LE(0, at + 2);
    const grown = total + 4 + padded + 4;
    b.writeUInt32LE(grown, start + 4);
    b.writeUInt32LE(grown, start + grown - 4);
    this.used = start + grown;
  }

  close(): void {
    if (this.closed) return;
    this.flush();
    this.closed = true;
    if (this.timer !== null) clearInterval(this.timer);
    if (this.fd !== STDOUT) closeSync(this.fd);
  }

  private flush(): void {
    this.open = -1;
    if (this.used === 0 || this.closed) return;
    let done = 0;
    try {
      while (done < this.used) done += writeSync(this.fd, this.buf, done, this.used - done);
    } catch (err) {
      this.fail(err as NodeJS.ErrnoException);
      return;
    }
    this.written += this.used;
    this.used = 0;
  }

  private fail(err: NodeJS.ErrnoException): void {
    const code = err.code ?? 'EIO';
    const why: Record<string, string> = {
      ENOSPC: 'no space left on the device',
      EDQUOT: 'the disk quota is used up',
      EPIPE: 'the reading end of the pipe closed',
      EFBIG: 'the file is too large',
      EAGAIN: 'the reader is not keeping up',
    };
    const where = this.path === '-' ? 'on standard output' : this.path;
    this.failure = `the capture ${where} stopped after ${this.frames} frames: ${why[code] ?? code} (${code})`;
    this.closed = true;
    this.used = 0;
    if (this.timer !== null) clearInterval(this.timer);
    // A half-written block would make the whole file unreadable to some readers.
    if (this.fd !== STDOUT) {
      try {
        ftruncateSync(this.fd, this.written);
      } catch {
        // the sentence above is what matters; a file that cannot be cut stays as it is
      }
      closeSync(this.fd);
    }
    this.onFailure(this.failure);
  }

  private sectionHeader(): void {
    const b = this.buf;
    const at = this.used;
    b.writeUInt32LE(BlockType.SECTION_HEADER, at);
    b.writeUInt32LE(28, at + 4);
    b.writeUInt32LE(BYTE_ORDER_MAGIC, at + 8);
    b.writeUInt16LE(1, at + 12); // version 1.0
    b.writeUInt16LE(0, at + 14);
    b.writeInt32LE(-1, at + 16); // section length unknown
    b.writeInt32LE(-1, at + 20);
    b.writeUInt32LE(28, at + 24);
    this.used += 28;
  }

  private interfaceDescription(name: string): void {
    const text = Buffer.from(name, 'utf8');
    const optLen = 4 + ((text.length + 3) & ~3) + 4; // if_name, then opt_endofopt
    const total = 20 + optLen;
    const b = this.buf;
    let at = this.used;
    b.writeUInt32LE(BlockType.INTERFACE, at);
    b.writeUInt32LE(total, at + 4);
    b.writeUInt16LE(LINKTYPE_ETHERNET, at + 8);
    b.writeUInt16LE(0, at + 10);
    b.writeUInt32LE(this.snaplen, at + 12);
    at += 16;
    b.writeUInt16LE(OPT_IF_NAME, at);
    b.writeUInt16LE(text.length, at + 2);
    text.copy(b, at + 4);
    b.fill(0, at + 4 + text.length, at + 4 + ((text.length + 3) & ~3));
    at += 4 + ((text.length + 3) & ~3);
    b.writeUInt16LE(OPT_END, at);
    b.writeUInt16LE(0, at + 2);
    at += 4;
    b.writeUInt32LE(total, at);
    this.used += total;
  }
}
