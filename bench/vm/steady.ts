// Waiting for a path to drain. A VM path with deep buffers is still delivering when a flood's
// generator stops: the stream socket between tapyard and QEMU holds about 0.7 s of 64-byte frames
// under TCG, and round trips measured next queue behind them (a full run of 7 December 2026: the
// socket path's idle RTT p50 107 ms, the first 30 pings of each round answered together). So the
// next measurement starts only when the guest's count has stopped moving.

import { sleep } from '../datapath/process.js';

export interface Steadiness {
  /** Time between two reads that must agree. */
  stepMs: number;
  /** Give up after this long and take the last read (a guest that never stops receiving). */
  maxMs: number;
}

/** The count once two reads `stepMs` apart agree, or the last read at `maxMs`. */
export async function steadyCount(read: () => Promise<number>, { stepMs, maxMs }: Steadiness): Promise<number> {
  const deadline = performance.now() + maxMs;
  await sleep(stepMs);
  let last = await read();
  while (performance.now() < deadline) {
    await sleep(stepMs);
    const now = await read();
    if (now === last) return now;
    last = now;
  }
  return last;
}
