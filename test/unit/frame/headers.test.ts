// Every header: parse(emit(repr)) gives the repr back, at any offset in a larger buffer; and each
// way a header can be wrong gives its named FrameError, shown on real captured frames.

import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { ARP_LEN, ArpView, arpRepr, emitArp } from '../../../src/frame/arp.js';
import { FrameError } from '../../../src/frame/error.js';
import { EthernetView, emitEthernet, ethernetHeaderLength, ethernetRepr } from '../../../src/frame/ethernet.js';
import { Frame } from '../../../src/frame/frame.js';
import { emitIcmp, IcmpView, icmpRepr } from '../../../src/frame/icmp.js';
import { emitIpv4, Ipv4View, ipv4HeaderLength, ipv4Repr } from '../../../src/frame/ipv4.js';
import { emitIpv6, Ipv6View, ipv6HeaderLength, ipv6Repr } from '../../../src/frame/ipv6.js';
import { emitTcp, TcpView, tcpHeaderLength, tcpRepr } from '../../../src/frame/tcp.js';
import { emitUdp, UdpView, udpRepr } from '../../../src/frame/udp.js';
import * as arb from './arbitraries.js';
import { loadFixture } from './fixtures.js';

const prefix = fc.integer({ min: 0, max: 64 });

/** A buffer with `before` bytes of noise, room for `length`, and some noise after. */
function buffer(before: number, length: number): Uint8Array {
  const bytes = new Uint8Array(before + length + 16);
  for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 151 + 7) & 0xff;
  return bytes;
}

describe('parse(emit(repr)) equals repr', () => {
  test('Ethernet with up to two VLAN tags', () => {
    fc.assert(
      fc.property(arb.ethernetRepr, prefix, (repr, at) => {
        const length = ethernetHeaderLength(repr);
        const bytes = buffer(at, length);
        expect(emitEthernet(repr, bytes, at)).toBe(length);
        const view = new EthernetView();
        expect(view.parse(bytes, at, length)).toBeNull();
        expect(ethernetRepr(view)).toEqual(repr);
        expect(view.payloadOffset).toBe(at + length);
      }),
    );
  });

  test('ARP', () => {
    fc.assert(
      fc.property(arb.arpRepr, prefix, (repr, at) => {
        const bytes = buffer(at, ARP_LEN);
        expect(emitArp(repr, bytes, at)).toBe(ARP_LEN);
        const view = new ArpView();
        expect(view.parse(bytes, at, ARP_LEN)).toBeNull();
        expect(arpRepr(view)).toEqual(repr);
      }),
    );
  });

  test('IPv4 with options and fragment fields', () => {
    fc.assert(
      fc.property(arb.ipv4Repr, prefix, (repr, at) => {
        const headerLength = ipv4HeaderLength(repr);
        const bytes = buffer(at, headerLength + repr.payloadLength);
        expect(emitIpv4(repr, bytes, at)).toBe(headerLength);
        const view = new Ipv4View();
        expect(view.parse(bytes, at, headerLength + repr.payloadLength)).toBeNull();
        expect(ipv4Repr(view)).toEqual(repr);
        expect(view.checksumValid()).toBe(true);
      }),
    );
  });

  test('IPv6 with extension headers', () => {
    fc.assert(
      fc.property(arb.ipv6Repr, prefix, (repr, at) => {
        const headerLength = ipv6HeaderLength(repr);
        const bytes = buffer(at, headerLength + repr.payloadLength);
        expect(emitIpv6(repr, bytes, at)).toBe(headerLength);
        const view = new Ipv6View();
        expect(view.parse(bytes, at, headerLength + repr.payloadLength)).toBeNull();
        expect(ipv6Repr(view)).toEqual(repr);
        expect(view.upperOffset).toBe(at + headerLength);
      }),
    );
  });

  test('ICMP', () => {
    fc.assert(
      fc.property(arb.icmpRepr, prefix, (repr, at) => {
        const bytes = buffer(at, 8);
        expect(emitIcmp(repr, bytes, at)).toBe(8);
        const view = new IcmpView();
        expect(view.parse(bytes, at, 8)).toBeNull();
        expect(icmpRepr(view)).toEqual(repr);
      }),
    );
  });

  test('UDP', () => {
    fc.assert(
      fc.property(arb.udpRepr, prefix, (repr, at) => {
        const bytes = buffer(at, 8 + repr.payloadLength);
        expect(emitUdp(repr, bytes, at)).toBe(8);
        const view = new UdpView();
        expect(view.parse(bytes, at, 8 + repr.payloadLength)).toBeNull();
        expect(udpRepr(view)).toEqual(repr);
      }),
    );
  });

  test('TCP with options', () => {
    fc.assert(
      fc.property(arb.tcpRepr, prefix, (repr, at) => {
        const headerLength = tcpHeaderLength(repr);
        const bytes = buffer(at, headerLength + repr.payloadLength);
        expect(emitTcp(repr, bytes, at)).toBe(headerLength);
        const view = new TcpView();
        expect(view.parse(bytes, at, headerLength + repr.payloadLength)).toBeNull();
        expect(tcpRepr(view)).toEqual(repr);
      }),
    );
  });
});

/** A captured frame with some bytes changed; returns the Frame's verdict. */
function mutated(name: string, edit: (bytes: Uint8Array) => void, cut = 0): FrameError | null {
  const bytes = loadFixture(name).bytes.slice();
  edit(bytes);
  return new Frame().parse(bytes, 0, bytes.length - cut);
}

const ETH = 14;
const IP4 = ETH; // IPv4 header offset in an untagged frame
const IP6 = ETH;

describe('Ethernet errors', () => {
  test('shorter than 14 bytes is a runt', () => {
    expect(mutated('arp-request', () => {}, 42 - 13)).toBe(FrameError.RUNT);
  });
  test('a VLAN TPID without its tag and the type after it is a truncated tag', () => {
    expect(mutated('vlan-arp-request', () => {}, 46 - 17)).toBe(FrameError.TRUNCATED_TAG);
  });
  test('a third stacked tag is one too many', () => {
    expect(
      mutated('qinq-icmp-echo-request', (b) => {
        b[20] = 0x81;
        b[21] = 0x00;
      }),
    ).toBe(FrameError.TOO_MANY_TAGS);
  });
});

describe('ARP errors', () => {
  test('a hardware type other than Ethernet is not ours to read', () => {
    expect(
      mutated('arp-request', (b) => {
        b[ETH + 1] = 6;
      }),
    ).toBe(FrameError.UNRECOGNIZED);
  });
  test('cut inside the addresses', () => {
    expect(mutated('arp-request', () => {}, 10)).toBe(FrameError.TRUNCATED);
  });
});

describe('IPv4 errors', () => {
  test('fewer than 20 bytes', () => {
    expect(mutated('ipv4-udp-csum', () => {}, 55 - ETH - 19)).toBe(FrameError.TRUNCATED);
  });
  test('a version other than 4', () => {
    expect(
      mutated('ipv4-udp-csum', (b) => {
        b[IP4] = 0x65;
      }),
    ).toBe(FrameError.BAD_HEADER);
  });
  test('a header length below 20 bytes', () => {
    expect(
      mutated('ipv4-udp-csum', (b) => {
        b[IP4] = 0x44;
      }),
    ).toBe(FrameError.BAD_HEADER);
  });
  test('a total length beyond the frame', () => {
    expect(mutated('ipv4-udp-csum', () => {}, 1)).toBe(FrameError.BAD_LENGTH);
  });
  test('a total length shorter than the header', () => {
    expect(
      mutated('ipv4-udp-csum', (b) => {
        b[IP4 + 2] = 0;
        b[IP4 + 3] = 19;
      }),
    ).toBe(FrameError.BAD_LENGTH);
  });
  test('a header length that runs past the total length', () => {
    expect(
      mutated('ipv4-udp-csum', (b) => {
        b[IP4] = 0x4f;
      }),
    ).toBe(FrameError.BAD_LENGTH);
  });
  test('an option whose length runs past the header', () => {
    // ping -R: NOP, then RR with length 39 in a 40-byte option area; 41 overruns it.
    expect(
      mutated('ipv4-options-rr', (b) => {
        b[IP4 + 22] = 41;
      }),
    ).toBe(FrameError.BAD_OPTIONS);
  });
  test('an option length below 2', () => {
    expect(
      mutated('ipv4-options-rr', (b) => {
        b[IP4 + 22] = 1;
      }),
    ).toBe(FrameError.BAD_OPTIONS);
  });
  test('Ethernet padding after the total length is fine', () => {
    const bytes = new Uint8Array(80);
    bytes.set(loadFixture('ipv4-udp-csum').bytes);
    expect(new Frame().parse(bytes, 0, 80)).toBeNull();
  });
});

describe('IPv6 errors', () => {
  test('fewer than 40 bytes', () => {
    expect(mutated('ipv6-udp-csum', () => {}, 75 - ETH - 39)).toBe(FrameError.TRUNCATED);
  });
  test('a version other than 6', () => {
    expect(
      mutated('ipv6-udp-csum', (b) => {
        b[IP6] = 0x40;
      }),
    ).toBe(FrameError.BAD_HEADER);
  });
  test('a payload length beyond the frame', () => {
    expect(mutated('ipv6-udp-csum', () => {}, 1)).toBe(FrameError.BAD_LENGTH);
  });
  test('a hop-by-hop header that is not first', () => {
    // DSTOPT → UDP becomes DSTOPT → HBH.
    expect(
      mutated('ipv6-dstopts-udp', (b) => {
        b[IP6 + 40] = 0;
      }),
    ).toBe(FrameError.BAD_HEADER);
  });
  test('an extension header whose length runs past the payload', () => {
    expect(
      mutated('ipv6-hbh-udp', (b) => {
        b[IP6 + 41] = 9;
      }),
    ).toBe(FrameError.BAD_LENGTH);
  });
  test('an extension header cut by the payload length', () => {
    expect(
      mutated('ipv6-hbh-udp', (b) => {
        b[IP6 + 4] = 0;
        b[IP6 + 5] = 4;
      }),
    ).toBe(FrameError.TRUNCATED);
  });
  test('an option TLV that runs past its header', () => {
    // The PadN at +2 claims 4 data bytes; 5 runs one past the 8-byte header.
    expect(
      mutated('ipv6-dstopts-udp', (b) => {
        b[IP6 + 43] = 5;
      }),
    ).toBe(FrameError.BAD_OPTIONS);
  });
});

describe('transport errors', () => {
  test('UDP: fewer than 8 bytes', () => {
    // Shrink the IPv4 total length so that only 7 bytes of UDP remain.
    expect(
      mutated('ipv4-udp-csum', (b) => {
        b[IP4 + 3] = 27;
      }),
    ).toBe(FrameError.TRUNCATED);
  });
  test('UDP: a length below 8', () => {
    expect(
      mutated('ipv4-udp-csum', (b) => {
        b[IP4 + 20 + 5] = 7;
      }),
    ).toBe(FrameError.BAD_LENGTH);
  });
  test('UDP: a length beyond the IP payload', () => {
    expect(
      mutated('ipv4-udp-csum', (b) => {
        b[IP4 + 20 + 5] = 22;
      }),
    ).toBe(FrameError.BAD_LENGTH);
  });
  test('UDP: a length short of the IP payload is legal', () => {
    expect(
      mutated('ipv4-udp-csum', (b) => {
        b[IP4 + 20 + 5] = 20;
      }),
    ).toBeNull();
  });
  test('TCP: a data offset below 5', () => {
    expect(
      mutated('ipv4-tcp-syn-csum', (b) => {
        b[IP4 + 20 + 12] = 0x40;
      }),
    ).toBe(FrameError.BAD_HEADER);
  });
  test('TCP: a data offset beyond the segment', () => {
    expect(
      mutated('ipv4-tcp-syn-csum', (b) => {
        b[IP4 + 20 + 12] = 0xb0;
      }),
    ).toBe(FrameError.BAD_LENGTH);
  });
  test('TCP: an option running past the header', () => {
    // The SYN's first option is MSS (kind 2, length 4); 30 runs past the 40-byte header.
    expect(
      mutated('ipv4-tcp-syn-csum', (b) => {
        b[IP4 + 20 + 21] = 30;
      }),
    ).toBe(FrameError.BAD_OPTIONS);
  });
  test('ICMP: fewer than 8 bytes', () => {
    expect(
      mutated('ipv4-icmp-echo-request', (b) => {
        b[IP4 + 2] = 0;
        b[IP4 + 3] = 27;
      }),
    ).toBe(FrameError.TRUNCATED);
  });
});
