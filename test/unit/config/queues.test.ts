// forward --queues N, as the command line is read: what gives N queues, and what is refused.

import { describe, expect, it } from 'vitest';
import { readForwardConfig } from '../../../src/config/forward.js';
import { TapyardError } from '../../../src/error.js';

const WIRE = 'wire=macvtap:ty0';
const GUEST = 'guest=tap:ty1,netns=ty-x-gst,mq';

function read(...argv: string[]) {
  return readForwardConfig(argv)!;
}

function refusal(...argv: string[]): string {
  try {
    readForwardConfig(argv);
  } catch (err) {
    expect(err).toBeInstanceOf(TapyardError);
    expect((err as TapyardError).code).toBe('EUSAGE');
    expect((err as TapyardError).message).not.toContain('\n');
    return (err as TapyardError).message;
  }
  throw new Error(`accepted: ${argv.join(' ')}`);
}

describe('forward --queues', () => {
  it('is 1 unless asked, and then any kind of port goes', () => {
    expect(read('--port', 'a=pcap:ty0', '--port', 'b=guest:10.0.0.2/24').queues).toBe(1);
    expect(read('--queues', '1', '--port', 'a=pcap:ty0', '--port', 'b=tap:ty1').queues).toBe(1);
  });

  it('takes a macvtap and a multi-queue tap on a cross-connect, and two multi-queue taps', () => {
    expect(read('--queues', '2', '--port', WIRE, '--port', GUEST).queues).toBe(2);
    const taps = read('--queues', '4', '--switch', 'cross', '--port', 'a=tap:ty0,mq', '--port', 'b=tap:ty1,mq');
    expect(taps.queues).toBe(4);
    expect(taps.switch.kind).toBe('cross');
  });

  it('refuses a count out of range', () => {
    expect(refusal('--queues', '0', '--port', WIRE, '--port', GUEST)).toMatch(/--queues/);
    expect(refusal('--queues', '17', '--port', WIRE, '--port', GUEST)).toMatch(/1 to 16/);
    expect(refusal('--queues', 'two', '--port', WIRE, '--port', GUEST)).toMatch(/--queues/);
  });

  it('refuses a tap without mq, and the kinds that have one queue', () => {
    expect(refusal('--queues', '2', '--port', WIRE, '--port', 'guest=tap:ty1')).toBe(
      '--queues 2: port guest is a tap; add mq (a multi-queue tap)',
    );
    for (const one of ['pcap:ty2', 'guest:10.0.0.2/24', 'qemu:/tmp/ty-q.sock']) {
      expect(refusal('--queues', '2', '--port', WIRE, '--port', `vm=${one}`)).toMatch(
        new RegExp(`port vm is a ${one.split(':')[0]} port, which has one queue`),
      );
    }
  });

  it('refuses switches with tables the threads would split', () => {
    expect(refusal('--queues', '2', '--switch', 'hub', '--port', WIRE, '--port', GUEST)).toMatch(
      /needs --switch cross \(two ports\): a hub's/,
    );
    // Three ports default to a hub.
    expect(refusal('--queues', '2', '--port', WIRE, '--port', GUEST, '--port', 'c=tap:ty3,mq')).toMatch(
      /needs --switch cross/,
    );
  });

  it('refuses what works on one queue only', () => {
    const both = ['--queues', '2', '--port', WIRE, '--port', GUEST];
    expect(refusal(...both, '--capture', 'x.pcapng')).toMatch(/--capture works on one queue only/);
    expect(refusal(...both, '--inject')).toMatch(/--inject works on one queue only/);
    expect(refusal(...both, '--user', 'nobody')).toMatch(/--user works on one queue only/);
    expect(refusal('--queues', '2', '--port', WIRE, '--port', `${GUEST},loss=10%`)).toMatch(
      /port guest: impairments work on one queue only/,
    );
    expect(refusal('--queues', '2', '--port', `${WIRE},trust-guest-rx-filters`, '--port', GUEST)).toMatch(
      /trust-guest-rx-filters works on one queue only/,
    );
  });
});
