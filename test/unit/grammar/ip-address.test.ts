// Address text: RFC 4291 input forms read by grammar/, RFC 5952 canonical output written by frame/.

import fc from 'fast-check';
import { expect, test } from 'vitest';
import { formatIpv4, formatIpv6 } from '../../../src/frame/ip-address.js';
import { parseIpv4, parseIpv6 } from '../../../src/grammar/ip-address.js';
import * as arb from '../frame/arbitraries.js';

test('IPv4 text round-trips and rejects what is not a dotted quad', () => {
  fc.assert(
    fc.property(arb.ipv4Address, (a) => {
      expect(parseIpv4(formatIpv4(a))).toBe(a);
    }),
  );
  expect(parseIpv4('10.77.0.1')).toBe(0x0a4d0001);
  expect(formatIpv4(0xffffffff)).toBe('255.255.255.255');
  for (const bad of ['10.77.0', '10.77.0.256', '10.77.0.1.5', 'a.b.c.d', '', '1.2.3.-4'])
    expect(parseIpv4(bad)).toBeNull();
});

// RFC 5952 §4: one canonical text per address.
test.each([
  ['2001:0db8:0000:0000:0000:0000:0000:0001', '2001:db8::1'],
  ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'], // §4.2.3: the first of two equal runs
  ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'], // §4.2.2: a single zero group stays
  ['2001:db8::0:1', '2001:db8::1'],
  ['2001:DB8::AAAA', '2001:db8::aaaa'], // §4.3: lower case
  ['::', '::'],
  ['::1', '::1'],
  ['fd77::', 'fd77::'],
  ['::ffff:10.77.0.1', '::ffff:10.77.0.1'], // §5: IPv4-mapped keeps the dotted tail
  ['::ffff:0a4d:0001', '::ffff:10.77.0.1'],
  ['1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7:8'],
  ['ff02::1:ff00:2', 'ff02::1:ff00:2'],
])('%s is written %s', (input, canonical) => {
  const bytes = parseIpv6(input);
  expect(bytes).not.toBeNull();
  expect(formatIpv6(bytes!)).toBe(canonical);
});

test('IPv6 text round-trips for any address', () => {
  fc.assert(
    fc.property(arb.ipv6Address, (a) => {
      expect(parseIpv6(formatIpv6(a))).toEqual(a);
    }),
    { numRuns: 1000 },
  );
  // Addresses with runs of zero groups, which random bytes rarely have.
  fc.assert(
    fc.property(fc.array(fc.constantFrom(0, 0, 0, 1, 0xffff), { minLength: 8, maxLength: 8 }), (groups) => {
      const a = new Uint8Array(16);
      groups.forEach((g, i) => {
        a[2 * i] = g >>> 8;
        a[2 * i + 1] = g & 0xff;
      });
      expect(parseIpv6(formatIpv6(a))).toEqual(a);
    }),
  );
});

test.each([
  '',
  ':',
  '1::2::3',
  '1:2:3:4:5:6:7:8:9',
  '1:2:3:4:5:6:7',
  '12345::',
  'g::1',
  '1:2:3:4:5:6:7:8::',
  '::ffff:10.77.0',
  'fd77::1%eth0',
])("'%s' is not an IPv6 address", (text) => {
  expect(parseIpv6(text)).toBeNull();
});
