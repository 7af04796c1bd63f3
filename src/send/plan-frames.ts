// Where `tapyard send` takes the frames of its plan from, frame by frame (k counts over every
// round): a list in memory, laid out once in one buffer (a frame repeated N times is there once),
// or a capture file read as it is sent, a batch at a time, so no more than a batch of it is held.
// Either way a batch comes out behind zeroed vnet headers (no GSO, no checksum to finish: the
// frame is sent as it is), ready for Port.send.

import { TapyardError } from '../error.js';
import type { CaptureStream, TimedFrame } from './capture-file.js';

/** The frames of a plan by their place in it (k counts over every round). */
export interface PlanFrames {
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
export function inMemory(list: readonly Uint8Array[], hdr: number, times: readonly number[] | null): PlanFrames {
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
export function streamed(capture: CaptureStream, hdr: number, budget: number): PlanFrames {
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
