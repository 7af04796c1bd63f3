// The loop of `tapyard send`: write a plan of frames to one port on their schedule and read what
// comes back, until the plan is done and the expectation is met or has timed out. Frames in
// memory are written from one buffer built before the first is sent (a frame repeated N times is
// there once); a capture file is read as it is sent, a batch at a time, so no more than a batch
// of it is held (plan-frames.ts). Frames go in batches of the port's budget; a full device
// (EAGAIN) holds the schedule back until it drains, as the forwarder's egress does, so nothing is
// dropped for being early.

import { TapyardError } from '../error.js';
import { Frame } from '../frame/frame.js';
import { DropReason, txErrorReason } from '../port/drop.js';
import type { Port, RxBatch } from '../port/port.js';
import type { CaptureStream } from './capture-file.js';
import type { FrameMatch } from './match.js';
import { inMemory, type PlanFrames, streamed } from './plan-frames.js';
import { SendReason } from './reasons.js';

/** The longest delay a Node timer takes (2^31-1 ms); a longer one fires at once, with a warning. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export interface SendPlan {
  /** The frames of one round, in order: in memory, or a capture file read as they are sent. */
  readonly frames: readonly Uint8Array[] | CaptureStream;
  /**
   * Seconds from the round's start at which each frame is due ('captured': a capture file's own
   * times); null: `interval` apart.
   */
  readonly times: readonly number[] | 'captured' | null;
  /** Seconds between two frames when `times` is null; 0: as fast as the port takes them. */
  readonly interval: number;
  /** How many rounds: every frame is sent this many times. */
  readonly count: number;
}

export interface SendEvents {
  /** A frame the port took, with its place in the plan (from 0) and the seconds since the start. */
  sent(bytes: Uint8Array, index: number, at: number): void;
  /** A frame the device refused on write, under its reason (tx-EINVAL ...). */
  refused(bytes: Uint8Array, index: number, reason: string, at: number): void;
  /** A frame read back that matches the expectation. */
  matched(frame: Frame, at: number): void;
}

export interface SendOutcome {
  readonly planned: number;
  readonly sent: number;
  /** Frames read back from the port. */
  readonly received: number;
  readonly matched: number;
  /** Frames the device refused, frames read back that nobody asked for, frames left unsent. */
  readonly drops: Readonly<Record<string, number>>;
  /** null without --expect. */
  readonly expectationMet: boolean | null;
  /** Why the port failed, or null. */
  readonly fatal: TapyardError | null;
  /** Seconds from the first frame to the end. */
  readonly seconds: number;
}

export interface SendOptions {
  readonly expect: FrameMatch | null;
  /** How long to wait for a match once the last frame is sent. */
  readonly timeoutS: number;
  /** Resolves when the run must end now (a signal): the rest of the plan is counted unsent. */
  readonly stop: Promise<void>;
}

export function runSend(port: Port, plan: SendPlan, events: SendEvents, options: SendOptions): Promise<SendOutcome> {
  return new SendRun(port, plan, events, options).run();
}

/** PLAN's frames, read from where they are. */
function planFrames(plan: SendPlan, hdr: number, budget: number): PlanFrames {
  if (Array.isArray(plan.frames)) {
    return inMemory(plan.frames as readonly Uint8Array[], hdr, plan.times as readonly number[] | null);
  }
  return streamed(plan.frames as CaptureStream, hdr, budget);
}

/** Seconds from the start at which frame K of the whole plan (all rounds) is due. */
function schedule(plan: SendPlan, frames: PlanFrames): (k: number) => number {
  if (plan.times === null) return (k) => k * plan.interval;
  // The next round starts when the last frame of this one is sent.
  return (k) => Math.floor(k / frames.round) * frames.roundLength + frames.time(k);
}

/** One run of a plan: its schedule, what was sent and read back, and how it ends. */
class SendRun {
  private readonly planned: number;
  private readonly frames: PlanFrames;
  private readonly due: (k: number) => number;
  private readonly offsets: Uint32Array;
  private readonly lengths: Uint32Array;
  private readonly status: Int32Array;
  private readonly frame = new Frame();
  private next = 0;
  private sent = 0;
  private received = 0;
  private matched = 0;
  private fatal: TapyardError | null = null;
  private finish: () => void = () => {};
  private readonly finished = new Promise<void>((resolve) => {
    this.finish = resolve;
  });
  private over = false;
  private timer: NodeJS.Timeout | null = null;
  private started = process.hrtime.bigint();

  constructor(
    private readonly port: Port,
    plan: SendPlan,
    private readonly events: SendEvents,
    private readonly options: SendOptions,
  ) {
    const budget = Math.max(1, port.budget);
    this.frames = planFrames(plan, port.hdrLen, budget);
    this.planned = this.frames.round * plan.count;
    this.due = schedule(plan, this.frames);
    this.offsets = new Uint32Array(budget);
    this.lengths = new Uint32Array(budget);
    this.status = new Int32Array(budget);
  }

  async run(): Promise<SendOutcome> {
    const port = this.port;
    port.start({
      onBatch: (_port, batch: RxBatch) => this.readBack(batch),
      onWritable: () => {
        if (!this.over) this.pump();
      },
      onFatal: (_port, error) => {
        this.fatal = error;
        this.end();
      },
    });
    void this.options.stop.then(() => this.end());
    // A capture process needs a moment before it sees replies: nothing is sent before it does.
    await Promise.race([port.ready ?? Promise.resolve(), this.finished]);
    this.started = process.hrtime.bigint();
    if (!this.over) this.pump();
    await this.finished;
    if (this.timer !== null) clearTimeout(this.timer);
    const unsent = this.planned - this.next;
    if (unsent > 0) port.counters.drop(SendReason.UNSENT, unsent);
    return {
      planned: this.planned,
      sent: this.sent,
      received: this.received,
      matched: this.matched,
      drops: { ...port.counters.drops },
      expectationMet: this.options.expect === null ? null : this.matched > 0,
      fatal: this.fatal,
      seconds: this.elapsed(),
    };
  }

  private elapsed(): number {
    return Number(process.hrtime.bigint() - this.started) / 1e9;
  }

  private end(): void {
    if (this.over) return;
    this.over = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.finish();
  }

  // The wait ends when every frame sent has had its match (one frame: the first match, as srp1),
  // or at the timeout; the expectation is met by one match.
  private allMatched(): boolean {
    return this.next === this.planned && this.matched >= this.sent;
  }

  private afterLastFrame(): void {
    if (this.options.expect === null || this.allMatched()) {
      this.end();
      return;
    }
    const deadline = this.elapsed() + this.options.timeoutS;
    const wait = () => {
      const left = deadline - this.elapsed();
      if (left <= 0) this.end();
      else this.timer = setTimeout(wait, Math.min(left * 1000, MAX_TIMER_MS));
    };
    wait();
  }

  /** Write every frame that is due, then wait for the next one (or for room on the device). */
  private pump(): void {
    this.timer = null;
    if (this.over) return;
    try {
      this.writeDue();
    } catch (err) {
      // A capture file that changed into a bad one while it was replayed: the run ends on it.
      if (!(err instanceof TapyardError)) throw err;
      this.fatal = err;
      this.end();
    }
  }

  private writeDue(): void {
    const now = this.elapsed();
    const { planned, offsets } = this;
    let n = 0;
    while (this.next + n < planned && n < offsets.length && this.due(this.next + n) <= now) n++;
    if (n > 0 && this.write(n, now) < n) {
      // The device is full: go on when it says it can take more.
      this.port.setWantWritable(true);
      return;
    }
    if (this.next === planned) {
      this.afterLastFrame();
      return;
    }
    const wait = this.due(this.next) - this.elapsed();
    if (wait <= 0) setImmediate(() => this.pump());
    // A timer holds at most 2^31-1 ms (24.8 days; Node warns and fires at once above it): a longer
    // gap in a capture is waited out in steps, pump checking each time whether the frame is due.
    else this.timer = setTimeout(() => this.pump(), Math.min(wait * 1000, MAX_TIMER_MS));
  }

  /** Write the next N frames of the plan; how many the port took. */
  private write(n: number, now: number): number {
    const port = this.port;
    const status = this.status;
    const area = this.frames.place(this.next, n, this.offsets, this.lengths);
    const taken = port.send(area, this.offsets, this.lengths, n, status);
    for (let i = 0; i < taken; i++) {
      const bytes = this.frames.bytes(this.next + i);
      if (status[i] === 0) {
        this.sent++;
        port.counters.tx(bytes.length);
        this.events.sent(bytes, this.next + i, now);
      } else {
        const reason = txErrorReason(status[i]!);
        port.counters.drop(reason);
        this.events.refused(bytes, this.next + i, reason, now);
      }
    }
    this.next += taken;
    return taken;
  }

  /** Frames read back from the port: a match for the expectation, or one nobody asked for. */
  private readBack(batch: RxBatch): void {
    const port = this.port;
    const frame = this.frame;
    for (let i = 0; i < batch.count; i++) {
      this.received++;
      const length = batch.lengths[i]!;
      if (length < 0) {
        port.counters.drop(DropReason.TRUNCATED);
        continue;
      }
      port.counters.rx(length);
      frame.parse(batch.buf, batch.offsets[i]!, length);
      if (this.options.expect?.matches(frame)) {
        this.matched++;
        this.events.matched(frame, this.elapsed());
        if (this.allMatched() && !this.over) this.end();
      } else port.counters.drop(SendReason.NOT_EXPECTED);
    }
  }
}
