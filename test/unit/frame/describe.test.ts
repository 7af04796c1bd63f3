// describe(): the line format, checked on the captures against what tcpdump printed for the
// same bytes, and on malformed frames.

import { describe, expect, test } from 'vitest';
import { describe as describeFrame } from '../../../src/frame/describe.js';
import { buildFrame } from '../../../src/spec/build.js';
import { fixtureNames, grab, loadFixture } from './fixtures.js';

const line = (bytes: Uint8Array) => describeFrame(bytes, 0, bytes.length);

describe('the format', () => {
  test('ARP in a VLAN', () => {
    const bytes = buildFrame({
      eth: { src: '02:00:00:00:00:01', dst: 'ff:ff:ff:ff:ff:ff', vlan: 10 },
      arp: { senderIp: '10.77.0.1', targetIp: '10.77.0.2' },
    });
    expect(line(bytes)).toBe('02:00:00:00:00:01 > ff:ff:ff:ff:ff:ff vlan 10 ARP who-has 10.77.0.2 tell 10.77.0.1');
  });

  test('an ICMP echo request', () => {
    const bytes = buildFrame({
      eth: { src: '02:00:00:00:00:01', dst: '02:00:00:00:00:02' },
      ipv4: { src: '10.77.0.1', dst: '10.77.0.2' },
      icmp: { identifier: 7, sequence: 1 },
    });
    expect(line(bytes)).toBe(
      '02:00:00:00:00:01 > 02:00:00:00:00:02 IPv4 10.77.0.1 > 10.77.0.2 ICMP echo request id 7 seq 1',
    );
  });

  test('UDP over IPv6 to a multicast group', () => {
    const bytes = buildFrame({
      eth: { src: '02:00:00:00:00:01', dst: '33:33:00:00:00:fb' },
      ipv6: { src: 'fd77::1', dst: 'ff02::fb' },
      udp: { srcPort: 5353, dstPort: 5353 },
      payload: new Uint8Array(40),
    });
    expect(line(bytes)).toBe('02:00:00:00:00:01 > 33:33:00:00:00:fb IPv6 fd77::1.5353 > ff02::fb.5353 UDP len 40');
  });

  test('QinQ, TCP flags, another EtherType', () => {
    const tcp = buildFrame({
      eth: { src: 1, dst: 2, tags: [{ vid: 100 }, { vid: 20, pcp: 3 }] },
      ipv4: { src: '10.0.0.1', dst: '10.0.0.2' },
      tcp: { srcPort: 40000, dstPort: 80, seq: 5, ack: 9, flags: 'P.', window: 512 },
      payload: 'GET /',
    });
    expect(line(tcp)).toBe(
      '00:00:00:00:00:01 > 00:00:00:00:00:02 s-vlan 100 vlan 20 p 3 ' +
        'IPv4 10.0.0.1.40000 > 10.0.0.2.80 TCP [P.] seq 5 ack 9 win 512 len 5',
    );
    const other = buildFrame({ eth: { src: 1, dst: 2, etherType: 0x88b5 }, payload: new Uint8Array(46) });
    expect(line(other)).toBe('00:00:00:00:00:01 > 00:00:00:00:00:02 ethertype 0x88b5 len 46');
  });
});

describe('malformed frames', () => {
  const good = buildFrame({
    eth: { src: 1, dst: 2 },
    ipv4: { src: '10.0.0.1', dst: '10.0.0.2' },
    udp: { srcPort: 1, dstPort: 2 },
    payload: 'abcd',
  });

  test('a runt', () => {
    expect(describeFrame(good, 0, 9)).toBe('runt (9 bytes)');
  });

  test('a VLAN tag cut short', () => {
    const bytes = buildFrame({ eth: { src: 1, dst: 2, vlan: 5 }, payload: new Uint8Array(0) });
    expect(describeFrame(bytes, 0, 16)).toBe(
      '00:00:00:00:00:01 > 00:00:00:00:00:02 malformed: truncated-vlan-tag (16 bytes)',
    );
  });

  test('an IPv4 total length beyond the frame', () => {
    expect(describeFrame(good, 0, good.length - 1)).toBe(
      '00:00:00:00:00:01 > 00:00:00:00:00:02 IPv4 malformed: bad-length (31 bytes)',
    );
  });

  test('a UDP length beyond the IP payload', () => {
    const bytes = good.slice();
    bytes[14 + 20 + 5] = 100;
    expect(line(bytes)).toBe(
      '00:00:00:00:00:01 > 00:00:00:00:00:02 IPv4 10.0.0.1 > 10.0.0.2 UDP malformed: bad-length (12 bytes)',
    );
  });
});

describe.each(fixtureNames())('%s as tcpdump saw it', (name) => {
  const fixture = loadFixture(name);
  const text = line(fixture.bytes);
  const e = fixture.tcpdump;

  test('the same MAC addresses', () => {
    const [, src, dst] = /^(\S+) > (\S+), /.exec(e)!;
    expect(text.startsWith(`${src} > ${dst} `)).toBe(true);
  });

  const v = fixture.tcpdumpVerbose;

  if (v.startsWith('ARP')) {
    test('the same ARP question or answer', () => {
      if (v.includes('Request')) {
        expect(text).toContain(`ARP who-has ${grab(v, /who-has (\S+)/)} tell ${grab(v, /tell ([^,]+),/)}`);
      } else {
        expect(text).toContain(`ARP reply ${grab(v, /Reply (\S+)/)} is-at ${grab(v, /is-at ([^,]+),/)}`);
      }
    });
  }

  const host = String.raw`(\d+\.\d+\.\d+\.\d+|[0-9a-f]*:[0-9a-f:]+?)(?:\.(\d+))?`;
  const ip = new RegExp(String.raw`(?:\) |^)${host} > ${host}: `).exec(v);
  if (ip !== null) {
    test('the same IP addresses and ports', () => {
      const [, src, srcPort, dst, dstPort] = ip;
      expect(text).toContain(` ${src}`);
      expect(text).toContain(` > ${dst}`);
      // tcpdump puts ports on the addresses, or after the extension headers as "a > b: UDP".
      const ports = srcPort !== undefined ? [srcPort, dstPort] : /: (?:\S+ )*?(\d+) > (\d+): /.exec(v)?.slice(1);
      if (ports !== undefined && !v.includes('frag (')) {
        expect(text).toContain(`${src}.${ports[0]} > ${dst}.${ports[1]}`);
      }
    });
  }

  if (/echo (request|reply), id/.test(v) && !/flags \[\+\]|frag \(/.test(v)) {
    test('the same echo identifier and sequence', () => {
      expect(text).toContain(
        `echo ${grab(v, /echo (request|reply)/)} id ${grab(v, /, id (\d+), seq/)} seq ${grab(v, /seq (\d+)/)}`,
      );
    });
  }
});
