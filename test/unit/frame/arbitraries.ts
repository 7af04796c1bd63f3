// fast-check generators for header reprs. Option lists are generated from their RFC framing
// (not with the builder's helpers), so the code under test does not make its own inputs.

import fc from 'fast-check';
import type { ArpRepr } from '../../../src/frame/arp.js';
import type { EthernetRepr } from '../../../src/frame/ethernet.js';
import type { IcmpRepr } from '../../../src/frame/icmp.js';
import type { Ipv4Repr } from '../../../src/frame/ipv4.js';
import type { Ipv6ExtensionRepr, Ipv6Repr } from '../../../src/frame/ipv6.js';
import type { TcpRepr } from '../../../src/frame/tcp.js';
import type { UdpRepr } from '../../../src/frame/udp.js';

export const u8 = fc.integer({ min: 0, max: 0xff });
export const u16 = fc.integer({ min: 0, max: 0xffff });
export const u32 = fc.tuple(u16, u16).map(([hi, lo]) => hi * 0x10000 + lo);
export const mac = fc.tuple(u16, u16, u16).map(([a, b, c]) => a * 2 ** 32 + b * 2 ** 16 + c);
export const ipv4Address = u32;
export const ipv6Address = fc.uint8Array({ minLength: 16, maxLength: 16 });

const VLAN_TPIDS = [0x8100, 0x88a8, 0x9100];

export const ethernetRepr: fc.Arbitrary<EthernetRepr> = fc.record({
  dst: mac,
  src: mac,
  tags: fc.array(fc.record({ tpid: fc.constantFrom(...VLAN_TPIDS), tci: u16 }), { maxLength: 2 }),
  etherType: u16.filter((t) => !VLAN_TPIDS.includes(t)),
});

export const arpRepr: fc.Arbitrary<ArpRepr> = fc.record({
  operation: u16,
  senderMac: mac,
  senderIp: ipv4Address,
  targetMac: mac,
  targetIp: ipv4Address,
});

/** IPv4 / TCP options (RFC 791, RFC 9293): NOPs and kind-length-data, then End and zero padding
 *  to a multiple of four, at most `max` bytes. */
export function kindLengthOptions(max: number): fc.Arbitrary<Uint8Array> {
  const option = fc.oneof(
    fc.constant([1]),
    fc
      .tuple(fc.integer({ min: 2, max: 255 }), fc.array(u8, { maxLength: 10 }))
      .map(([kind, data]) => [kind, data.length + 2, ...data]),
  );
  return fc.array(option, { maxLength: 8 }).map((options) => {
    let bytes: number[] = [];
    for (const o of options) if (bytes.length + o.length <= max) bytes = bytes.concat(o);
    while (bytes.length % 4 !== 0) bytes.push(0);
    return Uint8Array.from(bytes);
  });
}

/** IPv6 option TLVs (RFC 8200 §4.2) padded with Pad1 to 8n + 6 bytes: the body of a HBH or DSTOPT header. */
const ipv6OptionsBody = fc
  .array(
    fc.oneof(
      fc.constant([0]),
      fc
        .tuple(fc.integer({ min: 1, max: 255 }), fc.array(u8, { maxLength: 12 }))
        .map(([type, data]) => [type, data.length, ...data]),
    ),
    { maxLength: 5 },
  )
  .map((options) => {
    const bytes = options.flat();
    while (bytes.length % 8 !== 6) bytes.push(0);
    return Uint8Array.from(bytes);
  });

const routingBody = fc
  .tuple(u8, u8, u8, fc.array(ipv6Address, { maxLength: 3 }))
  .map(([type, segmentsLeft, lastEntry, addresses]) => {
    const body = new Uint8Array(6 + 16 * addresses.length);
    body[0] = type;
    body[1] = segmentsLeft;
    body[2] = lastEntry;
    addresses.forEach((a, i) => {
      body.set(a, 6 + 16 * i);
    });
    return body;
  });

/** A fragment header body: offset (8-byte units), M flag, identification. */
function fragmentBody(first: boolean): fc.Arbitrary<Uint8Array> {
  return fc
    .tuple(first ? fc.constant(0) : fc.integer({ min: 1, max: 8191 }), fc.boolean(), u32)
    .map(([units, more, id]) =>
      Uint8Array.from([
        units >>> 5,
        ((units & 0x1f) << 3) | (more ? 1 : 0),
        id >>> 24,
        (id >>> 16) & 0xff,
        (id >>> 8) & 0xff,
        id & 0xff,
      ]),
    );
}

/** AH (RFC 4302): reserved, SPI, sequence, an ICV that keeps the header a multiple of 8 bytes. */
const ahBody = fc
  .tuple(
    u32,
    u32,
    fc.integer({ min: 0, max: 3 }).chain((n) => fc.uint8Array({ minLength: 4 + 8 * n, maxLength: 4 + 8 * n })),
  )
  .map(([spi, seq, icv]) => {
    const body = new Uint8Array(10 + icv.length);
    const view = new DataView(body.buffer);
    view.setUint32(2, spi);
    view.setUint32(6, seq);
    body.set(icv, 10);
    return body;
  });

const UPPER = [6, 17, 58, 59, 50, 1, 2, 47, 132];

/** Extension headers as RFC 8200 allows them: hop-by-hop only first; a fragment header with a
 *  non-zero offset only last (what follows it is data, not headers). */
export const ipv6Extensions: fc.Arbitrary<Ipv6ExtensionRepr[]> = fc
  .tuple(
    fc.boolean(),
    fc.array(
      fc.oneof(
        ipv6OptionsBody.map((body) => ({ protocol: 60, body })),
        routingBody.map((body) => ({ protocol: 43, body })),
        fragmentBody(true).map((body) => ({ protocol: 44, body })),
        ahBody.map((body) => ({ protocol: 51, body })),
      ),
      { maxLength: 4 },
    ),
    fc.option(fragmentBody(false), { nil: undefined }),
    ipv6OptionsBody,
  )
  .map(([hbh, middle, laterFragment, hbhBody]) => {
    const list: Ipv6ExtensionRepr[] = hbh ? [{ protocol: 0, body: hbhBody }, ...middle] : middle;
    if (laterFragment) list.push({ protocol: 44, body: laterFragment });
    return list;
  });

export const ipv4Repr: fc.Arbitrary<Ipv4Repr> = fc.record({
  dscp: fc.integer({ min: 0, max: 63 }),
  ecn: fc.integer({ min: 0, max: 3 }),
  identification: u16,
  dontFragment: fc.boolean(),
  moreFragments: fc.boolean(),
  fragmentOffset: fc.integer({ min: 0, max: 8191 }).map((u) => u * 8),
  ttl: u8,
  protocol: u8,
  src: ipv4Address,
  dst: ipv4Address,
  options: kindLengthOptions(40),
  payloadLength: fc.integer({ min: 0, max: 1500 }),
});

export const ipv6Repr: fc.Arbitrary<Ipv6Repr> = fc.record({
  trafficClass: u8,
  flowLabel: fc.integer({ min: 0, max: 0xfffff }),
  hopLimit: u8,
  src: ipv6Address,
  dst: ipv6Address,
  extensions: ipv6Extensions,
  protocol: fc.constantFrom(...UPPER),
  payloadLength: fc.integer({ min: 0, max: 1500 }),
});

export const icmpRepr: fc.Arbitrary<IcmpRepr> = fc.record({ type: u8, code: u8, identifier: u16, sequence: u16 });

export const udpRepr: fc.Arbitrary<UdpRepr> = fc.record({
  srcPort: u16,
  dstPort: u16,
  payloadLength: fc.integer({ min: 0, max: 1500 }),
});

export const tcpRepr: fc.Arbitrary<TcpRepr> = fc.record({
  srcPort: u16,
  dstPort: u16,
  seq: u32,
  ack: u32,
  flags: fc.integer({ min: 0, max: 0xfff }),
  window: u16,
  urgent: u16,
  options: kindLengthOptions(40),
  payloadLength: fc.integer({ min: 0, max: 1500 }),
});
