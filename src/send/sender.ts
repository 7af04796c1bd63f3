// The loop of `tapyard send`: write a plan of frames to one port on their schedule and read what
// comes back, until the plan is done and the expectation is met or has timed out. Frames in
// memory are written from one buffer built before the first is sent (a frame repeated N times is
// there once); a capture file is read as it is sent, a batch at a time, so no more than a batch
// of it is held. Frames go in batches of the port's budget; a full device (EAGAIN) holds the
// schedule back until it drains, as the forwarder's egress does, so nothing is dropped for being
// early.

import { TapyardError } from '../error.js';
import { Frame } from '../frame/frame.js';
import { DropReason, txErrorReason } from '../port/drop.js';
import type { Port, RxBatch } from '../port/port.js';
import type { CaptureStream, TimedFrame } from './capture-file.js';
import type { FrameMatch } from './match.js';
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

export async function runSend(
  port: Port,
  plan: SendPlan,
  events: SendEvents,
  options: SendOptions,
): Promise<SendOutcome> {
  const { expect } = options;
  const hdr = port.hdrLen;
  const budget = Math.max(1, port.budget);
  const frames = Array.isArray(plan.frames)
    ? inMemory(plan.frames as readonly Uint8Array[], hdr, plan.times as readonly number[] | null)
    : streamed(plan.frames as CaptureStream, hdr, budget);
  const round = frames.round;
  const planned = round * plan.count;
  const offsets = new Uint32Array(budget);
  const lengths = new Uint32Array(budget);
  const status = new Int32Array(budget);
  const frame = new Frame();

  const due = (k: number): number => {
    if (plan.times === null) return k * plan.interval;
    // The next round starts when the last frame of this one is sent.
    return Math.floor(k / round) * frames.roundLength + frames.time(k);
  };

  let next = 0;
  let sent = 0;
  let received = 0;
  let matched = 0;
  let fatal: TapyardError | null = null;
  let finish: () => void = () => {};
  const finished = new Promise<void>((resolve) => {
    finish = resolve;
  });
  let over = false;
  let timer: NodeJS.Timeout | null = null;
  let started = process.hrtime.bigint();
  const elapsed = () => Number(process.hrtime.bigint() - started) / 1e9;

  const end = () => {
    if (over) return;
    over = true;
    if (timer !== null) clearTimeout(timer);
    finish();
  };
  // The wait ends when every frame sent has had its match (one frame: the first match, as srp1),
  // or at the timeout; the expectation is met by one match.
  const allMatched = () => next === planned && matched >= sent;
  const afterLastFrame = () => {
    if (expect === null || allMatched()) return end();
    const deadline = elapsed() + options.timeoutS;
    const wait = () => {
      const left = deadline - elapsed();
      if (left <= 0) end();
      else timer = setTimeout(wait, Math.min(left * 1000, MAX_TIMER_MS));
    };
    wait();
  };

  const pump = () => {
    timer = null;
    if (over) return;
    const now = elapsed();
    let n = 0;
    let area: Uint8Array;
    try {
      while (next + n < planned && n < budget && due(next + n) <= now) n++;
      area = frames.place(next, n, offsets, lengths);
    } catch (err) {
      // A capture file that changed into a bad one while it was replayed.
      fatal = err as TapyardError;
      end();
      return;
    }
    if (n > 0) {
      const taken = port.send(area, offsets, lengths, n, status);
      for (let i = 0; i < taken; i++) {
        const bytes = frames.bytes(next + i);
        if (status[i] === 0) {
          sent++;
          port.counters.tx(bytes.length);
          events.sent(bytes, next + i, now);
        } else {
          const reason = txErrorReason(status[i]!);
          port.counters.drop(reason);
          events.refused(bytes, next + i, reason, now);
        }
      }
      next += taken;
      if (taken < n) {
        // The device is full: go on when it says it can take more.
        port.setWantWritable(true);
        return;
      }
    }
    if (next === planned) {
      afterLastFrame();
      return;
    }
    const wait = due(next) - elapsed();
    if (wait <= 0) setImmediate(pump);
    // A timer holds at most 2^31-1 ms (24.8 days; Node warns and fires at once above it): a longer
    // gap in a capture is waited out in steps, pump checking each time whether the frame is due.
    else timer = setTimeout(pump, Math.min(wait * 1000, MAX_TIMER_MS));
  };

  port.start({
    onBatch(_port, batch: RxBatch) {
      for (let i = 0; i < batch.count; i++) {
        received++;
        const length = batch.lengths[i]!;
        if (length < 0) {
          port.counters.drop(DropReason.TRUNCATED);
          continue;
        }
        port.counters.rx(length);
        frame.parse(batch.buf, batch.offsets[i]!, length);
        if (expect?.matches(frame)) {
          matched++;
          events.matched(frame, elapsed());
          if (allMatched() && !over) end();
        } else port.counters.drop(SendReason.NOT_EXPECTED);
      }
    },
    onWritable() {
      if (!over) pump();
    },
    onFatal(_port, error) {
      fatal = error;
      end();
    },
  });
  void options.stop.then(end);
  // A capture process needs a moment before it sees replies: nothing is sent before it does.
  await Promise.race([port.ready ?? Promise.resolve(), finished]);
  started = process.hrtime.bigint();
  if (!over) pump();
  await finished;
  if (timer !== null) clearTimeout(timer);
  const unsent = planned - next;
  if (unsent > 0) port.counters.drop(SendReason.UNSENT, unsent);
  return {
    planned,
    sent,
    received,
    matched,
    drops: { ...port.counters.drops },
    expectationMet: expect === null ? null : matched > 0,
    fatal,
    seconds: elapsed(),
  };
}

/** The frames of a plan by their place in it (k counts over every round). */
interface PlanFrames {
  /** Frames in one round. */
  readonly round: number;
  /** Seconds from the first frame to the last of a round ('captured' times only). */
  readonly roundLength: number;
  /** Frame k's time in its round ('captured' times only). */
  time(k: number): number;
  /** Frame k's bytes (k no earlier than the last place()'s first). */
  bytes(k: number): Uint8Array;
  /** Frames k..k+n-1 behind their zeroed vnet headers: the area they are in, where and how long. */
  place(k: number, n: number, offsets: Uint32Array, lengths: Uint32Array): Uint8Array;
}

/** Frames in memory: every distinct frame once, behind a zeroed vnet header when the port has one. */
function inMemory(list: readonly Uint8Array[], hdr: number, times: readonly number[] | null): PlanFrames {
  const slotOffsets: number[] = [];
  let size = 0;
  for (const f of list) {
    slotOffsets.push(size);
    size += hdr + f.length;
  }
  const area = new Uint8Array(size);
  list.forEach((f, i) => {
    area.set(f, slotOffsets[i]! + hdr);
  });
  const round = list.length;
  return {
    round,
    roundLength: times === null ? 0 : times[round - 1]!,
    time: (k) => times![k % round]!,
    bytes: (k) => list[k % round]!,
    place(k, n, offsets, lengths) {
      for (let i = 0; i < n; i++) {
        const slot = (k + i) % round;
        offsets[i] = slotOffsets[slot]!;
        lengths[i] = hdr + list[slot]!.length;
      }
      return area;
    },
  };
}

/**
 * A capture file read as it is sent: a window of the frames from the oldest not yet taken to the
 * furthest looked at (at most a batch), copied into one area per batch. A new round reads the
 * file again from its start.
 */
function streamed(capture: CaptureStream, hdr: number, budget: number): PlanFrames {
  const round = capture.count;
  let pass = capture.replay();
  let passFrom = 0;
  const window: TimedFrame[] = [];
  let windowFrom = 0;
  const at = (k: number): TimedFrame => {
    while (windowFrom + window.length <= k) {
      if (windowFrom + window.length === passFrom + round) {
        passFrom += round;
        pass = capture.replay();
      }
      const got = pass.next();
      if (got.done === true) {
        throw new TapyardError('EPCAP', `the --pcap file lost frames while it was replayed (it had ${round})`);
      }
      window.push(got.value);
    }
    return window[k - windowFrom]!;
  };
  let area = new Uint8Array(budget * (hdr + 1518));
  return {
    round,
    roundLength: capture.seconds,
    time: (k) => at(k).time,
    bytes: (k) => at(k).bytes,
    place(k, n, offsets, lengths) {
      const drop = Math.min(k - windowFrom, window.length);
      window.splice(0, drop);
      windowFrom += drop;
      let size = 0;
      for (let i = 0; i < n; i++) size += hdr + at(k + i).bytes.length;
      if (size > area.length) area = new Uint8Array(size);
      let o = 0;
      for (let i = 0; i < n; i++) {
        const bytes = at(k + i).bytes;
        area.fill(0, o, o + hdr);
        area.set(bytes, o + hdr);
        offsets[i] = o;
        lengths[i] = hdr + bytes.length;
        o += hdr + bytes.length;
      }
      return area;
    },
  };
}
