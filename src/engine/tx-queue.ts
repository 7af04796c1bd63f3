// One egress's queue, kept apart from the loop that fills it, as Snabb keeps link.lua (the ring
// between two apps) apart from app.lua (the engine that runs them). The forwarder decides and
// places copies; the queue writes them to its port in one batch, keeps in order what a full
// device did not take (the backlog), stops the ingresses that fed it until it drains, and writes
// what an impairment lets go. What the device answers is counted here, on the egress port.

import type { Impairment, ImpairOutput } from '../impair/impairment.js';
import { DropReason, txErrorReason } from '../port/drop.js';
import { COUNTED, type Port } from '../port/port.js';

/** Room for a batch of rewritten copies to start with (grown when a larger one comes). */
const REWRITE_SLOT = 1536;

/**
 * The ingress side of back-pressure, one for the whole forwarder: how many full egresses each
 * ingress waits for. It stops reading at the first and reads again when the last one drains.
 */
export class Feeders {
  /** Per port number; every port has its cell from the start. */
  private readonly waits: number[];

  constructor(
    private readonly ports: readonly Port[],
    /** Whether the forwarder still runs: a stopped one starts no port reading again. */
    private readonly running: () => boolean,
  ) {
    this.waits = ports.map(() => 0);
  }

  hold(ingress: number): void {
    if (this.waits[ingress]!++ === 0) this.ports[ingress]!.setReading(false);
  }

  release(ingress: number): void {
    if (--this.waits[ingress]! === 0 && this.running()) this.ports[ingress]!.setReading(true);
  }
}

/** Where a batch of a backlog is laid out for one send(); one for all the egresses of a forwarder. */
export class PackBuffer {
  bytes = new Uint8Array(64 * 1024);

  /** Room for `size` bytes (grown when a larger batch comes). */
  reserve(size: number): Uint8Array {
    if (this.bytes.length < size) this.bytes = new Uint8Array(Math.max(size, this.bytes.length * 2));
    return this.bytes;
  }
}

export interface TxQueueOptions {
  /** The egress. */
  readonly port: Port;
  /** Copies a batch can place here: a whole ingress batch, as it can fan out to every port. */
  readonly capacity: number;
  /** This egress's impairments, or null: the plain path. */
  readonly impairment: Impairment | null;
  readonly feeders: Feeders;
  readonly pack: PackBuffer;
}

/** Copies waiting for one egress, in order. */
export class TxQueue {
  /** The one buffer this batch's copies are in (the ingress ring, or `rewritten`); null when empty. */
  buf: Uint8Array | null = null;
  readonly offsets: Uint32Array;
  readonly lengths: Uint32Array;
  private readonly status: Int32Array;
  count = 0;
  /** Copies a full egress did not take, each with its header, oldest first. */
  readonly backlog: Uint8Array[] = [];
  readonly impairment: Impairment | null;
  /** Where the impairment's released copies are written. */
  readonly output: ImpairOutput = { write: (frame) => this.writeReleased(frame) };
  /** Copies rewritten for this egress (a VLAN tag pushed or popped), until the queue is flushed. */
  rewritten: Uint8Array | null = null;
  rewrittenAt = 0;

  private readonly port: Port;
  /** Ingress ports that stopped reading until this egress drains. */
  private readonly holding = new Set<number>();
  private readonly feeders: Feeders;
  private readonly pack: PackBuffer;

  constructor({ port, capacity, impairment, feeders, pack }: TxQueueOptions) {
    this.port = port;
    this.offsets = new Uint32Array(capacity);
    this.lengths = new Uint32Array(capacity);
    this.status = new Int32Array(capacity);
    this.impairment = impairment;
    this.feeders = feeders;
    this.pack = pack;
  }

  /** Queue buf[start, start + total) to be written at the end of the batch (or now, if full). */
  place(ingress: number, buf: Uint8Array, start: number, total: number): void {
    if (this.count > 0 && this.buf !== buf) this.flush(ingress);
    this.buf = buf;
    this.offsets[this.count] = start;
    this.lengths[this.count] = total;
    if (++this.count === this.offsets.length) this.flush(ingress);
  }

  /**
   * Where in the egress's own buffer a rewritten copy of `size` bytes goes. A queue writes one
   * buffer per batch, so copies still queued from the ingress ring are written first.
   */
  reserve(ingress: number, size: number): number {
    if (this.count > 0 && (this.buf !== this.rewritten || this.rewrittenAt + size > this.rewritten!.length))
      this.flush(ingress);
    if (this.rewritten === null || size > this.rewritten.length)
      this.rewritten = new Uint8Array(Math.max(size, this.offsets.length * REWRITE_SLOT));
    return this.rewrittenAt;
  }

  /** Write the queue; what a full device does not take waits aside, and the feeder pauses. */
  flush(ingress: number): void {
    const port = this.port;
    const buf = this.buf!;
    const sent = port.send(buf, this.offsets, this.lengths, this.count, this.status);
    for (let i = 0; i < sent; i++) this.account(this.status[i]!, this.lengths[i]! - port.hdrLen);
    if (sent < this.count) {
      for (let i = sent; i < this.count; i++)
        this.backlog.push(buf.slice(this.offsets[i]!, this.offsets[i]! + this.lengths[i]!));
      this.hold(ingress);
      port.setWantWritable(true);
    }
    this.count = 0;
    this.buf = null;
    this.rewrittenAt = 0;
  }

  /** Stop `ingress` reading until this egress drains. */
  hold(ingress: number): void {
    if (this.holding.has(ingress)) return;
    this.holding.add(ingress);
    this.feeders.hold(ingress);
  }

  /**
   * The egress can take more: the backlog goes out a batch per send, as the frames came (one
   * frame per send would cost a system call, or a ring publish and interrupt, each, just when
   * the egress is the bottleneck). Once it is empty, the ingresses it held read again.
   */
  drain(): void {
    const port = this.port;
    while (this.backlog.length > 0) {
      const count = this.packBacklog();
      const sent = port.send(this.pack.bytes, this.offsets, this.lengths, count, this.status);
      for (let i = 0; i < sent; i++) this.account(this.status[i]!, this.lengths[i]! - port.hdrLen);
      this.backlog.splice(0, sent);
      if (sent < count) {
        port.setWantWritable(true);
        return;
      }
    }
    for (const ingress of this.holding) this.feeders.release(ingress);
    this.holding.clear();
  }

  /** The forwarder stops: what still waits is counted as dropped, and the impairment lets go of its own. */
  shutdown(): void {
    if (this.backlog.length > 0) this.port.counters.drop(DropReason.SHUTDOWN, this.backlog.length);
    this.backlog.length = 0;
    this.impairment?.shutdown();
  }

  /** Copy the oldest backlog frames (up to a batch) into the pack buffer, laid out as send() wants them. */
  private packBacklog(): number {
    const count = Math.min(this.backlog.length, this.offsets.length);
    let bytes = 0;
    for (let i = 0; i < count; i++) bytes += this.backlog[i]!.length;
    const out = this.pack.reserve(bytes);
    let at = 0;
    for (let i = 0; i < count; i++) {
      const frame = this.backlog[i]!;
      out.set(frame, at);
      this.offsets[i] = at;
      this.lengths[i] = frame.length;
      at += frame.length;
    }
    return count;
  }

  /** A copy an impairment released: written now, or behind the egress's backlog. */
  private writeReleased(frame: Uint8Array): void {
    const port = this.port;
    if (this.backlog.length === 0) {
      this.offsets[0] = 0;
      this.lengths[0] = frame.length;
      if (port.send(frame, this.offsets, this.lengths, 1, this.status) === 1) {
        this.account(this.status[0]!, frame.length - port.hdrLen);
        return;
      }
      port.setWantWritable(true);
    }
    this.backlog.push(frame);
  }

  private account(errno: number, bytes: number): void {
    if (errno === 0) this.port.counters.tx(bytes);
    else if (errno !== COUNTED) this.port.counters.drop(txErrorReason(errno));
  }
}
