// The impairment keys, read from a port spec of any kind: typed values, one-sentence errors,
// and no impairment at all when nothing is impaired.

import { describe, expect, test } from 'vitest';
import { forwardHelp } from '../../../src/config/forward.js';
import { parsePortSpec } from '../../../src/config/port.js';
import { TapyardError } from '../../../src/error.js';
import { describeImpairments } from '../../../src/impair/config.js';

const read = (keys: string, kind = 'tap:ty0') => parsePortSpec(`p=${kind}${keys === '' ? '' : `,${keys}`}`, 'cross');

function refusal(keys: string): string {
  try {
    read(keys);
  } catch (err) {
    expect(err).toBeInstanceOf(TapyardError);
    expect((err as TapyardError).code).toBe('EUSAGE');
    return (err as TapyardError).message;
  }
  throw new Error(`accepted ${keys}`);
}

describe('impairment keys', () => {
  test('every key, typed; the same on every port kind', () => {
    const keys = 'loss=30%,delay=20,jitter=2.5,dup=1,reorder=5%,corrupt=0.5%,rate=10,limit=50,seed=7';
    const want = {
      loss: 0.3,
      delayMs: 20,
      jitterMs: 2.5,
      dup: 0.01,
      reorder: 0.05,
      corrupt: 0.005,
      rateMbit: 10,
      limit: 50,
      seed: 7,
    };
    for (const kind of ['tap:ty0', 'macvtap:ty0', 'pcap:ty0', 'guest:10.0.0.2/24', 'qemu:/tmp/q.sock']) {
      expect(read(keys, kind).impair).toEqual(want);
    }
    expect(describeImpairments(read(keys).impair!)).toBe(
      'loss=30%,delay=20,jitter=2.5,dup=1%,reorder=5%,corrupt=0.5%,rate=10,limit=50,seed=7',
    );
  });

  test('nothing impaired is no impairment: the port keeps the plain path', () => {
    expect(read('').impair).toBeNull();
    expect(read('loss=0%,delay=0').impair).toBeNull();
  });

  test('without seed= a new seed is drawn, and said, so the run can be repeated', () => {
    const a = read('loss=1%').impair!;
    expect(Number.isInteger(a.seed)).toBe(true);
    expect(describeImpairments(a)).toBe(`loss=1%,seed=${a.seed}`);
  });

  test('bad values and combinations are one sentence each', () => {
    expect(refusal('loss=120%')).toBe("port p: loss must be a percentage from 0 to 100, not '120%'");
    expect(refusal('delay=soon')).toBe("port p: delay must be a number of milliseconds from 0 to 60000, not 'soon'");
    expect(refusal('rate=0')).toBe("port p: rate must be a number of Mbit/s from 0.001 to 100000, not '0'");
    expect(refusal('delay=5,jitter=10')).toBe('port p: jitter=10 is more than delay=5 (a delay is delay ± jitter)');
    expect(refusal('seed=3')).toBe('port p: seed= needs an impairment (loss, delay, dup, reorder, corrupt or rate)');
    expect(refusal('los=3%')).toBe("port p: unknown option 'los' (did you mean loss?)");
    expect(refusal('seed=-1')).toMatch(/^port p: seed must be a whole number from 0 to 4294967295/);
  });

  test('tapyard help forward lists them, as impairments of the frames tapyard writes', () => {
    const help = forwardHelp();
    expect(help).toMatch(/impairments of the frames tapyard WRITES to the port/);
    for (const k of ['loss=P%', 'delay=MS', 'jitter=MS', 'dup=P%', 'reorder=P%', 'corrupt=P%', 'rate=MBIT', 'seed=N'])
      expect(help).toContain(`      ${k}`);
  });
});
