import { describe, expect, test } from 'vitest';
import { TokenBucket } from '../../../src/impair/token-bucket.js';

describe('TokenBucket', () => {
  test('starts with a burst of 10 ms at the rate, at least two full-size frames', () => {
    expect(new TokenBucket(100, 0).burst).toBe(125_000);
    expect(new TokenBucket(1, 0).burst).toBe(2 * 1518);
  });

  test('a backlog drains at the rate, however late the looks at it come', () => {
    // 8 Mbit/s is 1000 bytes per ms; a queue of 1000-byte frames looked at every 7 ms, late.
    const bucket = new TokenBucket(8, 0);
    let sent = 0;
    for (let now = 0; now <= 1001; now += 7) while (bucket.take(1000, now)) sent++;
    // The burst (10 frames) plus one frame per ms for 1001 ms, within a frame.
    expect(sent).toBeGreaterThanOrEqual(1010);
    expect(sent).toBeLessThanOrEqual(1011);
  });

  test('an idle bucket keeps no more than its burst', () => {
    const bucket = new TokenBucket(8, 0);
    let sent = 0;
    while (bucket.take(1000, 10_000)) sent++;
    expect(sent).toBe(10);
    bucket.idle();
    expect(bucket.readyAt(1000)).toBe(10_001);
  });

  test('a frame larger than the burst still leaves, once its tokens have accrued', () => {
    const bucket = new TokenBucket(1, 0); // 125 bytes per ms, burst 3036 bytes
    expect(bucket.take(3036, 0)).toBe(true);
    expect(bucket.take(64_000, 1)).toBe(false);
    const at = bucket.readyAt(64_000);
    expect(at).toBeCloseTo(64_000 / 125, 5);
    expect(bucket.take(64_000, at)).toBe(true);
  });
});
