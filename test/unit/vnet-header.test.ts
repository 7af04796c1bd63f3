import { describe, expect, test } from 'vitest';
import { emitVnet, GsoType, VnetFlag, VnetView, vnetRepr } from '../../src/frame/vnet.js';

// Headers read from a macvtap in the lab with TUNSETOFFLOAD(CSUM|TSO4|TSO6), during an iperf3 run
// with MSS 1388 (iperf3 -M 1400 through a forwarder): the first is a pure ACK-sized frame
// whose checksum the kernel left partial, the second a 7006-byte TCPv4 GSO super-frame.
const PARTIAL_CSUM = '01000000000022001000';
const GSO_TCPV4 = '010142006c0522001000';

const hex = (s: string) => Uint8Array.from(Buffer.from(s, 'hex'));

describe('virtio_net_hdr', () => {
  test('reads the fields of a real GSO header (little-endian)', () => {
    const view = new VnetView().wrap(hex(GSO_TCPV4), 0);
    expect(vnetRepr(view)).toEqual({
      flags: VnetFlag.NEEDS_CSUM,
      gsoType: GsoType.TCPV4,
      hdrLen: 66,
      gsoSize: 1388,
      csumStart: 34,
      csumOffset: 16,
    });
    expect(view.isGso).toBe(true);
    expect(view.needsOffload).toBe(true);
    expect(view.check(7006)).toBeNull();
  });

  test('a partial checksum alone still needs offload work', () => {
    const view = new VnetView().wrap(hex(PARTIAL_CSUM), 0);
    expect(view.isGso).toBe(false);
    expect(view.needsOffload).toBe(true);
    expect(view.check(103)).toBeNull();
  });

  test('emit reproduces the captured bytes', () => {
    for (const fixture of [PARTIAL_CSUM, GSO_TCPV4]) {
      const out = new Uint8Array(10);
      emitVnet(vnetRepr(new VnetView().wrap(hex(fixture), 0)), out, 0);
      expect(Buffer.from(out).toString('hex')).toBe(fixture);
    }
  });

  test('check refuses what tap_get_user refuses', () => {
    const cases: [
      string,
      Partial<Record<'flags' | 'gsoType' | 'hdrLen' | 'gsoSize' | 'csumStart' | 'csumOffset', number>>,
      number,
    ][] = [
      ['unknown GSO type', { gsoType: 2 }, 100],
      ['GSO without a segment size', { gsoType: GsoType.TCPV6, gsoSize: 0 }, 100],
      ['header length past the frame', { hdrLen: 101 }, 100],
      ['checksum field past the frame', { flags: VnetFlag.NEEDS_CSUM, csumStart: 90, csumOffset: 9 }, 100],
    ];
    for (const [, fields, length] of cases) {
      const bytes = new Uint8Array(10);
      emitVnet({ flags: 0, gsoType: 0, hdrLen: 0, gsoSize: 0, csumStart: 0, csumOffset: 0, ...fields }, bytes, 0);
      expect(new VnetView().wrap(bytes, 0).check(length)).toBe('bad-vnet-hdr');
    }
    const ecn = new Uint8Array(10);
    emitVnet(
      { flags: 0, gsoType: GsoType.TCPV4 | GsoType.ECN, hdrLen: 54, gsoSize: 1448, csumStart: 0, csumOffset: 0 },
      ecn,
      0,
    );
    expect(new VnetView().wrap(ecn, 0).check(20054)).toBeNull();
  });
});
