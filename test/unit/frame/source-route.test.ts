// An IPv4 source route (LSRR/SSRR, RFC 791 §3.1) with addresses still to visit: the final receiver
// sees the route's last address as the destination, so the UDP/TCP checksum is computed (by send)
// and verified (by the parser) against that address, as scapy does since secdev/scapy#3074.

import { describe, expect, test } from 'vitest';
import { Frame } from '../../../src/frame/frame.js';
import { parseMac } from '../../../src/mac.js';
import { frameBytes, readFrameSpec } from '../../../src/send/frame-spec.js';

const ME = parseMac('02:00:00:00:00:01')!;

/** The Internet checksum of a UDP datagram over the pseudo-header with SRC and DST. */
function udpChecksum(udp: Uint8Array, src: number[], dst: number[]): number {
  const words = [...src, ...dst, 0, 17, udp.length >> 8, udp.length & 0xff, ...udp];
  if (words.length % 2 === 1) words.push(0);
  let sum = 0;
  for (let i = 0; i < words.length; i += 2) sum += (words[i]! << 8) | words[i + 1]!;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff || 0xffff;
}

function udpFrame(opts: string, tcp = false): { bytes: Uint8Array; udp: Uint8Array } {
  const l4 = tcp ? 'tcp dport=80' : 'udp dport=7';
  const spec = `eth dst=02:00:00:00:00:02 / ipv4 src=10.0.0.1 dst=10.0.0.2 opts=${opts} / ${l4} / text hi`;
  const bytes = frameBytes(readFrameSpec(spec), ME);
  const ihl = (bytes[14]! & 0xf) * 4;
  return { bytes, udp: bytes.slice(14 + ihl) };
}

function zeroChecksum(udp: Uint8Array): Uint8Array {
  const copy = udp.slice();
  copy[6] = 0;
  copy[7] = 0;
  return copy;
}

describe.each([
  ['LSRR', '83'],
  ['SSRR', '89'],
])('%s', (_name, type) => {
  test("with addresses left: the checksum is over the route's last address, and verifies", () => {
    // pointer 4: the first address (10.0.0.3) is the next to visit, the last (10.0.0.4) the final one.
    const { bytes, udp } = udpFrame(`${type}:0b:04:0a:00:00:03:0a:00:00:04:00`);
    const sent = (udp[6]! << 8) | udp[7]!;
    expect(sent).toBe(udpChecksum(zeroChecksum(udp), [10, 0, 0, 1], [10, 0, 0, 4]));
    expect(sent).not.toBe(udpChecksum(zeroChecksum(udp), [10, 0, 0, 1], [10, 0, 0, 2]));
    const frame = new Frame();
    frame.parse(bytes, 0, bytes.length);
    expect(frame.transportChecksumValid()).toBe(true);
    // The same datagram checksummed over the header's destination fails where it arrives.
    const wrong = udpChecksum(zeroChecksum(udp), [10, 0, 0, 1], [10, 0, 0, 2]);
    const ihl = (bytes[14]! & 0xf) * 4;
    bytes[14 + ihl + 6] = wrong >> 8;
    bytes[14 + ihl + 7] = wrong & 0xff;
    frame.parse(bytes, 0, bytes.length);
    expect(frame.transportChecksumValid()).toBe(false);
  });

  test("a route already followed (pointer past its end): the header's destination", () => {
    const { bytes, udp } = udpFrame(`${type}:0b:0c:0a:00:00:03:0a:00:00:04:00`);
    expect((udp[6]! << 8) | udp[7]!).toBe(udpChecksum(zeroChecksum(udp), [10, 0, 0, 1], [10, 0, 0, 2]));
    const frame = new Frame();
    frame.parse(bytes, 0, bytes.length);
    expect(frame.transportChecksumValid()).toBe(true);
  });
});

test('TCP with a loose source route: checksum verifies against the last address', () => {
  const { bytes } = udpFrame('01:83:07:04:0a:00:00:09', true);
  const frame = new Frame();
  frame.parse(bytes, 0, bytes.length);
  expect(frame.transportChecksumValid()).toBe(true);
  // Changing the header's destination (the next hop) does not change what the checksum covers.
  bytes[14 + 16 + 3] = 77;
  frame.parse(bytes, 0, bytes.length);
  expect(frame.transportChecksumValid()).toBe(true);
});
