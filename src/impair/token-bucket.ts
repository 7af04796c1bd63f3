// rate=MBIT: a token bucket. Tokens are bytes; they accrue at the rate, up to a burst, and a
// frame leaves when there are tokens for all of it. Frames that find too few wait in order.
//
// The burst is 10 ms at the rate (at least two full-size frames), as tc's tbf wants a burst of
// at least rate/HZ: it lets the loop's timer fire late by that much without the link losing
// time. While a frame waits for tokens, the bucket is not capped: the time a late timer took
// is still paid out, so over a run the rate is what was asked, however the timers fall.

/** The burst, in milliseconds at the rate. */
const BURST_MS = 10;
/** At least this many bytes of burst: two Ethernet frames of MTU 1500 with a VLAN tag. */
const MIN_BURST = 2 * 1518;

export class TokenBucket {
  /** Bytes per millisecond. */
  readonly perMs: number;
  readonly burst: number;
  private tokens: number;
  private last: number;
  /** A frame found too few tokens and waits: what accrues is its, beyond the burst if need be. */
  private waiting = false;

  constructor(mbit: number, now: number) {
    this.perMs = (mbit * 1e6) / 8 / 1000;
    this.burst = Math.max(MIN_BURST, this.perMs * BURST_MS);
    this.tokens = this.burst;
    this.last = now;
  }

  /** Take `bytes` if the bucket holds them at `now`; if not, the frame waits (see above). */
  take(bytes: number, now: number): boolean {
    if (now > this.last) {
      this.tokens += (now - this.last) * this.perMs;
      if (!this.waiting && this.tokens > this.burst) this.tokens = this.burst;
      this.last = now;
    }
    if (this.tokens < bytes) {
      this.waiting = true;
      return false;
    }
    this.tokens -= bytes;
    return true;
  }

  /** When a frame of `bytes` can leave, on the clock `take` is given. */
  readyAt(bytes: number): number {
    return this.last + Math.max(0, bytes - this.tokens) / this.perMs;
  }

  /** Nothing waits any more: tokens beyond the burst are gone, as in any token bucket. */
  idle(): void {
    this.waiting = false;
    if (this.tokens > this.burst) this.tokens = this.burst;
  }
}
