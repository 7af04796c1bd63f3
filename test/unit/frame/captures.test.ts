// Real frames, captured from the kernel (test/fixtures/frames/capture.sh), parsed and re-emitted.
// Every expected value comes from tcpdump's own decode of the same bytes, stored with the
// fixture: tcpdump is the independent parser here, the kernel the independent emitter.

import { describe, expect, test } from 'vitest';
import { emitFrame, frameRepr } from '../../../src/frame/build.js';
import { completePartialChecksum, fold } from '../../../src/frame/checksum.js';
import { EtherType } from '../../../src/frame/ethernet.js';
import { Frame, NONE } from '../../../src/frame/frame.js';
import { IcmpField } from '../../../src/frame/icmp.js';
import { formatIpv4, formatIpv6 } from '../../../src/frame/ip-address.js';
import { IpProtocol } from '../../../src/frame/ip-protocol.js';
import { ipv6Repr } from '../../../src/frame/ipv6.js';
import { formatTcpFlags, TcpField } from '../../../src/frame/tcp.js';
import { UdpField } from '../../../src/frame/udp.js';
import { formatMac } from '../../../src/mac.js';
import { type Fixture, fixtureNames, grab, loadFixture } from './fixtures.js';

const names = fixtureNames();

function parsed(fixture: Fixture): Frame {
  const frame = new Frame();
  expect(frame.parse(fixture.bytes, 0, fixture.bytes.length)).toBeNull();
  return frame;
}

/** tcpdump's verdict on the transport checksum: ok, or wrong with the value it should be. */
function checksumVerdict(v: string): { ok: true } | { ok: false; expected: number } | null {
  if (/\(correct\)|sum ok\]/.test(v)) return { ok: true };
  const wrong = /incorrect -> 0x([0-9a-f]{4})\)|bad udp cksum 0x[0-9a-f]+ -> 0x([0-9a-f]{4})!/.exec(v);
  if (wrong) return { ok: false, expected: parseInt(wrong[1] ?? wrong[2]!, 16) };
  return null;
}

function checksumField(frame: Frame): number {
  if (frame.transport === IpProtocol.UDP) return UdpField.CHECKSUM;
  if (frame.transport === IpProtocol.TCP) return TcpField.CHECKSUM;
  return IcmpField.CHECKSUM;
}

test('the capture produced the fixtures the tests name', () => {
  expect(names.length).toBeGreaterThanOrEqual(33);
});

describe.each(names)('%s', (name) => {
  const fixture = loadFixture(name);
  const e = fixture.tcpdump;
  const v = fixture.tcpdumpVerbose;

  test('Ethernet addresses, tags and length are what tcpdump decodes', () => {
    const frame = parsed(fixture);
    const [, src, dst] = /^(\S+) > (\S+), /.exec(e)!;
    expect(formatMac(frame.ethernet.src)).toBe(src);
    expect(formatMac(frame.ethernet.dst)).toBe(dst);
    expect(fixture.bytes.length).toBe(Number(grab(e, /, length (\d+): /)));
    const tags = [...e.matchAll(/vlan (\d+), p (\d+)/g)];
    expect(frame.ethernet.tagCount).toBe(tags.length);
    if (tags.length > 0) {
      expect(frame.ethernet.vid).toBe(Number(tags[0]![1]));
      expect(frame.ethernet.outerTci >>> 13).toBe(Number(tags[0]![2]));
      expect(frame.ethernet.outerTpid).toBe(parseInt(grab(e, /ethertype [^(]*\(0x([0-9a-f]{4})\)/), 16));
    }
    if (tags.length > 1) expect(frame.ethernet.innerTci & 0xfff).toBe(Number(tags[1]![1]));
  });

  test('emitting its repr gives the captured bytes back', () => {
    const frame = parsed(fixture);
    const verdict = checksumVerdict(v);
    const partial = verdict !== null && !verdict.ok;
    const bytes = emitFrame({ ...frameRepr(frame), checksum: partial ? 'partial' : 'full' });
    expect(Buffer.from(bytes).toString('hex')).toBe(Buffer.from(fixture.bytes).toString('hex'));
  });

  if (v.includes('ARP,')) {
    test('ARP fields', () => {
      const frame = parsed(fixture);
      expect(frame.network).toBe(EtherType.ARP);
      const arp = frame.arp;
      if (v.includes('Request')) {
        expect(arp.operation).toBe(1);
        expect(formatIpv4(arp.targetIp)).toBe(grab(v, /who-has (\S+)/));
        expect(formatIpv4(arp.senderIp)).toBe(grab(v, /tell (\S+),/));
        expect(arp.targetMac).toBe(0);
      } else {
        expect(arp.operation).toBe(2);
        expect(formatIpv4(arp.senderIp)).toBe(grab(v, /Reply (\S+) is-at/));
        expect(formatMac(arp.senderMac)).toBe(grab(v, /is-at (\S+),/));
      }
      expect(arp.senderMac).toBe(frame.ethernet.src);
    });
  }

  if (v.includes('IP (tos')) {
    test('IPv4 header fields and checksum', () => {
      const frame = parsed(fixture);
      const ip = frame.ipv4;
      expect(frame.network).toBe(EtherType.IPV4);
      expect(ip.ttl).toBe(Number(grab(v, /ttl (\d+)/)));
      expect(ip.identification).toBe(Number(grab(v, /id (\d+), offset/)));
      expect(ip.fragmentOffset).toBe(Number(grab(v, /offset (\d+)/)));
      const flags = grab(v, /flags \[([^\]]*)\]/);
      expect(ip.dontFragment).toBe(flags.includes('DF'));
      expect(ip.moreFragments).toBe(flags.includes('+'));
      expect(ip.protocol).toBe(Number(grab(v, /proto \S+ \((\d+)\)/)));
      expect(ip.totalLength).toBe(Number(grab(v, /proto \S+ \(\d+\), length (\d+)/)));
      expect(ip.optionsLength > 0).toBe(v.includes('options ('));
      const [, src, , dst] = /(\d+\.\d+\.\d+\.\d+)(?:\.(\d+))? > (\d+\.\d+\.\d+\.\d+)(?:\.(\d+))?:/.exec(v)!;
      expect(formatIpv4(ip.src)).toBe(src);
      expect(formatIpv4(ip.dst)).toBe(dst);
      // tcpdump -vv flags a wrong header checksum with "bad cksum"; the kernel computes it in software.
      expect(v).not.toContain('bad cksum');
      expect(ip.checksumValid()).toBe(true);
      expect(frame.ipProtocol).toBe(ip.protocol);
      expect(frame.transport === NONE).toBe(ip.isFragment);
    });
  }

  if (v.includes('IP6 (')) {
    test('IPv6 header fields and extension headers', () => {
      const frame = parsed(fixture);
      const ip = frame.ipv6;
      expect(frame.network).toBe(EtherType.IPV6);
      expect(ip.flowLabel).toBe(/flowlabel/.test(v) ? parseInt(grab(v, /flowlabel 0x([0-9a-f]+)/), 16) : 0);
      expect(ip.hopLimit).toBe(Number(grab(v, /hlim (\d+)/)));
      expect(ip.nextHeader).toBe(Number(grab(v, /next-header [^(]*\((\d+)\)/)));
      expect(ip.payloadLength).toBe(Number(grab(v, /payload length: (\d+)/)));
      const [, src, dst] = /\) ([0-9a-f:]+?)(?:\.\d+)? > ([0-9a-f:]+?)(?:\.\d+)?: /.exec(v)!;
      expect(formatIpv6(ip.bytes, ip.srcOffset)).toBe(src);
      expect(formatIpv6(ip.bytes, ip.dstOffset)).toBe(dst);
      // The extension headers in tcpdump's order.
      const names: Record<string, number> = { HBH: 0, DSTOPT: 60, RT6: 43, frag: 44 };
      const chain = [...v.matchAll(/\b(HBH|DSTOPT|RT6|frag) \(/g)].map((m) => names[m[1]!]);
      expect(ipv6Repr(ip).extensions.map((x) => x.protocol)).toEqual(chain);
      if (chain.includes(44)) {
        const [, id, offset, length] = /frag \((?:0x([0-9a-f]+):)?(\d+)\|(\d+)\)/.exec(v)!;
        if (id !== undefined) expect(ip.fragmentIdentification).toBe(parseInt(id, 16));
        expect(ip.fragmentOffset).toBe(Number(offset));
        expect(ip.upperLength).toBe(Number(length));
        expect(frame.transport).toBe(NONE);
      }
      if (v.includes('RT6 (')) {
        // With segments left, the pseudo-header destination is the final segment, [0] in an SRH.
        expect(Number(grab(v, /segleft=(\d+)/))).toBeGreaterThan(0);
        expect(formatIpv6(ip.bytes, ip.finalDestinationOffset)).toBe(grab(v, /\[0\]([0-9a-f:]+)/));
      }
    });
  }

  if (/ICMP6?,? echo (request|reply), id/.test(v)) {
    test('ICMP echo identifier and sequence', () => {
      const frame = parsed(fixture);
      // tcpdump decodes an echo in a first fragment too; we leave fragments alone.
      if (frame.transport === NONE) {
        expect(frame.ipv4.isFragment || frame.ipv6.isFragment).toBe(true);
        return;
      }
      expect(frame.transport).toBe(frame.network === EtherType.IPV4 ? IpProtocol.ICMP : IpProtocol.ICMPV6);
      expect(frame.icmp.identifier).toBe(Number(grab(v, /echo (?:request|reply), id (\d+)/)));
      expect(frame.icmp.sequence).toBe(Number(grab(v, /, seq (\d+)/)));
      expect(frame.icmp.type).toBe(
        v.includes('echo request')
          ? frame.network === EtherType.IPV4
            ? 8
            : 128
          : frame.network === EtherType.IPV4
            ? 0
            : 129,
      );
    });
  }

  // An address with a port: four dotted numbers and one more, or IPv6 text and a number.
  const ports = /(?:\d+\.\d+\.\d+\.\d+|[0-9a-f]*:[0-9a-f:]+)\.(\d+) > \S+\.(\d+): /.exec(v);
  if (ports !== null && !v.includes('frag (')) {
    test('ports', () => {
      const frame = parsed(fixture);
      const [, srcPort, dstPort] = ports;
      const l4 = frame.transport === IpProtocol.UDP ? frame.udp : frame.tcp;
      expect([IpProtocol.UDP, IpProtocol.TCP]).toContain(frame.transport);
      expect(l4.srcPort).toBe(Number(srcPort));
      expect(l4.dstPort).toBe(Number(dstPort));
      if (frame.transport === IpProtocol.UDP) {
        const ipPayload = frame.network === EtherType.IPV4 ? frame.ipv4.payloadLength : frame.ipv6.upperLength;
        expect(frame.udp.udpLength).toBe(ipPayload);
        if (v.includes('UDP, length')) expect(frame.udp.payloadLength).toBe(Number(grab(v, /UDP, length (\d+)/)));
      }
    });
  }

  if (v.includes('Flags [')) {
    test('TCP fields', () => {
      const frame = parsed(fixture);
      const tcp = frame.tcp;
      expect(formatTcpFlags(tcp.flags)).toBe(grab(v, /Flags \[([^\]]+)\]/));
      expect(tcp.seq).toBe(Number(grab(v, /seq (\d+)/)));
      if (/ack \d+/.test(v)) expect(tcp.ack).toBe(Number(grab(v, /ack (\d+)/)));
      expect(tcp.window).toBe(Number(grab(v, /win (\d+)/)));
      expect(tcp.payloadLength).toBe(Number(grab(v, /length (\d+)$/)));
      expect(tcp.optionsLength > 0).toBe(v.includes('options ['));
    });
  }

  const verdict = checksumVerdict(v);
  if (verdict?.ok) {
    test('the transport checksum verifies, as tcpdump says', () => {
      expect(parsed(fixture).transportChecksumValid()).toBe(true);
    });
  }
  if (verdict !== null && !verdict.ok) {
    test('an offloaded frame holds the pseudo-header sum; completing it gives what tcpdump computes', () => {
      const bytes = fixture.bytes.slice();
      const frame = new Frame();
      expect(frame.parse(bytes, 0, bytes.length)).toBeNull();
      expect(frame.transportChecksumValid()).toBe(false);
      const field = checksumField(frame);
      const at = frame.transportOffset + field;
      // The kernel left ~csum_tcpudp_magic(..., 0): our pseudo-header sum, folded.
      expect((bytes[at]! << 8) | bytes[at + 1]!).toBe(fold(frame.pseudoHeaderSum()));
      expect(completePartialChecksum(bytes, 0, bytes.length, frame.transportOffset, field)).toBeNull();
      expect((bytes[at]! << 8) | bytes[at + 1]!).toBe(verdict.expected);
      frame.parse(bytes, 0, bytes.length);
      expect(frame.transportChecksumValid()).toBe(true);
    });
  }
});
