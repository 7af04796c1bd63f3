// The impairments of one port, on the frames tapyard writes to it (as VDE's wirefilter impairs
// one direction of a wire): loss, delay with jitter, duplication, reordering, corruption and a
// token-bucket rate, drawn from a seeded generator so a run repeats exactly.
//
// A frame that nothing holds is written from where it lies, with the unimpaired ones: the
// forwarder queues it as usual. A frame that must wait (a delay, a reorder, a corrupted copy,
// too few tokens), and every frame behind one, is copied here, so that order is kept and the
// ring it came from can be reused. release() hands over what is due; the forwarder calls it
// from its one timer, at the time nextDue() names, and at the end of every batch.
//
// Per copy, in this order: loss (the frame is counted as impair-loss), dup (a second copy,
// counted as a clone), then for each copy corrupt (one random bit of the Ethernet frame, as
// netem flips one), delay ± jitter, reorder (held back until the next frame to the port has
// been scheduled, then sent right after it: the two swap places; if none comes within
// REORDER_WAIT_MS it goes on alone), and the token bucket. Jitter lets frames overtake each
// other, as netem's does.

import type { Counters } from '../port/counters.js';
import type { ImpairConfig } from './config.js';
import { Random } from './random.js';
import { ImpairReason } from './reason.js';
import { TokenBucket } from './token-bucket.js';

/** How long a frame held back for reorder= waits for one to swap with. */
export const REORDER_WAIT_MS = 10;
/** A queue's released head is cut off once it is this long (a queue that never empties). */
const COMPACT_AT = 1024;

interface Held {
  bytes: Uint8Array;
  /** When it may be written, in performance.now() milliseconds. */
  due: number;
}

/** Where release() writes a frame whose time has come (its vnet header first, if any). */
export interface ImpairOutput {
  write(bytes: Uint8Array): void;
}

/** What admit() did with the last frame, for the capture's comment. */
const Did = {
  LOST: 1,
  DUPLICATED: 2,
  CORRUPTED: 4,
  DELAYED: 8,
  HELD_BACK: 16,
  RATE: 32,
  OVER_LIMIT: 64,
  OVER_RATE: 128,
  DELAYED_TWICE: 256,
} as const;

export class Impairment {
  /** Frames written twice, corrupted, and held back to swap places with the next one. */
  duplicated = 0;
  corrupted = 0;
  reordered = 0;

  private readonly random: Random;
  private readonly bucket: TokenBucket | null;
  /** Frames held for their time, in the order they are due (a frame due with another goes after it). */
  private readonly line: Held[] = [];
  private lineHead = 0;
  /** Frames whose time has come, waiting for tokens; in order. */
  private readonly ready: Uint8Array[] = [];
  private readyHead = 0;
  /** A frame held back for reorder=, and until when it waits for a frame to follow. */
  private back: Held | null = null;
  private backUntil = 0;
  private did = 0;
  /** The delays the last frame's copies were given (two at most: dup=). */
  private firstDelay = 0;
  private secondDelay = 0;

  constructor(
    readonly config: ImpairConfig,
    /** Bytes of vnet header before each frame on this port. */
    private readonly hdrLen: number,
    private readonly counters: Counters,
    now: number,
  ) {
    this.random = new Random(config.seed);
    this.bucket = config.rateMbit === null ? null : new TokenBucket(config.rateMbit, now);
  }

  /** Frames held here: the ledger's queued. */
  get held(): number {
    return this.line.length - this.lineHead + this.ready.length - this.readyHead + (this.back === null ? 0 : 1);
  }

  /**
   * One frame for this port, bytes[start, start + total) with its vnet header. Returns how many
   * copies the caller writes from where the frame lies (0, 1 or 2, before any held here);
   * the rest were lost, counted, or copied here to be released later.
   */
  admit(bytes: Uint8Array, start: number, total: number, now: number): number {
    const c = this.config;
    const random = this.random;
    this.did = 0;
    if (c.loss > 0 && random.fraction() < c.loss) {
      this.counters.drop(ImpairReason.LOSS);
      this.did = Did.LOST;
      return 0;
    }
    let copies = 1;
    if (c.dup > 0 && random.fraction() < c.dup) {
      copies = 2;
      this.duplicated++;
      this.did |= Did.DUPLICATED;
    }
    let direct = 0;
    for (let k = 0; k < copies; k++) if (this.copy(bytes, start, total, now)) direct++;
    return direct;
  }

  /** Hand every frame whose time has come to `out`, in order. */
  release(now: number, out: ImpairOutput): void {
    if (this.back !== null && this.backUntil <= now) {
      // Nothing came to swap with: it goes on alone.
      const alone = this.back;
      this.back = null;
      this.enter(alone, now);
    }
    const line = this.line;
    while (this.lineHead < line.length && line[this.lineHead]!.due <= now) {
      const frame = line[this.lineHead++]!.bytes;
      if (this.bucket === null) out.write(frame);
      else this.toBucket(frame);
    }
    if (this.lineHead === line.length) this.lineHead = line.length = 0;
    else if (this.lineHead > COMPACT_AT) {
      line.splice(0, this.lineHead);
      this.lineHead = 0;
    }
    const bucket = this.bucket;
    if (bucket === null) return;
    const ready = this.ready;
    while (this.readyHead < ready.length && bucket.take(ready[this.readyHead]!.length - this.hdrLen, now)) {
      out.write(ready[this.readyHead++]!);
    }
    if (this.readyHead === ready.length) {
      this.readyHead = ready.length = 0;
      bucket.idle();
    } else if (this.readyHead > COMPACT_AT) {
      ready.splice(0, this.readyHead);
      this.readyHead = 0;
    }
  }

  /** When release() has something to hand over next; Infinity: nothing is held. */
  nextDue(): number {
    let next = Number.POSITIVE_INFINITY;
    if (this.lineHead < this.line.length) next = this.line[this.lineHead]!.due;
    if (this.back !== null && this.backUntil < next) next = this.backUntil;
    if (this.readyHead < this.ready.length) {
      const at = this.bucket!.readyAt(this.ready[this.readyHead]!.length - this.hdrLen);
      if (at < next) next = at;
    }
    return next;
  }

  /** tapyard stops: what is still held is counted, not written early. */
  shutdown(): void {
    const held = this.held;
    if (held > 0) this.counters.drop(ImpairReason.SHUTDOWN, held);
    this.line.length = this.lineHead = 0;
    this.ready.length = this.readyHead = 0;
    this.back = null;
  }

  /** What became of the last frame admitted, in words; null: written as it came. */
  describeLast(): string | null {
    const did = this.did;
    if (did === Did.LOST) return `dropped: ${ImpairReason.LOSS}`;
    const parts: string[] = [];
    if (did & Did.DUPLICATED) parts.push('duplicated');
    if (did & Did.CORRUPTED) parts.push('corrupted');
    if (did & Did.DELAYED) {
      const second = did & Did.DELAYED_TWICE ? ` and ${this.secondDelay.toFixed(1)} ms` : '';
      parts.push(`delayed ${this.firstDelay.toFixed(1)} ms${second}`);
    }
    if (did & Did.HELD_BACK) parts.push('held back (reorder)');
    if (did & Did.RATE) parts.push('waits for the rate');
    if (did & Did.OVER_LIMIT) parts.push(`dropped: ${ImpairReason.LIMIT}`);
    if (did & Did.OVER_RATE) parts.push(`dropped: ${ImpairReason.RATE}`);
    return parts.length === 0 ? null : parts.join(', ');
  }

  /** Behind the token bucket, unless limit= frames already wait there. */
  private toBucket(frame: Uint8Array): void {
    if (this.ready.length - this.readyHead >= this.config.limit) {
      this.counters.drop(ImpairReason.RATE);
      this.did |= Did.OVER_RATE;
    } else this.ready.push(frame);
  }

  /** One copy: true when it can be written from where it lies, now. */
  private copy(bytes: Uint8Array, start: number, total: number, now: number): boolean {
    const c = this.config;
    const random = this.random;
    const corrupt = c.corrupt > 0 && random.fraction() < c.corrupt;
    let delay = c.delayMs;
    if (c.jitterMs > 0) delay += (random.fraction() * 2 - 1) * c.jitterMs;
    const holdBack = c.reorder > 0 && random.fraction() < c.reorder;
    const length = total - this.hdrLen;
    if (!corrupt && delay <= 0 && !holdBack && this.held === 0) {
      if (this.bucket === null || this.bucket.take(length, now)) return true;
      this.did |= Did.RATE;
    }
    const frame: Held = { bytes: bytes.slice(start, start + total), due: now + delay };
    if (corrupt) {
      const at = this.hdrLen + random.below(length);
      frame.bytes[at] = frame.bytes[at]! ^ (1 << random.below(8));
      this.corrupted++;
      this.did |= Did.CORRUPTED;
    }
    if (delay > 0) {
      if (this.did & Did.DELAYED) {
        this.secondDelay = delay;
        this.did |= Did.DELAYED_TWICE;
      } else this.firstDelay = delay;
      this.did |= Did.DELAYED;
    }
    if (this.back !== null) {
      // The frame the held-back one waited for: this one first, that one right after it.
      const back = this.back;
      this.back = null;
      this.enter(frame, now);
      if (back.due < frame.due) back.due = frame.due;
      this.enter(back, now);
      this.reordered++;
    } else if (holdBack) {
      this.back = frame;
      this.backUntil = frame.due + REORDER_WAIT_MS;
      this.did |= Did.HELD_BACK;
    } else this.enter(frame, now);
    return false;
  }

  /**
   * Into the line, after every frame due at or before it. A frame whose time has come with
   * none ahead of it goes straight on to the token bucket; without one it waits in the line
   * for the end of the batch (release), where limit= does not count it: it is not delayed.
   */
  private enter(frame: Held, now: number): void {
    const line = this.line;
    const due = frame.due <= now;
    if (due && this.lineHead === line.length && this.bucket !== null) {
      this.toBucket(frame.bytes);
      return;
    }
    if (!due && line.length - this.lineHead >= this.config.limit) {
      this.counters.drop(ImpairReason.LIMIT);
      this.did |= Did.OVER_LIMIT;
      return;
    }
    let at = line.length;
    while (at > this.lineHead && line[at - 1]!.due > frame.due) at--;
    if (at === line.length) line.push(frame);
    else line.splice(at, 0, frame);
  }
}
