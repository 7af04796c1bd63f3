// MAC addresses as numbers: byte order, text, the I/G and U/L bits (IEEE 802 §8.2), and the
// multicast mappings, checked against frames the kernel sent.

import fc from 'fast-check';
import { expect, test } from 'vitest';
import { parseIpv4, parseIpv6 } from '../../src/grammar/ip-address.js';
import {
  BROADCAST,
  formatMac,
  ipv4MulticastMac,
  ipv6MulticastMac,
  isBroadcast,
  isGroup,
  isLocal,
  isMulticast,
  parseMac,
  readMac,
  writeMac,
} from '../../src/mac.js';
import { loadFixture } from './frame/fixtures.js';

const mac = fc.uint8Array({ minLength: 6, maxLength: 6 });

test('readMac and writeMac are inverse at any offset, and the number orders like the bytes', () => {
  fc.assert(
    fc.property(mac, fc.nat(20), (bytes, at) => {
      const buffer = new Uint8Array(at + 6 + 3).fill(0xee);
      buffer.set(bytes, at);
      const value = readMac(buffer, at);
      expect(value).toBe(bytes.reduce((n, b) => n * 256 + b, 0));
      const out = new Uint8Array(at + 6 + 3).fill(0xee);
      writeMac(out, at, value);
      expect(out).toEqual(buffer);
    }),
  );
});

test('text round-trips; dashes and upper case are accepted', () => {
  fc.assert(
    fc.property(mac, (bytes) => {
      const value = readMac(bytes, 0);
      expect(parseMac(formatMac(value))).toBe(value);
    }),
  );
  expect(parseMac('02-00-00-AA-bb-01')).toBe(0x020000aabb01);
  expect(formatMac(0x020000aabb01)).toBe('02:00:00:aa:bb:01');
  for (const bad of ['02:00:00:00:00', '02:00:00:00:00:00:00', '0g:00:00:00:00:00', ''])
    expect(parseMac(bad)).toBeNull();
});

test('the I/G bit is the lowest bit of the first octet, the U/L bit the next one', () => {
  fc.assert(
    fc.property(mac, (bytes) => {
      const value = readMac(bytes, 0);
      expect(isGroup(value)).toBe((bytes[0]! & 1) === 1);
      expect(isLocal(value)).toBe((bytes[0]! & 2) === 2);
      expect(isBroadcast(value)).toBe(bytes.every((b) => b === 0xff));
      expect(isMulticast(value)).toBe((bytes[0]! & 1) === 1 && !bytes.every((b) => b === 0xff));
    }),
  );
  expect(isBroadcast(BROADCAST)).toBe(true);
  expect(isMulticast(BROADCAST)).toBe(false);
});

test('IPv4 group → MAC (RFC 1112 §6.4): 01:00:5e and the low 23 bits', () => {
  expect(formatMac(ipv4MulticastMac(parseIpv4('224.0.0.251')!))).toBe('01:00:5e:00:00:fb');
  // The 24th bit is dropped: 239.128.0.1 and 224.0.0.1 share a MAC.
  expect(ipv4MulticastMac(parseIpv4('239.128.0.1')!)).toBe(ipv4MulticastMac(parseIpv4('224.0.0.1')!));
});

test('IPv6 group → MAC (RFC 2464 §7) as the kernel addressed its mDNS and neighbour solicitation frames', () => {
  for (const [name, group] of [
    ['ipv6-udp-mdns', 'ff02::fb'],
    ['ipv6-nd-solicit', 'ff02::1:ff00:2'],
    ['ipv6-mld-report', 'ff02::16'],
  ] as const) {
    const bytes = parseIpv6(group)!;
    const low32 = new DataView(bytes.buffer).getUint32(12);
    expect(ipv6MulticastMac(low32)).toBe(readMac(loadFixture(name).bytes, 0));
  }
});
