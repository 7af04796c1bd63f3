// Whatever arrives on a port, parsing never throws, answers null or one of the named
// FrameErrors, and never claims bytes outside the frame it was given. Inputs: random bytes, and
// real captures with bit flips, truncation, and lies in their length fields.

import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { describe as describeFrame } from '../../../src/frame/describe.js';
import { FrameError } from '../../../src/frame/error.js';
import { EtherType } from '../../../src/frame/ethernet.js';
import { Frame, NONE } from '../../../src/frame/frame.js';
import { IpProtocol } from '../../../src/frame/ip-protocol.js';
import { fixtureNames, loadFixture } from './fixtures.js';

const ERRORS = new Set<unknown>(Object.values(FrameError));
const frame = new Frame();

/** Parse `bytes[offset, offset + length)` and check everything the Frame claims lies inside it. */
function check(bytes: Uint8Array, offset: number, length: number): void {
  const error = frame.parse(bytes, offset, length);
  expect(error === null || ERRORS.has(error)).toBe(true);
  expect(frame.error).toBe(error);
  const end = offset + length;
  const inside = (from: number, to: number) => {
    expect(from).toBeGreaterThanOrEqual(offset);
    expect(to).toBeLessThanOrEqual(end);
    expect(from).toBeLessThanOrEqual(to);
  };
  if (frame.ethernetValid) inside(offset, frame.ethernet.payloadOffset);
  if (frame.network === EtherType.ARP) inside(frame.arp.offset, frame.arp.offset + 28);
  if (frame.network === EtherType.IPV4) inside(frame.ipv4.offset, frame.ipv4.offset + frame.ipv4.totalLength);
  if (frame.network === EtherType.IPV6) {
    inside(frame.ipv6.offset, frame.ipv6.upperOffset + frame.ipv6.upperLength);
    inside(frame.ipv6.finalDestinationOffset, frame.ipv6.finalDestinationOffset + 16);
  }
  if (frame.network === EtherType.IPV4 || frame.network === EtherType.IPV6) {
    inside(frame.transportOffset, frame.transportOffset + frame.transportLength);
  }
  if (frame.transport === IpProtocol.UDP)
    inside(frame.udp.payloadOffset, frame.udp.payloadOffset + frame.udp.payloadLength);
  if (frame.transport === IpProtocol.TCP)
    inside(frame.tcp.payloadOffset, frame.tcp.payloadOffset + frame.tcp.payloadLength);
  if (frame.transport === IpProtocol.ICMP || frame.transport === IpProtocol.ICMPV6)
    inside(frame.icmp.offset, frame.icmp.offset + 8);
  if (frame.transport !== NONE) frame.transportChecksumValid();
  const text = describeFrame(bytes, offset, length);
  expect(typeof text).toBe('string');
  expect(text.length).toBeGreaterThan(0);
}

/** `bytes` inside a larger buffer of noise, as a batch buffer would hold it. */
function embedded(bytes: Uint8Array, before: number, after: number): Uint8Array {
  const out = new Uint8Array(before + bytes.length + after).fill(0xa5);
  out.set(bytes, before);
  return out;
}

test('random bytes', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), fc.nat(32), fc.nat(32), (bytes, before, after) => {
      check(embedded(bytes, before, after), before, bytes.length);
    }),
    { numRuns: 2000 },
  );
});

/** Random bytes behind a valid Ethernet header of each interesting type, to reach the layers above. */
test('random bytes behind each EtherType, tagged or not', () => {
  const header = fc.tuple(
    fc.constantFrom(EtherType.IPV4, EtherType.IPV6, EtherType.ARP, 0x88b5, 0x0050),
    fc.constantFrom<number[]>([], [0x81, 0x00, 0x00, 0x0a], [0x88, 0xa8, 0x00, 0x64, 0x81, 0x00, 0x00, 0x14]),
  );
  fc.assert(
    fc.property(header, fc.uint8Array({ maxLength: 120 }), ([type, tags], rest) => {
      const bytes = Uint8Array.from([...new Array<number>(12).fill(2), ...tags, type >>> 8, type & 0xff, ...rest]);
      // Give the network header a plausible version nibble half of the time.
      if (rest.length > 0 && rest[0]! & 1) bytes[14 + tags.length] = type === EtherType.IPV6 ? 0x60 : 0x45;
      check(bytes, 0, bytes.length);
    }),
    { numRuns: 3000 },
  );
});

describe.each(fixtureNames())('mutations of %s', (name) => {
  const original = loadFixture(name).bytes;

  test('bit flips', () => {
    fc.assert(
      fc.property(fc.array(fc.nat(original.length * 8 - 1), { minLength: 1, maxLength: 6 }), (bits) => {
        const bytes = original.slice();
        for (const bit of bits) bytes[bit >>> 3]! ^= 1 << (bit & 7);
        check(embedded(bytes, 10, 10), 10, bytes.length);
      }),
      { numRuns: 300 },
    );
  });

  test('truncation at every length', () => {
    for (let length = 0; length <= original.length; length++) check(embedded(original, 3, 5), 3, length);
  });

  test('length-field lies', () => {
    // The fields a liar would touch: IPv4 IHL and total length, IPv6 payload length and the
    // first extension header's length, UDP length, TCP data offset, ARP sizes.
    const at = original[12] === 0x81 || original[12] === 0x88 ? (original[16] === 0x81 ? 22 : 18) : 14;
    const fields = [
      at,
      at + 1,
      at + 2,
      at + 3,
      at + 4,
      at + 5,
      at + 20,
      at + 24,
      at + 25,
      at + 32,
      at + 40,
      at + 41,
      at + 44,
      at + 45,
      at + 52,
    ];
    fc.assert(
      fc.property(
        fc.constantFrom(...fields.filter((f) => f < original.length)),
        fc.integer({ min: 0, max: 255 }),
        (field, value) => {
          const bytes = original.slice();
          bytes[field] = value;
          check(embedded(bytes, 7, 7), 7, bytes.length);
        },
      ),
      { numRuns: 400 },
    );
  });
});
