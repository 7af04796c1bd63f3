// An in-memory port: frames injected by a test come out as batches, frames sent are kept.
// It can play a full device (capacity) or one that refuses a frame (refuseNext), so the loop's
// back-pressure and accounting can be tested without root.

import type { Mac } from '../mac.js';
import { Counters } from './counters.js';
import { DEFAULT_BUDGET, HEADROOM, type Port, type PortKind, type PortListener, type RxBatch } from './port.js';

export interface MemoryPortOptions {
  /** What the port stands for, in messages (default `memory NAME`). */
  device?: string;
  hdrLen?: number;
  mac?: Mac | null;
  maxFrame?: number;
  offload?: boolean;
  budget?: number;
  /** Frames send() accepts before it reports the device full; Infinity by default. */
  capacity?: number;
  /** Frames longer than this arrive truncated (length -1), as from a read buffer that is too small. */
  readLimit?: number;
}

export class MemoryPort implements Port {
  readonly kind: PortKind = 'memory';
  readonly device: string;
  readonly counters = new Counters();
  readonly hdrLen: number;
  mac: Mac | null;
  readonly maxFrame: number;
  readonly offload: boolean;
  readonly budget: number;
  /** Every frame written to this port, vnet header included, in order. */
  readonly sent: Uint8Array[] = [];
  /** Free places left before send() stops at "EAGAIN". */
  capacity: number;

  private readonly pending: Uint8Array[] = [];
  private readonly batch: RxBatch;
  private readonly refusals: number[] = [];
  private readonly readLimit: number;
  private listener: PortListener | null = null;
  private reading = true;
  private wantWritable = false;
  private scheduled = false;
  private busy = false;
  private closed = false;

  constructor(
    readonly name: string,
    options: MemoryPortOptions = {},
  ) {
    this.device = options.device ?? `memory ${name}`;
    this.hdrLen = options.hdrLen ?? 0;
    this.mac = options.mac ?? null;
    this.maxFrame = options.maxFrame ?? 1518;
    this.offload = options.offload ?? false;
    this.capacity = options.capacity ?? Infinity;
    this.readLimit = options.readLimit ?? Infinity;
    this.budget = options.budget ?? DEFAULT_BUDGET;
    this.batch = {
      buf: new Uint8Array(this.budget * (HEADROOM + 65536 + 4096)),
      offsets: new Uint32Array(this.budget),
      lengths: new Int32Array(this.budget),
      count: 0,
    };
  }

  /** Queue frames to be read (each with its vnet header when hdrLen > 0). */
  inject(...frames: Uint8Array[]): void {
    this.pending.push(...frames);
    this.schedule();
  }

  /** The next frame sent will be refused with this errno, as the kernel refuses a bad write. */
  refuseNext(errno: number): void {
    this.refusals.push(errno);
  }

  /** Make room for `frames` more (a device draining its queue). */
  drain(frames: number): void {
    this.capacity += frames;
    if (this.wantWritable && this.capacity > 0) {
      this.wantWritable = false;
      setImmediate(() => this.listener?.onWritable(this));
    }
  }

  /** Frames injected but not yet read (held back while reading is off). */
  get backlog(): number {
    return this.pending.length;
  }

  start(listener: PortListener): void {
    this.listener = listener;
    this.schedule();
  }

  setReading(on: boolean): void {
    this.reading = on;
    if (on) this.schedule();
  }

  enterBusyPoll(): void {
    this.busy = true;
  }

  pollOnce(): void {
    this.deliver();
  }

  setWantWritable(on: boolean): void {
    this.wantWritable = on;
    if (on && this.capacity > 0) this.drain(0);
  }

  send(buf: Uint8Array, offsets: Uint32Array, lengths: Uint32Array, count: number, status: Int32Array): number {
    let i = 0;
    for (; i < count; i++) {
      if (this.capacity <= 0) break;
      const refusal = this.refusals.shift();
      if (refusal !== undefined) {
        status[i] = refusal;
        continue;
      }
      this.capacity--;
      this.sent.push(buf.slice(offsets[i]!, offsets[i]! + lengths[i]!));
      status[i] = 0;
    }
    return i;
  }

  close(): void {
    this.closed = true;
  }

  private schedule(): void {
    if (this.scheduled || this.busy || this.listener === null) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.deliver();
    });
  }

  /** One batch per turn, as a polled fd would give: at most `budget` frames. */
  private deliver(): void {
    if (this.closed || !this.reading || this.pending.length === 0) return;
    const { buf, offsets, lengths } = this.batch;
    let n = 0;
    let pos = 0;
    while (n < offsets.length && this.pending.length > 0) {
      const frame = this.pending.shift()!;
      offsets[n] = pos + HEADROOM;
      if (frame.length > this.readLimit) {
        lengths[n++] = -1;
        continue;
      }
      buf.set(frame, pos + HEADROOM - this.hdrLen);
      lengths[n++] = Math.max(0, frame.length - this.hdrLen);
      pos += HEADROOM + frame.length;
    }
    this.batch.count = n;
    this.listener!.onBatch(this, this.batch);
    this.schedule();
  }
}
