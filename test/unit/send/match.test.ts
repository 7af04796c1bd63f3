// --expect: the spec grammar read as a match. Named layers must be there with the keys given;
// anything not named matches anything.

import { describe, expect, test } from 'vitest';
import { Frame } from '../../../src/frame/frame.js';
import { readMatch } from '../../../src/send/match.js';
import { loadFixture } from '../frame/fixtures.js';

function matches(match: string, fixture: string): boolean {
  const { bytes } = loadFixture(fixture);
  const f = new Frame();
  f.parse(bytes, 0, bytes.length);
  return readMatch(match).matches(f);
}

describe('a match names what must be there and nothing else', () => {
  test.each([
    ['udp sport=48886 dport=7777', 'ipv4-udp-csum', true],
    ['udp sport=48886', 'ipv6-udp-csum', false],
    ['udp dport=7777', 'ipv6-udp-csum', true],
    ['ipv6 src=fd77::1 / udp', 'ipv6-udp-csum', true],
    ['ipv6 src=fd77::2 / udp', 'ipv6-udp-csum', false],
    ['ipv4 / udp', 'ipv6-udp-csum', false],
    ['udp / text hello', 'ipv4-udp-csum', true],
    ['udp / text hello tapyard!', 'ipv4-udp-csum', false],
    ['udp / hex 68656c6c6f', 'ipv4-udp-csum', true],
    ['icmp type=echo-reply', 'ipv4-icmp-echo-reply', true],
    ['icmp type=echo-reply', 'ipv4-icmp-echo-request', false],
    ['icmp type=0 code=0', 'ipv4-icmp-echo-reply', true],
    ['icmpv6 type=echo-request', 'ipv6-icmp-echo-request', true],
    ['icmp', 'ipv6-icmp-echo-request', false],
    ['arp op=request target=10.77.0.2', 'arp-request', true],
    ['arp op=reply', 'arp-request', false],
    ['eth dst=ff:ff:ff:ff:ff:ff / arp', 'arp-request', true],
    ['eth src=ff:ff:ff:ff:ff:ff', 'arp-request', false],
    ['vlan 10 pcp=5 / arp', 'vlan-arp-request', true],
    ['vlan 11 / arp', 'vlan-arp-request', false],
    ['vlan 10 / arp', 'arp-request', false],
    ['arp', 'vlan-arp-request', true],
    ['s-vlan 100 / vlan 20 / icmp', 'qinq-icmp-echo-request', true],
    ['vlan 100', 'qinq-icmp-echo-request', false],
    ['tcp flags=S. sport=7778', 'ipv4-tcp-synack-csum', true],
    ['tcp flags=S', 'ipv4-tcp-synack-csum', false],
    ['ipv4 ttl=64 df / tcp', 'ipv4-tcp-synack-csum', true],
    ['ipv4 df=off', 'ipv4-tcp-synack-csum', false],
  ])('%s on %s: %s', (match, fixture, expected) => {
    expect(matches(match, fixture)).toBe(expected);
  });

  test('keys that only make sense when sending are refused in a match', () => {
    expect(() => readMatch('eth pad=60')).toThrow(/^--expect, layer 1 \(eth\): pad= is for sending, not for matching$/);
    expect(() => readMatch('udp sprot=7')).toThrow(
      /^--expect, layer 1 \(udp\): unknown option 'sprot' \(did you mean sport\?\)$/,
    );
  });

  test('a runt matches nothing, not even an empty eth', () => {
    const f = new Frame();
    f.parse(new Uint8Array(9), 0, 9);
    expect(readMatch('eth').matches(f)).toBe(false);
  });
});
