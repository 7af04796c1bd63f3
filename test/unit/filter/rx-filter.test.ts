// virtio-net's receive filter, rule by rule, in QEMU's order (hw/net/virtio-net.c receive_filter).
// Frames are hex fixtures; every expectation is read off QEMU's code, not off the filter's.

import { describe, expect, it } from 'vitest';
import { isAccepted, MAC_TABLE_ENTRIES, RxFilter, RxVerdict, SpliceFilter } from '../../../src/filter/rx-filter.js';
import { EthernetView } from '../../../src/frame/ethernet.js';
import { parseMac } from '../../../src/mac.js';
import { describeReason } from '../../../src/reason.js';

const NIC = parseMac('52:54:00:12:34:56')!;
const OTHER = parseMac('52:54:00:aa:bb:cc')!;
const GROUP = parseMac('01:00:5e:00:00:fb')!;

function frame(hex: string): EthernetView {
  const bytes = Uint8Array.from(
    hex
      .replace(/\s+/g, '')
      .match(/../g)!
      .map((b) => parseInt(b, 16)),
  );
  const view = new EthernetView();
  expect(view.parse(bytes, 0, bytes.length)).toBeNull();
  return view;
}

//                 dst           src           type payload
const TO_NIC = frame('525400123456 020000000002 88b5 00112233445566778899aabbccddeeff');
const TO_OTHER = frame('525400aabbcc 020000000002 88b5 00112233445566778899aabbccddeeff');
const BCAST = frame('ffffffffffff 020000000002 0806 00112233445566778899aabbccddeeff');
const MCAST = frame('01005e0000fb 020000000002 0800 00112233445566778899aabbccddeeff');
const MCAST_OTHER = frame('01005e000001 020000000002 0800 00112233445566778899aabbccddeeff');
//                 dst           src           8100 TCI(vid 10) type
const VLAN10 = frame('525400123456 020000000002 8100 000a 0800 00112233445566778899aabbccddeeff');
const VLAN11_BCAST = frame('ffffffffffff 020000000002 8100 200b 0800 00112233445566778899aabbccddeeff');
//                 an 802.1ad S-tag: QEMU only compares offset 12 with 0x8100
const STAG10 = frame('525400123456 020000000002 88a8 000a 8100 0014 0800 00112233445566778899aabbccdd');

/** A filter as the Linux guest driver leaves it: promisc off, VLAN control negotiated or not. */
function guest(ctrlVlan = false): RxFilter {
  const f = new RxFilter(NIC);
  f.setFeatures({ ctrlVlan });
  f.setRxMode('promisc', false);
  return f;
}

describe('RxFilter', () => {
  it('resets promiscuous, with every other flag off and empty tables (virtio_net_reset)', () => {
    const f = new RxFilter(NIC);
    expect([f.promisc, f.allmulti, f.alluni, f.nomulti, f.nouni, f.nobcast]).toEqual([
      true,
      false,
      false,
      false,
      false,
      false,
    ]);
    expect([f.inUse, f.firstMulti, f.uniOverflow, f.multiOverflow]).toEqual([0, 0, false, false]);
    expect(f.check(TO_OTHER)).toBe(RxVerdict.ACCEPT_PROMISC);
    f.setRxMode('promisc', false);
    f.setRxMode('nobcast', true);
    f.setMac(OTHER);
    f.setMacTable([OTHER], [GROUP]);
    f.reset();
    expect(f.promisc).toBe(true);
    expect(f.nobcast).toBe(false);
    expect(f.mac).toBe(NIC);
    expect(f.inUse).toBe(0);
  });

  it('accepts promiscuously before looking at VLANs', () => {
    const f = new RxFilter(NIC);
    f.setFeatures({ ctrlVlan: true }); // every VLAN bit clear
    expect(f.check(VLAN10)).toBe(RxVerdict.ACCEPT_PROMISC);
  });

  it('after reset and before feature negotiation the VLAN map is empty, so tagged frames drop', () => {
    const f = new RxFilter(NIC);
    f.setRxMode('promisc', false);
    expect(f.check(VLAN10)).toBe(RxVerdict.DROP_VLAN);
  });

  it('passes every VLAN when CTRL_VLAN is not negotiated (virtio_net_set_features fills the map)', () => {
    expect(guest(false).check(VLAN10)).toBe(RxVerdict.ACCEPT_OWN_MAC);
  });

  it('with CTRL_VLAN drops a C-tagged frame until its VID is added, then applies the MAC rules', () => {
    const f = guest(true);
    expect(f.check(VLAN10)).toBe(RxVerdict.DROP_VLAN);
    f.setVlan(10, true);
    expect(f.check(VLAN10)).toBe(RxVerdict.ACCEPT_OWN_MAC);
    // The VLAN rule comes before the broadcast rule.
    expect(f.check(VLAN11_BCAST)).toBe(RxVerdict.DROP_VLAN);
    f.setVlan(11, true);
    expect(f.check(VLAN11_BCAST)).toBe(RxVerdict.ACCEPT_BROADCAST);
    f.setVlan(10, false);
    expect(f.check(VLAN10)).toBe(RxVerdict.DROP_VLAN);
    expect(f.check(TO_NIC)).toBe(RxVerdict.ACCEPT_OWN_MAC);
  });

  it('never filters an 802.1ad S-tag, whatever VLAN it carries', () => {
    expect(guest(true).check(STAG10)).toBe(RxVerdict.ACCEPT_OWN_MAC);
  });

  it('refuses VLAN ids outside 12 bits', () => {
    expect(() => guest(true).setVlan(4096, true)).toThrow(/VLAN id 4096/);
  });

  it('accepts broadcast unless nobcast, which beats allmulti', () => {
    const f = guest();
    expect(f.check(BCAST)).toBe(RxVerdict.ACCEPT_BROADCAST);
    f.setRxMode('allmulti', true);
    f.setRxMode('nobcast', true);
    expect(f.check(BCAST)).toBe(RxVerdict.DROP_NOBCAST);
  });

  it('multicast: nomulti beats allmulti; allmulti or overflow accept; else the table decides', () => {
    const f = guest();
    expect(f.check(MCAST)).toBe(RxVerdict.DROP_MULTI_UNKNOWN);
    f.setMacTable([], [GROUP]);
    expect(f.check(MCAST)).toBe(RxVerdict.ACCEPT_MULTI_TABLE);
    expect(f.check(MCAST_OTHER)).toBe(RxVerdict.DROP_MULTI_UNKNOWN);
    f.setRxMode('allmulti', true);
    expect(f.check(MCAST_OTHER)).toBe(RxVerdict.ACCEPT_ALLMULTI);
    f.setRxMode('nomulti', true);
    expect(f.check(MCAST)).toBe(RxVerdict.DROP_NOMULTI);
    // Broadcast is not subject to nomulti.
    expect(f.check(BCAST)).toBe(RxVerdict.ACCEPT_BROADCAST);
  });

  it('unicast: nouni beats alluni; alluni or overflow accept; else own MAC or the table', () => {
    const f = guest();
    expect(f.check(TO_NIC)).toBe(RxVerdict.ACCEPT_OWN_MAC);
    expect(f.check(TO_OTHER)).toBe(RxVerdict.DROP_UNI_UNKNOWN);
    f.setMacTable([OTHER], []);
    expect(f.check(TO_OTHER)).toBe(RxVerdict.ACCEPT_UNI_TABLE);
    f.setMacTable([], []);
    f.setRxMode('alluni', true);
    expect(f.check(TO_OTHER)).toBe(RxVerdict.ACCEPT_ALLUNI);
    f.setRxMode('nouni', true);
    expect(f.check(TO_NIC)).toBe(RxVerdict.DROP_NOUNI);
  });

  it('a multicast address in the unicast part of the table does not count, nor the reverse', () => {
    const f = guest();
    f.setMacTable([GROUP], [OTHER]);
    expect(f.check(MCAST)).toBe(RxVerdict.DROP_MULTI_UNKNOWN);
    expect(f.check(TO_OTHER)).toBe(RxVerdict.DROP_UNI_UNKNOWN);
  });

  it('follows the MAC address set by VIRTIO_NET_CTRL_MAC_ADDR_SET', () => {
    const f = guest();
    f.setMac(OTHER);
    expect(f.check(TO_OTHER)).toBe(RxVerdict.ACCEPT_OWN_MAC);
    expect(f.check(TO_NIC)).toBe(RxVerdict.DROP_UNI_UNKNOWN);
  });

  describe('the 64-entry table (virtio_net_handle_mac)', () => {
    const unicast = (n: number) => Array.from({ length: n }, (_, i) => 0x02_00_00_00_10_00 + i);
    const multicast = (n: number) => Array.from({ length: n }, (_, i) => 0x01_00_5e_00_10_00 + i);
    const to = (mac: number) => {
      const hex = mac.toString(16).padStart(12, '0');
      return frame(`${hex} 020000000002 88b5 00112233445566778899aabbccddeeff`);
    };

    it('holds 64 unicast entries exactly', () => {
      const f = guest();
      f.setMacTable(unicast(MAC_TABLE_ENTRIES), []);
      expect([f.uniOverflow, f.inUse, f.firstMulti]).toEqual([false, 64, 64]);
      expect(f.check(to(unicast(64)[63]!))).toBe(RxVerdict.ACCEPT_UNI_TABLE);
    });

    it('65 unicast entries store none and accept all unicast; multicast still has the whole table', () => {
      const f = guest();
      f.setMacTable(unicast(65), multicast(64));
      expect([f.uniOverflow, f.multiOverflow, f.firstMulti, f.inUse]).toEqual([true, false, 0, 64]);
      expect(f.check(TO_OTHER)).toBe(RxVerdict.ACCEPT_UNI_OVERFLOW);
      expect(f.check(to(multicast(64)[10]!))).toBe(RxVerdict.ACCEPT_MULTI_TABLE);
      expect(f.check(MCAST)).toBe(RxVerdict.DROP_MULTI_UNKNOWN);
    });

    it('multicast only gets what unicast left: 60 + 5 overflows multicast, not unicast', () => {
      const f = guest();
      f.setMacTable(unicast(60), multicast(5));
      expect([f.uniOverflow, f.multiOverflow, f.firstMulti, f.inUse]).toEqual([false, true, 60, 60]);
      expect(f.check(MCAST)).toBe(RxVerdict.ACCEPT_MULTI_OVERFLOW);
      expect(f.check(to(unicast(60)[59]!))).toBe(RxVerdict.ACCEPT_UNI_TABLE);
      expect(f.check(TO_OTHER)).toBe(RxVerdict.DROP_UNI_UNKNOWN);
    });

    it('a new table replaces the old one entirely', () => {
      const f = guest();
      f.setMacTable(unicast(65), []);
      f.setMacTable([OTHER], []);
      expect(f.uniOverflow).toBe(false);
      expect(f.check(to(0x02_00_00_00_10_05))).toBe(RxVerdict.DROP_UNI_UNKNOWN);
      expect(f.check(TO_OTHER)).toBe(RxVerdict.ACCEPT_UNI_TABLE);
    });
  });

  it('classifies every verdict as accept or drop', () => {
    for (const [name, v] of Object.entries(RxVerdict)) {
      expect(isAccepted(v)).toBe(name.startsWith('ACCEPT'));
      expect(describeReason(v).startsWith(name.startsWith('ACCEPT') ? 'accept: ' : "the guest NIC's")).toBe(true);
    }
  });
});

/** The splice's reading of RxFilter.spliceCell, as native/tapio.c filter_passes reads it. */
function splicePasses(cell: Uint8Array, f: EthernetView): boolean {
  const flags = cell[6]!;
  if ((flags & SpliceFilter.ALL) !== 0) return true;
  const dst = f.bytes.subarray(f.offset, f.offset + 6);
  if ((dst[0]! & 1) !== 0) return (flags & SpliceFilter.BROADCAST) !== 0 && dst.every((b) => b === 0xff);
  return (flags & SpliceFilter.OWN_MAC) !== 0 && dst.every((b, i) => b === cell[i]);
}

describe('RxFilter.spliceCell: what a splice may pass below JavaScript', () => {
  const modes = ['promisc', 'allmulti', 'alluni', 'nomulti', 'nouni', 'nobcast'] as const;
  const untagged = [TO_NIC, TO_OTHER, BCAST, MCAST, MCAST_OTHER];

  it('in every receive mode, with tables or without, and after a new MAC: only frames check() accepts', () => {
    for (let m = 0; m < 1 << modes.length; m++) {
      for (const table of [false, true]) {
        const f = guest();
        for (const [i, mode] of modes.entries()) f.setRxMode(mode, (m & (1 << i)) !== 0);
        if (table) f.setMacTable([OTHER], [GROUP]);
        for (const mac of [NIC, OTHER]) {
          f.setMac(mac);
          for (const frame of untagged)
            if (splicePasses(f.spliceCell, frame)) expect(isAccepted(f.check(frame))).toBe(true);
        }
      }
    }
  });

  it("passes the guest's own unicast and broadcast as a Linux guest sets it up, nothing else", () => {
    const f = guest();
    expect(untagged.map((frame) => splicePasses(f.spliceCell, frame))).toEqual([true, false, true, false, false]);
    f.reset();
    expect(untagged.every((frame) => splicePasses(f.spliceCell, frame))).toBe(true);
  });
});
