// The built-in guest's answers, byte by byte, read back with tapyard's own frame views.

import { describe, expect, it } from 'vitest';
import { Frame } from '../../../src/frame/frame.js';
import { TcpFlag } from '../../../src/frame/tcp.js';
import { parseIpv4, parseIpv6 } from '../../../src/grammar/ip-address.js';
import { GuestHost } from '../../../src/guest/host.js';
import { BROADCAST } from '../../../src/mac.js';
import { buildFrame } from '../../../src/spec/build.js';

const MAC = 0x02_00_00_00_00_02;
const PEER = 0x02_00_00_00_00_01;
const host = () => new GuestHost({ mac: MAC, ipv4: parseIpv4('10.0.0.2')!, ipv6: parseIpv6('fd00::2'), udpEcho: 7 });
const parsed = (bytes: Uint8Array | null) => {
  expect(bytes).not.toBeNull();
  const f = new Frame();
  expect(f.parse(bytes!, 0, bytes!.length)).toBeNull();
  return f;
};
const answer = (h: GuestHost, bytes: Uint8Array) => h.receive(bytes, 0, bytes.length);

describe('the built-in guest', () => {
  it('announces itself with a gratuitous ARP', () => {
    const f = parsed(host().announce());
    expect(f.ethernet.dst).toBe(BROADCAST);
    expect(f.arp.senderIp).toBe(f.arp.targetIp);
  });

  it('answers an ARP request for its address, and only that', () => {
    const h = host();
    const ask = (ip: string) =>
      answer(h, buildFrame({ eth: { dst: BROADCAST, src: PEER }, arp: { senderIp: '10.0.0.1', targetIp: ip } }));
    const f = parsed(ask('10.0.0.2'));
    expect([f.arp.operation, f.arp.senderMac, f.arp.targetMac, f.ethernet.dst]).toEqual([2, MAC, PEER, PEER]);
    expect(ask('10.0.0.9')).toBeNull();
    expect(h.counts).toMatchObject({ arp: 2, answered: 1, unanswered: 1 });
  });

  it('echoes ping with the same id, sequence and payload; refuses a SYN with RST|ACK', () => {
    const h = host();
    const ip = { src: '10.0.0.1', dst: '10.0.0.2' };
    const echo = parsed(
      answer(
        h,
        buildFrame({ eth: { dst: MAC, src: PEER }, ipv4: ip, icmp: { identifier: 7, sequence: 3 }, payload: 'abc' }),
      ),
    );
    expect([echo.icmp.type, echo.icmp.identifier, echo.icmp.sequence, echo.ipv4.dst]).toEqual([
      0,
      7,
      3,
      parseIpv4('10.0.0.1'),
    ]);
    const rst = parsed(
      answer(
        h,
        buildFrame({
          eth: { dst: MAC, src: PEER },
          ipv4: ip,
          tcp: { srcPort: 5000, dstPort: 80, seq: 41, flags: 'S' },
        }),
      ),
    );
    expect(rst.tcp.flags).toBe(TcpFlag.RST | TcpFlag.ACK);
    expect([rst.tcp.ack, rst.tcp.dstPort]).toEqual([42, 5000]);
    const udp = parsed(
      answer(h, buildFrame({ eth: { dst: MAC, src: PEER }, ipv4: ip, udp: { srcPort: 9, dstPort: 7 }, payload: 'hi' })),
    );
    expect([udp.udp.srcPort, udp.udp.dstPort]).toEqual([7, 9]);
    // Another station's unicast is not its business: counted, not answered.
    expect(answer(h, buildFrame({ eth: { dst: 0x02_00_00_00_00_99, src: PEER }, ipv4: ip, icmp: {} }))).toBeNull();
  });

  it('advertises itself to a neighbour solicitation for its IPv6 address', () => {
    const h = host();
    const target = parseIpv6('fd00::2')!;
    const ns = buildFrame({
      eth: { dst: 0x33_33_ff_00_00_02, src: PEER },
      ipv6: { src: 'fd00::1', dst: 'ff02::1:ff00:2', hopLimit: 255 },
      icmp: { type: 135, code: 0, identifier: 0, sequence: 0 },
      payload: new Uint8Array([...target, 1, 1, 2, 0, 0, 0, 0, 1]),
    });
    const na = parsed(answer(h, ns));
    expect(na.icmp.type).toBe(136);
    expect(na.bytes[na.icmp.payloadOffset - 4]).toBe(0x60); // solicited, override
    expect([...na.bytes.subarray(na.icmp.payloadOffset, na.icmp.payloadOffset + 16)]).toEqual([...target]);
  });
});
