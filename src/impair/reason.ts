// Why an impairment did not write a frame: each is counted on the port it was for.

import { reasons } from '../reason.js';

export const ImpairReason = reasons({
  LOSS: ['impair-loss', 'impairment: lost on purpose (loss=)'],
  LIMIT: ['impair-limit', 'impairment: limit= frames were already held for delay= (as netem drops over its limit)'],
  RATE: [
    'impair-rate',
    'impairment: over rate=, with limit= frames already waiting for the token bucket (a full shaper queue)',
  ],
  SHUTDOWN: ['impair-shutdown', 'impairment: still held (delay, reorder or rate) when tapyard stopped'],
});
