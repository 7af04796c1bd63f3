// The builder: tagged frames crafted from tcpdump's description of a capture come out as the
// captured bytes; whole frames survive emit → parse → repr; specs that describe no frame are
// refused with a clear sentence.

import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { TapyardError } from '../../../src/error.js';
import { emitFrame, type FrameRepr, frameRepr } from '../../../src/frame/build.js';
import { EtherType } from '../../../src/frame/ethernet.js';
import { Frame } from '../../../src/frame/frame.js';
import { IpProtocol } from '../../../src/frame/ip-protocol.js';
import { parseMac } from '../../../src/mac.js';
import { buildFrame, type FrameSpec } from '../../../src/spec/build.js';
import * as arb from './arbitraries.js';
import { grab, loadFixture } from './fixtures.js';

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');

describe('VLAN and QinQ frames built from what tcpdump saw equal the captured bytes', () => {
  test('802.1Q ARP request', () => {
    const fixture = loadFixture('vlan-arp-request');
    const [, src, dst] = /^(\S+) > (\S+), /.exec(fixture.tcpdump)!;
    const built = buildFrame({
      eth: {
        src: src!,
        dst: dst!,
        tags: [{ vid: Number(grab(fixture.tcpdump, /vlan (\d+)/)), pcp: Number(grab(fixture.tcpdump, /, p (\d+)/)) }],
      },
      arp: {
        operation: 'request',
        senderIp: grab(fixture.tcpdump, /tell (\S+),/),
        targetIp: grab(fixture.tcpdump, /who-has (\S+) /),
      },
    });
    expect(hex(built)).toBe(hex(fixture.bytes));
  });

  /** An echo request as `ping` sent it: fields from tcpdump -vv, the 56 data bytes from the capture. */
  function echoSpec(name: string, tags: NonNullable<FrameSpec['eth']['tags']>): { spec: FrameSpec; bytes: Uint8Array } {
    const fixture = loadFixture(name);
    const v = fixture.tcpdumpVerbose;
    const [, src, dst] = /^(\S+) > (\S+), /.exec(fixture.tcpdump)!;
    const icmpLength = Number(grab(v, /seq \d+, length (\d+)/));
    return {
      bytes: fixture.bytes,
      spec: {
        eth: { src: src!, dst: dst!, tags },
        ipv4: {
          src: grab(v, /\) (\S+) > /),
          dst: grab(v, / > (\S+): ICMP/),
          ttl: Number(grab(v, /ttl (\d+)/)),
          identification: Number(grab(v, /id (\d+),/)),
          dontFragment: v.includes('[DF]'),
        },
        icmp: {
          type: 'echo-request',
          identifier: Number(grab(v, /request, id (\d+)/)),
          sequence: Number(grab(v, /seq (\d+)/)),
        },
        payload: fixture.bytes.slice(fixture.bytes.length - (icmpLength - 8)),
      },
    };
  }

  test('802.1Q echo request', () => {
    const fixture = loadFixture('vlan-icmp-echo-request');
    const { spec, bytes } = echoSpec('vlan-icmp-echo-request', [
      { vid: Number(grab(fixture.tcpdump, /vlan (\d+)/)), pcp: Number(grab(fixture.tcpdump, /, p (\d+)/)) },
    ]);
    expect(hex(buildFrame(spec))).toBe(hex(bytes));
  });

  test('802.1ad S-tag over an 802.1Q C-tag (QinQ) echo request', () => {
    const fixture = loadFixture('qinq-icmp-echo-request');
    const [outer, inner] = [...fixture.tcpdump.matchAll(/vlan (\d+)/g)].map((m) => Number(m[1]));
    expect(fixture.tcpdump).toContain('802.1Q-QinQ (0x88a8)');
    const { spec, bytes } = echoSpec('qinq-icmp-echo-request', [{ vid: outer! }, { vid: inner! }]);
    expect(hex(buildFrame(spec))).toBe(hex(bytes));
  });

  test('an untagged echo request rebuilt the same way', () => {
    const { spec, bytes } = echoSpec('ipv4-icmp-echo-request', []);
    expect(hex(buildFrame(spec))).toBe(hex(bytes));
  });
});

// --- whole frames through emit → parse → repr --------------------------------------------------

const RAW_PROTOCOLS = [47, 50, 59, 132];

const payload = fc.uint8Array({ maxLength: 300 });
const trailer = fc.uint8Array({ maxLength: 20 });

const transport = fc.oneof(
  fc.constant({}),
  arb.icmpRepr.map((icmp) => ({ icmp })),
  arb.udpRepr.map((udp) => ({ udp })),
  arb.tcpRepr.map((tcp) => ({ tcp })),
);

/** Frames that parse all the way: IP packets are not fragments when a transport header is there. */
const frameArb: fc.Arbitrary<FrameRepr> = fc.oneof(
  fc.record({ ethernet: arb.ethernetRepr, arp: arb.arpRepr, payload: fc.constant(new Uint8Array(0)), trailer }),
  fc.record({ ethernet: arb.ethernetRepr, ipv4: arb.ipv4Repr, t: transport, payload, trailer }).map(({ t, ...r }) => ({
    ...r,
    ...t,
    ipv4:
      Object.keys(t).length > 0
        ? { ...r.ipv4, moreFragments: false, fragmentOffset: 0 }
        : { ...r.ipv4, protocol: RAW_PROTOCOLS[r.ipv4.protocol % 4]! },
  })),
  fc.record({ ethernet: arb.ethernetRepr, ipv6: arb.ipv6Repr, t: transport, payload, trailer }).map(({ t, ...r }) => ({
    ...r,
    ...t,
    ipv6:
      Object.keys(t).length > 0
        ? { ...r.ipv6, extensions: r.ipv6.extensions.filter((x) => x.protocol !== IpProtocol.FRAGMENT) }
        : { ...r.ipv6, protocol: RAW_PROTOCOLS[r.ipv6.protocol % 4]! },
  })),
  fc.record({ ethernet: arb.ethernetRepr, payload, trailer: fc.constant(new Uint8Array(0)) }).map((r) => ({
    ...r,
    ethernet: {
      ...r.ethernet,
      etherType: [0x0800, 0x0806, 0x86dd].includes(r.ethernet.etherType) ? 0x88b5 : r.ethernet.etherType,
    },
  })),
);

/** What parsing the emitted frame must give: the lengths, types and protocols emit computes. */
function expected(repr: FrameRepr): FrameRepr {
  const out: FrameRepr = { ...repr };
  const l4 = repr.udp ? 8 : repr.tcp ? 20 + Math.ceil(repr.tcp.options.length / 4) * 4 : repr.icmp ? 8 : 0;
  const l4Length = l4 + repr.payload.length;
  const protocol = repr.udp ? 17 : repr.tcp ? 6 : repr.icmp ? (repr.ipv4 ? 1 : 58) : undefined;
  if (repr.arp) out.ethernet = { ...repr.ethernet, etherType: EtherType.ARP };
  if (repr.ipv4) {
    out.ethernet = { ...repr.ethernet, etherType: EtherType.IPV4 };
    out.ipv4 = { ...repr.ipv4, protocol: protocol ?? repr.ipv4.protocol, payloadLength: l4Length };
  }
  if (repr.ipv6) {
    out.ethernet = { ...repr.ethernet, etherType: EtherType.IPV6 };
    out.ipv6 = { ...repr.ipv6, protocol: protocol ?? repr.ipv6.protocol, payloadLength: l4Length };
  }
  if (repr.udp) out.udp = { ...repr.udp, payloadLength: repr.payload.length };
  if (repr.tcp) out.tcp = { ...repr.tcp, payloadLength: repr.payload.length };
  return out;
}

test('frameRepr(parse(emitFrame(repr))) equals repr with its lengths, types and protocols filled in', () => {
  const frame = new Frame();
  fc.assert(
    fc.property(frameArb, (repr) => {
      const bytes = emitFrame(repr);
      expect(frame.parse(bytes, 0, bytes.length)).toBeNull();
      expect(frameRepr(frame)).toEqual(expected(repr));
      if (frame.transport !== -1) expect(frame.transportChecksumValid()).toBe(true);
      if (frame.network === EtherType.IPV4) expect(frame.ipv4.checksumValid()).toBe(true);
    }),
    { numRuns: 1000 },
  );
});

test('a partial checksum is the folded pseudo-header sum, and only UDP/TCP get one', () => {
  const spec: FrameSpec = {
    eth: { src: 1, dst: 2 },
    ipv6: { src: 'fd77::1', dst: 'fd77::2' },
    icmp: {},
    payload: 'x',
    checksum: 'partial',
  };
  const frame = new Frame();
  const bytes = buildFrame(spec);
  frame.parse(bytes, 0, bytes.length);
  expect(frame.transportChecksumValid()).toBe(true);
});

describe('spec conveniences', () => {
  test('padTo pads with zeros to the Ethernet minimum, and the padding is not part of the packet', () => {
    const bytes = buildFrame({
      eth: { src: 1, dst: 0xffffffffffff },
      arp: { senderIp: '10.77.0.1', targetIp: '10.77.0.2' },
      padTo: 60,
    });
    expect(bytes.length).toBe(60);
    expect(bytes.subarray(42).every((b) => b === 0)).toBe(true);
    const frame = new Frame();
    expect(frame.parse(bytes, 0, 60)).toBeNull();
    expect(frameRepr(frame).trailer.length).toBe(18);
  });

  test('an ICMP echo request is type 8 over IPv4 and 128 over IPv6', () => {
    const frame = new Frame();
    const v4 = buildFrame({ eth: { src: 1, dst: 2 }, ipv4: { src: '10.0.0.1', dst: '10.0.0.2' }, icmp: {} });
    frame.parse(v4, 0, v4.length);
    expect([frame.transport, frame.icmp.type]).toEqual([IpProtocol.ICMP, 8]);
    const v6 = buildFrame({
      eth: { src: 1, dst: 2 },
      ipv6: { src: 'fd77::1', dst: 'fd77::2' },
      icmp: { type: 'echo-reply' },
    });
    frame.parse(v6, 0, v6.length);
    expect([frame.transport, frame.icmp.type]).toEqual([IpProtocol.ICMPV6, 129]);
  });

  test('TCP flags in tcpdump letters', () => {
    const frame = new Frame();
    const bytes = buildFrame({
      eth: { src: 1, dst: 2 },
      ipv4: { src: '10.0.0.1', dst: '10.0.0.2' },
      tcp: { srcPort: 1, dstPort: 2, flags: 'S.' },
    });
    frame.parse(bytes, 0, bytes.length);
    expect(frame.tcp.flags).toBe(0x12);
  });

  test('a UDP checksum that computes to 0 is sent as 0xffff (RFC 768: 0 means none)', () => {
    const base: FrameSpec = {
      eth: { src: 1, dst: 2 },
      ipv4: { src: '10.0.0.1', dst: '10.0.0.2' },
      udp: { srcPort: 1, dstPort: 2 },
    };
    // With a zero word as payload the checksum is c; a payload word of c makes the sum 0xffff.
    const first = buildFrame({ ...base, payload: new Uint8Array(2) });
    const c = (first[40]! << 8) | first[41]!;
    const bytes = buildFrame({ ...base, payload: Uint8Array.from([c >>> 8, c & 0xff]) });
    expect((bytes[40]! << 8) | bytes[41]!).toBe(0xffff);
    const frame = new Frame();
    frame.parse(bytes, 0, bytes.length);
    expect(frame.transportChecksumValid()).toBe(true);
  });

  test('the MAC and address text is parsed', () => {
    const bytes = buildFrame({
      eth: { src: '02:00:00:00:00:01', dst: '02:00:00:00:00:02' },
      ipv6: { src: '::ffff:10.0.0.1', dst: 'fd77::2' },
      udp: { srcPort: 5, dstPort: 6 },
    });
    const frame = new Frame();
    frame.parse(bytes, 0, bytes.length);
    expect(frame.ethernet.src).toBe(parseMac('02:00:00:00:00:01'));
    expect(Array.from(bytes.subarray(22 + 10, 22 + 16))).toEqual([0xff, 0xff, 10, 0, 0, 1]);
  });
});

describe('specs that describe no frame', () => {
  const eth = { src: 1, dst: 2 };
  const cases: Array<[string, FrameSpec]> = [
    ['UDP without IP', { eth, udp: { srcPort: 1, dstPort: 2 } }],
    ['IPv4 and IPv6 at once', { eth, ipv4: { src: '10.0.0.1', dst: '10.0.0.2' }, ipv6: { src: '::1', dst: '::2' } }],
    [
      'UDP and TCP at once',
      {
        eth,
        ipv4: { src: '10.0.0.1', dst: '10.0.0.2' },
        udp: { srcPort: 1, dstPort: 2 },
        tcp: { srcPort: 1, dstPort: 2 },
      },
    ],
    ['a bad MAC', { eth: { src: '02:00:00:00:00', dst: 2 } }],
    ['a bad IPv4 address', { eth, ipv4: { src: '10.0.0.256', dst: '10.0.0.2' } }],
    ['a bad IPv6 address', { eth, ipv6: { src: 'fd77:::1', dst: '::2' } }],
    ['a VLAN id above 4095', { eth: { ...eth, vlan: 4096 } }],
    ['44 bytes of IPv4 options', { eth, ipv4: { src: '10.0.0.1', dst: '10.0.0.2', options: new Uint8Array(44) } }],
    ['a fragment offset not a multiple of 8', { eth, ipv4: { src: '10.0.0.1', dst: '10.0.0.2', fragmentOffset: 12 } }],
    [
      'an IPv6 extension header of a bad size',
      { eth, ipv6: { src: '::1', dst: '::2', extensions: [{ protocol: 60, body: new Uint8Array(5) }] } },
    ],
    [
      'a payload beyond 65535 bytes',
      { eth, ipv4: { src: '10.0.0.1', dst: '10.0.0.2' }, payload: new Uint8Array(65536) },
    ],
    [
      'unknown TCP flag letters',
      { eth, ipv4: { src: '10.0.0.1', dst: '10.0.0.2' }, tcp: { srcPort: 1, dstPort: 2, flags: 'SX' } },
    ],
  ];
  test.each(cases)('%s', (_, spec) => {
    let thrown: unknown;
    try {
      buildFrame(spec);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(TapyardError);
    expect((thrown as TapyardError).code).toBe('bad-frame-spec');
    expect((thrown as TapyardError).message).toMatch(/^[A-Z0-9].*\.$/);
  });
});
