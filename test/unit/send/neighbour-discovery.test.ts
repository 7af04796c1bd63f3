// Neighbour discovery from `send`: RFC 4861 receivers drop an NS/NA/RS/RA/redirect whose hop limit
// is not 255, so that is the default for them; an NS or NA without its target address is sent
// with a warning, as is one with another hop limit given.

import { expect, test } from 'vitest';
import { frameBytes, readFrameSpec } from '../../../src/send/frame-spec.js';

const TARGET = 'hex fe80 0000 0000 0000 0000 0000 0000 0002';
const ip6 = (extra = '') => `ipv6 src=fe80::1 dst=ff02::1:ff00:2 ${extra}`;

/** The IPv6 hop limit of the frame a spec makes (no VLAN tag: the IPv6 header at 14). */
function hopLimit(spec: string): number {
  return frameBytes(readFrameSpec(spec), 0x020000000001)[14 + 7]!;
}

test.each([
  'neighbor-solicitation',
  'neighbor-advertisement',
  'router-solicitation',
  'router-advertisement',
  '137',
  '135',
])('icmpv6 type=%s defaults to hop limit 255', (type) => {
  expect(hopLimit(`${ip6()} / icmpv6 type=${type} / ${TARGET}`)).toBe(255);
});

test('other ICMPv6 and UDP keep 64; a hop limit given is kept', () => {
  expect(hopLimit(`${ip6()} / icmpv6 type=echo-request`)).toBe(64);
  expect(hopLimit(`${ip6()} / udp dport=7`)).toBe(64);
  expect(hopLimit(`${ip6('hlim=9')} / icmpv6 type=neighbor-solicitation / ${TARGET}`)).toBe(9);
});

test('warnings: an NS without its target, an ND message with another hop limit; none for a whole one', () => {
  expect(readFrameSpec(`${ip6()} / icmpv6 type=neighbor-solicitation / ${TARGET}`).warnings).toEqual([]);
  expect(readFrameSpec(`${ip6()} / icmpv6 type=neighbor-solicitation`).warnings).toEqual([
    'a neighbour solicitation carries its 16-byte target address after the header (hex ...): this one has 0 bytes, ' +
      'and its receiver drops it',
  ]);
  expect(readFrameSpec(`${ip6('hlim=64')} / icmpv6 type=neighbor-advertisement / ${TARGET}`).warnings).toEqual([
    'hop limit 64: a neighbour discovery message is dropped by its receiver unless it is 255',
  ]);
});
