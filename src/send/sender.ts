// The loop of `tapyard send`: write a plan of frames to one port on their schedule and read what
// comes back, until the plan is done and the expectation is met or has timed out. Frames are
// written from one buffer built before the first is sent (a frame repeated N times is there
// once), in batches of the port's budget; a full device (EAGAIN) holds the schedule back until
// it drains, as the forwarder's egress does, so nothing is dropped for being early.

import type { TapyardError } from '../error.js';
import { Frame } from '../frame/frame.js';
import { DropReason, txErrorReason } from '../port/drop.js';
import type { Port, RxBatch } from '../port/port.js';
import type { FrameMatch } from './match.js';
import { SendReason } from './reasons.js';

/** The longest delay a Node timer takes (2^31-1 ms); a longer one fires at once, with a warning. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export interface SendPlan {
  /** The frames of one round, in order. */
  readonly frames: readonly Uint8Array[];
  /** Seconds from the round's start at which each frame is due; null: `interval` apart. */
  readonly times: readonly number[] | null;
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
  const round = plan.frames.length;
  const planned = round * plan.count;
  const hdr = port.hdrLen;
  // Every distinct frame once, each behind a zeroed vnet header when the port has one (no GSO,
  // no checksum to finish: the frame is sent as it is).
  const slotOffsets: number[] = [];
  let size = 0;
  for (const f of plan.frames) {
    slotOffsets.push(size);
    size += hdr + f.length;
  }
  const area = new Uint8Array(size);
  plan.frames.forEach((f, i) => {
    area.set(f, slotOffsets[i]! + hdr);
  });
  const budget = Math.max(1, port.budget);
  const offsets = new Uint32Array(budget);
  const lengths = new Uint32Array(budget);
  const status = new Int32Array(budget);
  const frame = new Frame();

  const roundLength = plan.times === null ? 0 : plan.times[round - 1]!;
  const due = (k: number): number => {
    if (plan.times === null) return k * plan.interval;
    // The next round starts when the last frame of this one is sent.
    return Math.floor(k / round) * roundLength + plan.times[k % round]!;
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
    while (next + n < planned && n < budget && due(next + n) <= now) {
      const slot = (next + n) % round;
      offsets[n] = slotOffsets[slot]!;
      lengths[n] = hdr + plan.frames[slot]!.length;
      n++;
    }
    if (n > 0) {
      const taken = port.send(area, offsets, lengths, n, status);
      for (let i = 0; i < taken; i++) {
        const bytes = plan.frames[(next + i) % round]!;
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
