// The impairment keys every port kind takes: what happens to the frames tapyard writes to the
// port (loss, delay, ...). Read here into an ImpairConfig, or null when nothing is impaired:
// then the port runs the loop's plain path, with no impairment code at all.

import { randomInt } from 'node:crypto';
import { key, type Options, optional } from '../grammar/keys.js';
import { integer, percent, usageError, type ValueType } from '../grammar/value.js';
import { DEFAULT_LIMIT, type ImpairConfig, impairs } from '../impair/config.js';

/** A number in [0, max], fractions allowed: milliseconds and Mbit/s. */
function decimal(shape: string, unit: string, max: number, min = 0): ValueType<number> {
  return {
    shape,
    parse(text, where) {
      const n = Number(text);
      if (!/^\d+(\.\d+)?$/.test(text) || n < min || n > max || (min > 0 && n === 0)) {
        throw usageError(`${where} must be a number of ${unit} from ${min} to ${max}, not '${text.slice(0, 40)}'`);
      }
      return n;
    },
  };
}

export const IMPAIR_KEYS = {
  loss: optional('loss', percent, 'lose this share of the frames written to the port'),
  delay: optional('delay', decimal('MS', 'milliseconds', 60_000), 'hold each frame this long before writing it'),
  jitter: optional('jitter', decimal('MS', 'milliseconds', 60_000), 'each delay is delay ± up to this, uniformly'),
  dup: optional('dup', percent, 'write this share of the frames twice'),
  reorder: optional('reorder', percent, 'hold this share back until the next frame has gone (the two swap)'),
  corrupt: optional('corrupt', percent, 'flip one random bit in this share of the frames'),
  rate: optional('rate', decimal('MBIT', 'Mbit/s', 100_000, 0.001), 'at most this many Mbit/s (a token bucket)'),
  limit: key('limit', integer(1, 1_000_000), DEFAULT_LIMIT, 'frames held for delay, and waiting for rate, at most'),
  seed: optional('seed', integer(0, 0xffff_ffff), 'repeat a run exactly (default: a new seed, printed)'),
} as const;

export function readImpairments(o: Options): ImpairConfig | null {
  const given = (Object.values(IMPAIR_KEYS) as { name: string }[]).filter((k) => o.has(k.name)).map((k) => k.name);
  const k = o.take(IMPAIR_KEYS);
  const delayMs = k.delay ?? 0;
  const jitterMs = k.jitter ?? 0;
  if (jitterMs > delayMs) {
    throw usageError(`${o.where}: jitter=${jitterMs} is more than delay=${delayMs} (a delay is delay ± jitter)`);
  }
  const effect = {
    loss: k.loss ?? 0,
    delayMs,
    jitterMs,
    dup: k.dup ?? 0,
    reorder: k.reorder ?? 0,
    corrupt: k.corrupt ?? 0,
    rateMbit: k.rate ?? null,
  };
  if (!impairs(effect)) {
    // loss=0% is no impairment (a sweep may start there); seed= alone is a mistake worth a word.
    if (given.length > 0 && given.every((name) => name === 'seed' || name === 'limit')) {
      throw usageError(`${o.where}: ${given[0]}= needs an impairment (loss, delay, dup, reorder, corrupt or rate)`);
    }
    return null;
  }
  return Object.freeze({ ...effect, limit: k.limit, seed: k.seed ?? randomInt(0, 0xffff_ffff) });
}
