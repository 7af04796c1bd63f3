// virtio-net's receive filter: which frames a guest NIC accepts, in QEMU's order
// (hw/net/virtio-net.c: receive_filter, virtio_net_reset, virtio_net_set_features,
// virtio_net_handle_rx_mode, virtio_net_handle_mac, virtio_net_handle_vlan_table).
//
//   1. promisc                                   → accept
//   2. TPID 0x8100 and the VID's bit clear        → drop   (C-tag only; an S-tag is never looked at)
//   3. group bit set: broadcast → !nobcast; nomulti → drop; allmulti or multi_overflow → accept;
//                     else exact match in table[firstMulti, inUse)
//   4. unicast:       nouni → drop; alluni or uni_overflow → accept; own MAC or exact match in
//                     table[0, firstMulti) → accept
//   5. anything else                              → drop
//
// A dropped frame is consumed (QEMU's receive returns its size), so the sender never learns.
// Checking a frame allocates nothing: the verdict is one of the constants below.

import { TapyardError } from '../error.js';
import { u16 } from '../frame/bytes.js';
import { type EthernetView, EtherType } from '../frame/ethernet.js';
import { type Mac, readMac, writeMac } from '../mac.js';
import { reasons } from '../reason.js';
import { isBroadcastAt, isGroupAt } from '../switch/frame-address.js';

/** Why a frame was accepted or dropped: a drop's key is what the port's counters show. */
export const RxVerdict = reasons({
  ACCEPT_PROMISC: ['rx-filter-accept-promisc', 'accept: promiscuous'],
  ACCEPT_BROADCAST: ['rx-filter-accept-broadcast', 'accept: broadcast'],
  ACCEPT_ALLMULTI: ['rx-filter-accept-allmulti', 'accept: all-multicast'],
  ACCEPT_MULTI_OVERFLOW: ['rx-filter-accept-multi-overflow', 'accept: multicast table overflowed, so all multicast'],
  ACCEPT_MULTI_TABLE: ['rx-filter-accept-multi-table', 'accept: multicast address in the MAC table'],
  ACCEPT_ALLUNI: ['rx-filter-accept-alluni', 'accept: all-unicast'],
  ACCEPT_UNI_OVERFLOW: ['rx-filter-accept-uni-overflow', 'accept: unicast table overflowed, so all unicast'],
  ACCEPT_OWN_MAC: ['rx-filter-accept-own-mac', "accept: the NIC's own MAC"],
  ACCEPT_UNI_TABLE: ['rx-filter-accept-uni-table', 'accept: unicast address in the MAC table'],
  DROP_VLAN: ['rx-filter-vlan', "the guest NIC's receive filter dropped it: VLAN id not in the VLAN filter"],
  DROP_NOBCAST: ['rx-filter-nobcast', "the guest NIC's receive filter dropped it: broadcast refused (nobcast)"],
  DROP_NOMULTI: ['rx-filter-nomulti', "the guest NIC's receive filter dropped it: multicast refused (nomulti)"],
  DROP_MULTI_UNKNOWN: [
    'rx-filter-multicast',
    "the guest NIC's receive filter dropped it: multicast address not in the MAC table",
  ],
  DROP_NOUNI: ['rx-filter-nouni', "the guest NIC's receive filter dropped it: unicast refused (nouni)"],
  DROP_UNI_UNKNOWN: [
    'rx-filter-unicast',
    "the guest NIC's receive filter dropped it: unicast address is neither the MAC nor in the table",
  ],
});

export type RxVerdict = (typeof RxVerdict)[keyof typeof RxVerdict];

/** Every verdict not listed here accepts. The six drops are compared one by one: constant keys
 *  compare as pointers, three times cheaper per frame than the hash lookup of a Set.has. */
export function isAccepted(verdict: RxVerdict): boolean {
  return !(
    verdict === RxVerdict.DROP_UNI_UNKNOWN ||
    verdict === RxVerdict.DROP_MULTI_UNKNOWN ||
    verdict === RxVerdict.DROP_VLAN ||
    verdict === RxVerdict.DROP_NOBCAST ||
    verdict === RxVerdict.DROP_NOMULTI ||
    verdict === RxVerdict.DROP_NOUNI
  );
}

/**
 * Byte 6 of RxFilter.spliceCell: the frames the filter accepts in every state of its tables, by
 * steps 1, 3 and 4 above (a tagged frame never passes below JavaScript, so step 2 does not arise).
 */
export const SpliceFilter = { ALL: 1, OWN_MAC: 2, BROADCAST: 4 } as const;

/** QEMU's MAC_TABLE_ENTRIES: unicast and multicast share one table of 64. */
export const MAC_TABLE_ENTRIES = 64;
/** 802.1Q: 12-bit VLAN ids. */
export const MAX_VLAN = 4096;

/** The VIRTIO_NET_CTRL_RX commands, each an on/off switch. */
export type RxMode = 'promisc' | 'allmulti' | 'alluni' | 'nomulti' | 'nouni' | 'nobcast';

export class RxFilter {
  promisc = true;
  allmulti = false;
  alluni = false;
  nomulti = false;
  nouni = false;
  nobcast = false;
  /** One bit per VLAN id. */
  readonly vlans = new Uint32Array(MAX_VLAN / 32);
  /** Unicast entries in [0, firstMulti), multicast in [firstMulti, inUse): entry i is the MAC's
   *  six bytes at [6i, 6i + 6), compared with a frame's address two bytes at a time (see own). */
  readonly table = new Uint8Array(6 * MAC_TABLE_ENTRIES);
  inUse = 0;
  firstMulti = 0;
  uniOverflow = false;
  multiOverflow = false;
  /** The NIC's own MAC as six bytes. A frame's address is compared with it, and with the table,
   *  16 bits at a time: small integers. A MAC as one number is a double, and a double (as any
   *  number past 2^30) that crosses a call V8 did not inline is boxed, an allocation per frame. */
  private readonly own = new Uint8Array(6);

  constructor(
    /** The MAC the NIC was configured with (QEMU's conf->macaddr); reset restores it. */
    readonly configuredMac: Mac,
    mac: Mac = configuredMac,
  ) {
    this.reset();
    this.setMac(mac);
  }

  /** The NIC's own MAC (VIRTIO_NET_CTRL_MAC_ADDR_SET changes it). */
  get mac(): Mac {
    return readMac(this.own, 0);
  }

  /**
   * What a splice may let through below JavaScript (tapio.c filter_passes): the NIC's MAC in bytes
   * 0-5, and in byte 6 which frames this filter accepts whatever else it holds (SpliceFilter).
   * Every other frame goes to the loop, which runs check() and names the drop. Kept current by
   * the mutators below.
   */
  readonly spliceCell = new Uint8Array(8);

  /** virtio_net_reset: promiscuous "for compatibility", every other flag off, tables empty. */
  reset(): void {
    this.promisc = true;
    this.allmulti = this.alluni = this.nomulti = this.nouni = this.nobcast = false;
    this.inUse = this.firstMulti = 0;
    this.uniOverflow = this.multiOverflow = false;
    this.table.fill(0);
    this.setMac(this.configuredMac);
    // Reset clears the VLAN map; feature negotiation (setFeatures) then opens it unless the
    // guest takes control of it with VIRTIO_NET_F_CTRL_VLAN.
    this.vlans.fill(0);
  }

  /** virtio_net_set_features: without CTRL_VLAN the guest cannot filter, so every VLAN passes. */
  setFeatures(features: { ctrlVlan: boolean }): void {
    this.vlans.fill(features.ctrlVlan ? 0 : 0xffff_ffff);
  }

  /** VIRTIO_NET_CTRL_RX_*. */
  setRxMode(mode: RxMode, on: boolean): void {
    this[mode] = on;
    this.syncSpliceCell();
  }

  /** VIRTIO_NET_CTRL_MAC_ADDR_SET. */
  setMac(mac: Mac): void {
    writeMac(this.own, 0, mac);
    this.syncSpliceCell();
  }

  private syncSpliceCell(): void {
    const cell = this.spliceCell;
    cell.set(this.own, 0);
    cell[6] =
      (this.promisc ? SpliceFilter.ALL : 0) |
      (this.nouni ? 0 : SpliceFilter.OWN_MAC) |
      (this.nobcast ? 0 : SpliceFilter.BROADCAST);
  }

  /**
   * VIRTIO_NET_CTRL_MAC_TABLE_SET. A list that does not fit is not stored at all: its overflow
   * flag opens the filter for that whole class instead. The multicast list only gets the
   * entries the unicast list left free.
   */
  setMacTable(unicast: readonly Mac[], multicast: readonly Mac[]): void {
    let inUse = 0;
    this.table.fill(0);
    this.uniOverflow = unicast.length > MAC_TABLE_ENTRIES;
    if (!this.uniOverflow) for (const mac of unicast) writeMac(this.table, 6 * inUse++, mac);
    this.firstMulti = inUse;
    this.multiOverflow = multicast.length > MAC_TABLE_ENTRIES - inUse;
    if (!this.multiOverflow) for (const mac of multicast) writeMac(this.table, 6 * inUse++, mac);
    this.inUse = inUse;
  }

  /** VIRTIO_NET_CTRL_VLAN_ADD / _DEL. */
  setVlan(vid: number, on: boolean): void {
    if (!Number.isInteger(vid) || vid < 0 || vid >= MAX_VLAN) {
      throw new TapyardError('EINVAL', `VLAN id ${vid} is outside 0..${MAX_VLAN - 1}`);
    }
    if (on) this.vlans[vid >>> 5]! |= 1 << (vid & 31);
    else this.vlans[vid >>> 5]! &= ~(1 << (vid & 31));
  }

  hasVlan(vid: number): boolean {
    return (this.vlans[vid >>> 5]! & (1 << (vid & 31))) !== 0;
  }

  /** receive_filter for one frame. The group and unicast halves are functions of their own, so
   *  that V8 can inline the half a frame needs without the other. */
  check(frame: EthernetView): RxVerdict {
    if (this.promisc) return RxVerdict.ACCEPT_PROMISC;
    const bytes = frame.bytes;
    const at = frame.offset;
    // QEMU compares the two bytes at offset 12 with 0x8100 and nothing else: an 802.1ad
    // outer tag passes whatever VLAN it carries.
    if (frame.length >= 16 && u16(bytes, at + 12) === EtherType.VLAN && !this.hasVlan(u16(bytes, at + 14) & 0xfff))
      return RxVerdict.DROP_VLAN;
    return isGroupAt(bytes, at) ? this.checkGroup(bytes, at) : this.checkUnicast(bytes, at);
  }

  private checkGroup(bytes: Uint8Array, at: number): RxVerdict {
    if (isBroadcastAt(bytes, at)) return this.nobcast ? RxVerdict.DROP_NOBCAST : RxVerdict.ACCEPT_BROADCAST;
    if (this.nomulti) return RxVerdict.DROP_NOMULTI;
    if (this.allmulti) return RxVerdict.ACCEPT_ALLMULTI;
    if (this.multiOverflow) return RxVerdict.ACCEPT_MULTI_OVERFLOW;
    return this.inTable(bytes, at, this.firstMulti, this.inUse)
      ? RxVerdict.ACCEPT_MULTI_TABLE
      : RxVerdict.DROP_MULTI_UNKNOWN;
  }

  private checkUnicast(bytes: Uint8Array, at: number): RxVerdict {
    if (this.nouni) return RxVerdict.DROP_NOUNI;
    if (this.alluni) return RxVerdict.ACCEPT_ALLUNI;
    if (this.uniOverflow) return RxVerdict.ACCEPT_UNI_OVERFLOW;
    if (sameMac(this.own, 0, bytes, at)) return RxVerdict.ACCEPT_OWN_MAC;
    return this.inTable(bytes, at, 0, this.firstMulti) ? RxVerdict.ACCEPT_UNI_TABLE : RxVerdict.DROP_UNI_UNKNOWN;
  }

  /** The MAC at bytes[at..at+6] is in table[from, to). */
  private inTable(bytes: Uint8Array, at: number, from: number, to: number): boolean {
    for (let i = from; i < to; i++) if (sameMac(this.table, 6 * i, bytes, at)) return true;
    return false;
  }
}

/** The six bytes at a[i..] and b[j..] are equal, compared 16 bits at a time. */
function sameMac(a: Uint8Array, i: number, b: Uint8Array, j: number): boolean {
  return u16(a, i) === u16(b, j) && u16(a, i + 2) === u16(b, j + 2) && u16(a, i + 4) === u16(b, j + 4);
}
