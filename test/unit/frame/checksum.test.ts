// The Internet checksum against the RFCs' own numbers and a deliberately naive reference, the
// incremental update against a full recompute, and NEEDS_CSUM completion against building the
// frame with its checksum computed outright.

import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import {
  checksumValid,
  checksumWithField,
  completePartialChecksum,
  fold,
  internetChecksum,
  ipv4HeaderChecksum,
  ipv4PseudoHeaderSum,
  ipv6PseudoHeaderSum,
  sum16,
  updateChecksum,
} from '../../../src/frame/checksum.js';
import { FrameError } from '../../../src/frame/error.js';
import { Frame } from '../../../src/frame/frame.js';
import { IpProtocol } from '../../../src/frame/ip-protocol.js';
import { TcpField } from '../../../src/frame/tcp.js';
import { UdpField } from '../../../src/frame/udp.js';
import { buildFrame, type FrameSpec, Ipv6Extension } from '../../../src/spec/build.js';
import * as arb from './arbitraries.js';

/** RFC 1071 as written: add 16-bit words, fold the carry after every addition. */
function naiveSum(bytes: ArrayLike<number>, offset: number, length: number): number {
  let sum = 0;
  for (let i = 0; i < length; i += 2) {
    const word = (bytes[offset + i]! << 8) | (i + 1 < length ? bytes[offset + i + 1]! : 0);
    sum += word;
    if (sum > 0xffff) sum -= 0xffff;
  }
  return sum;
}

describe('Internet checksum', () => {
  test('RFC 1071 §3 example: 00 01 f2 03 f4 f5 f6 f7 sums to 0xddf2', () => {
    const bytes = Uint8Array.from([0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]);
    expect(fold(sum16(bytes, 0, 8))).toBe(0xddf2);
    expect(internetChecksum(bytes, 0, 8)).toBe(0x220d);
  });

  test('sum16 folds to the naive sum, at any offset and odd length', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 3000 }), fc.nat(), fc.nat(), (bytes, a, b) => {
        const offset = bytes.length === 0 ? 0 : a % bytes.length;
        const length = bytes.length === 0 ? 0 : b % (bytes.length - offset + 1);
        const naive = naiveSum(bytes, offset, length);
        // Both are one's complement values: 0 and 0xffff are the same number except for all-zero input.
        const ours = fold(sum16(bytes, offset, length));
        expect(ours % 0xffff).toBe(naive % 0xffff);
      }),
      { numRuns: 500 },
    );
  });

  test('sum16 over views at every alignment of one shared buffer (as frames sit in a batch buffer)', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 4096, maxLength: 4096 }),
        fc.nat(2000),
        fc.nat(7),
        fc.nat(1500),
        (data, at, skew, length) => {
          const view = data.subarray(skew, skew + 2048 + 1000);
          const offset = at % 1024;
          expect(fold(sum16(view, offset, length)) % 0xffff).toBe(naiveSum(view, offset, length) % 0xffff);
        },
      ),
      { numRuns: 300 },
    );
  });

  test('fold handles sums beyond 2^32', () => {
    expect(fold(0xffff * 2 ** 20)).toBe(0xffff);
    // 2^16 ≡ 1 (mod 0xffff), so 2^48 + 5 ≡ 6 and 2^40 + 5 ≡ 2^8 + 5.
    expect(fold(2 ** 48 + 5)).toBe(6);
    expect(fold(2 ** 40 + 5)).toBe(261);
  });

  test('a range carrying its checksum verifies; one flipped bit does not', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 4, maxLength: 600 }), fc.nat(), (bytes, bit) => {
        const field = 2;
        const checksum = checksumWithField(bytes, 0, bytes.length, field, 0);
        bytes[field] = checksum >>> 8;
        bytes[field + 1] = checksum & 0xff;
        expect(checksumValid(bytes, 0, bytes.length, 0)).toBe(true);
        bytes[(bit >>> 3) % bytes.length]! ^= 1 << (bit & 7);
        expect(checksumValid(bytes, 0, bytes.length, 0)).toBe(false);
      }),
    );
  });

  test('the IPv4 header checksum of RFC 1071-style header bytes is the complement of the naive sum', () => {
    fc.assert(
      fc.property(arb.ipv4Repr, (repr) => {
        const bytes = buildFrame({
          eth: { dst: 1, src: 2 },
          ipv4: { ...repr, protocol: 253 },
          payload: new Uint8Array(4),
        });
        const headerLength = (bytes[14]! & 0xf) * 4;
        const header = bytes.slice(14, 14 + headerLength);
        const stored = (header[10]! << 8) | header[11]!;
        header[10] = header[11] = 0;
        expect(stored).toBe(~naiveSum(header, 0, headerLength) & 0xffff);
        expect(ipv4HeaderChecksum(bytes, 14, headerLength)).toBe(stored);
      }),
    );
  });
});

describe('pseudo-header', () => {
  test('IPv4 (RFC 768): src, dst, zero, protocol, length', () => {
    fc.assert(
      fc.property(arb.ipv4Address, arb.ipv4Address, arb.u8, arb.u16, (src, dst, protocol, length) => {
        const ip = new Uint8Array(20);
        new DataView(ip.buffer).setUint32(12, src);
        new DataView(ip.buffer).setUint32(16, dst);
        const pseudo = new Uint8Array(12);
        const view = new DataView(pseudo.buffer);
        view.setUint32(0, src);
        view.setUint32(4, dst);
        view.setUint8(9, protocol);
        view.setUint16(10, length);
        expect(fold(ipv4PseudoHeaderSum(ip, 0, protocol, length)) % 0xffff).toBe(naiveSum(pseudo, 0, 12) % 0xffff);
      }),
    );
  });

  test('IPv6 (RFC 8200 §8.1): src, dst, 32-bit length, zeros, next header', () => {
    fc.assert(
      fc.property(arb.ipv6Address, arb.ipv6Address, arb.u8, arb.u32, (src, dst, protocol, length) => {
        const ip = new Uint8Array(40);
        ip.set(src, 8);
        ip.set(dst, 24);
        const pseudo = new Uint8Array(40);
        pseudo.set(src, 0);
        pseudo.set(dst, 16);
        new DataView(pseudo.buffer).setUint32(32, length);
        pseudo[39] = protocol;
        expect(fold(ipv6PseudoHeaderSum(ip, 0, protocol, length)) % 0xffff).toBe(naiveSum(pseudo, 0, 40) % 0xffff);
      }),
    );
  });
});

describe('RFC 1624 incremental update', () => {
  test('the RFC 1624 §4 example: eqn. 3 gives 0x0000 where eqn. 2 gave -0', () => {
    expect(updateChecksum(0xdd2f, 0x5555, 0x3285)).toBe(0x0000);
  });

  test('equals a full recompute after changing any word of an IPv4 header', () => {
    fc.assert(
      fc.property(arb.ipv4Repr, fc.nat(), arb.u16, (repr, pick, newWord) => {
        const bytes = buildFrame({ eth: { dst: 1, src: 2 }, ipv4: { ...repr, protocol: 253 } });
        const headerLength = (bytes[14]! & 0xf) * 4;
        // Any 16-bit word but the checksum itself (word 5).
        let word = pick % (headerLength / 2);
        if (word === 5) word = 0;
        const at = 14 + 2 * word;
        const oldWord = (bytes[at]! << 8) | bytes[at + 1]!;
        const checksum = (bytes[24]! << 8) | bytes[25]!;
        bytes[at] = newWord >>> 8;
        bytes[at + 1] = newWord & 0xff;
        expect(updateChecksum(checksum, oldWord, newWord)).toBe(ipv4HeaderChecksum(bytes, 14, headerLength));
      }),
      { numRuns: 1000 },
    );
  });
});

const l4Spec: fc.Arbitrary<FrameSpec> = fc
  .record({
    v6: fc.boolean(),
    tcp: fc.boolean(),
    routed: fc.boolean(),
    vlan: fc.option(fc.integer({ min: 0, max: 4095 }), { nil: undefined }),
    src4: arb.ipv4Address,
    dst4: arb.ipv4Address,
    src6: arb.ipv6Address,
    dst6: arb.ipv6Address,
    final6: arb.ipv6Address,
    srcPort: arb.u16,
    dstPort: arb.u16,
    seq: arb.u32,
    payload: fc.uint8Array({ maxLength: 1600 }),
  })
  .map((r) => ({
    eth: { dst: 0x020000000002, src: 0x020000000001, vlan: r.vlan },
    ...(r.v6
      ? {
          ipv6: {
            src: r.src6,
            dst: r.dst6,
            // An SRH whose final segment, not DST, goes into the pseudo-header.
            extensions: r.routed ? [Ipv6Extension.routing(4, 1, [r.final6, r.dst6])] : [],
          },
        }
      : { ipv4: { src: r.src4, dst: r.dst4 } }),
    ...(r.tcp
      ? { tcp: { srcPort: r.srcPort, dstPort: r.dstPort, seq: r.seq, flags: 'P.' } }
      : { udp: { srcPort: r.srcPort, dstPort: r.dstPort } }),
    payload: r.payload,
  }));

describe('completePartialChecksum', () => {
  test('finishing a NEEDS_CSUM frame gives the bytes of the frame built with its checksum', () => {
    fc.assert(
      fc.property(l4Spec, fc.nat(40), (spec, before) => {
        const full = buildFrame({ ...spec, checksum: 'full' });
        const partial = buildFrame({ ...spec, checksum: 'partial' });
        const frame = new Frame();
        expect(frame.parse(full, 0, full.length)).toBeNull();
        expect(frame.transportChecksumValid()).toBe(true);
        const csumStart = frame.transportOffset;
        const csumOffset = frame.transport === IpProtocol.TCP ? TcpField.CHECKSUM : UdpField.CHECKSUM;
        // As in a batch buffer: the frame behind a vnet header and other frames.
        const buffer = new Uint8Array(before + partial.length + 8).fill(0x5a);
        buffer.set(partial, before);
        expect(completePartialChecksum(buffer, before, partial.length, csumStart, csumOffset)).toBeNull();
        expect(buffer.subarray(before, before + full.length)).toEqual(full);
        expect(buffer.subarray(0, before).every((b) => b === 0x5a)).toBe(true);
        expect(buffer.subarray(before + full.length).every((b) => b === 0x5a)).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  test('a checksum field beyond the frame is a bad vnet header, and nothing is written', () => {
    const frame = buildFrame({
      eth: { dst: 1, src: 2 },
      ipv4: { src: '10.0.0.1', dst: '10.0.0.2' },
      udp: { srcPort: 1, dstPort: 2 },
    });
    const copy = frame.slice();
    expect(completePartialChecksum(copy, 0, frame.length, 34, frame.length - 34 - 1)).toBe(FrameError.BAD_VNET_HDR);
    expect(copy).toEqual(frame);
  });
});
