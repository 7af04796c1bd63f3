// Ethernet II with 802.1Q (C-tag) and 802.1ad (S-tag) tags: a reusable, zero-copy view.
//
//  0      6      12            12+4n       14+4n
//  | dst  | src  | tag * n ... | ethertype | payload
//  tag = TPID(2) TCI(2); TCI = PCP(3) DEI(1) VID(12)

import { type Mac, readMac, writeMac } from '../mac.js';
import { u16 } from './bytes.js';
import { FrameError } from './error.js';

export const EthernetField = { DST: 0, SRC: 6, TYPE: 12 } as const;
export const ETHERNET_HEADER_LEN = 14;
export const VLAN_TAG_LEN = 4;
/** The kernel's VLAN_ETH_ZLEN-free limit is far higher; beyond two tags nobody forwards. */
export const MAX_VLAN_TAGS = 2;

export const EtherType = {
  IPV4: 0x0800,
  ARP: 0x0806,
  VLAN: 0x8100, // 802.1Q C-tag
  QINQ: 0x88a8, // 802.1ad S-tag
  QINQ_OLD: 0x9100, // pre-standard S-tag, still seen
  IPV6: 0x86dd,
  /** IEEE local experimental ethertype: tapyard marks its own test frames with it. */
  EXPERIMENTAL: 0x88b5,
} as const;

export function isVlanTpid(type: number): boolean {
  return type === EtherType.VLAN || type === EtherType.QINQ || type === EtherType.QINQ_OLD;
}

/** A view over one frame. `parse` re-points it; no allocation per frame. */
export class EthernetView {
  bytes: Uint8Array = new Uint8Array(0);
  offset = 0;
  length = 0;
  /** Number of VLAN tags (0..MAX_VLAN_TAGS). */
  tagCount = 0;
  outerTpid = 0;
  outerTci = 0;
  innerTpid = 0;
  innerTci = 0;
  /** The ethertype after the tags (or an 802.3 length when < 0x600). */
  etherType = 0;
  /** Offset in `bytes` where the payload begins. */
  payloadOffset = 0;

  parse(bytes: Uint8Array, offset: number, length: number): FrameError | null {
    this.bytes = bytes;
    this.offset = offset;
    this.length = length;
    this.tagCount = 0;
    this.outerTpid = this.outerTci = this.innerTpid = this.innerTci = 0;
    if (length < ETHERNET_HEADER_LEN) return FrameError.RUNT;
    const type = u16(bytes, offset + EthernetField.TYPE);
    // Tags in a function of their own: V8 inlines this short path into every caller and calls
    // the tag walk only for tagged frames (see switch/macvlan.ts on V8's inlining budget).
    if (isVlanTpid(type)) return this.parseTags(type);
    this.etherType = type;
    this.payloadOffset = offset + ETHERNET_HEADER_LEN;
    return null;
  }

  private parseTags(outer: number): FrameError | null {
    const bytes = this.bytes;
    const end = this.offset + this.length;
    let at = this.offset + EthernetField.TYPE;
    let type = outer;
    while (isVlanTpid(type)) {
      if (this.tagCount === MAX_VLAN_TAGS) return FrameError.TOO_MANY_TAGS;
      if (at + VLAN_TAG_LEN + 2 > end) return FrameError.TRUNCATED_TAG;
      const tci = u16(bytes, at + 2);
      if (this.tagCount === 0) {
        this.outerTpid = type;
        this.outerTci = tci;
      } else {
        this.innerTpid = type;
        this.innerTci = tci;
      }
      this.tagCount++;
      at += VLAN_TAG_LEN;
      type = u16(bytes, at);
    }
    this.etherType = type;
    this.payloadOffset = at + 2;
    return null;
  }

  get dst(): Mac {
    return readMac(this.bytes, this.offset + EthernetField.DST);
  }

  get src(): Mac {
    return readMac(this.bytes, this.offset + EthernetField.SRC);
  }

  /** The VLAN id of the outer tag, or -1 when untagged. */
  get vid(): number {
    return this.tagCount === 0 ? -1 : this.outerTci & 0xfff;
  }

  get headerLength(): number {
    return this.payloadOffset - this.offset;
  }

  get payloadLength(): number {
    return this.offset + this.length - this.payloadOffset;
  }
}

export interface VlanTag {
  tpid: number;
  /** Tag control information: PCP(3) DEI(1) VID(12). */
  tci: number;
}

/** A parsed Ethernet header as plain data: for building frames and for tests, not the hot path. */
export interface EthernetRepr {
  dst: Mac;
  src: Mac;
  tags: VlanTag[];
  etherType: number;
}

export function ethernetRepr(view: EthernetView): EthernetRepr {
  const tags: VlanTag[] = [];
  if (view.tagCount > 0) tags.push({ tpid: view.outerTpid, tci: view.outerTci });
  if (view.tagCount > 1) tags.push({ tpid: view.innerTpid, tci: view.innerTci });
  return { dst: view.dst, src: view.src, tags, etherType: view.etherType };
}

export function ethernetHeaderLength(repr: EthernetRepr): number {
  return ETHERNET_HEADER_LEN + VLAN_TAG_LEN * repr.tags.length;
}

/** Write the header at `offset`; returns its length. */
export function emitEthernet(repr: EthernetRepr, bytes: Uint8Array, offset: number): number {
  writeMac(bytes, offset + EthernetField.DST, repr.dst);
  writeMac(bytes, offset + EthernetField.SRC, repr.src);
  let at = offset + EthernetField.TYPE;
  for (const tag of repr.tags) {
    bytes[at] = tag.tpid >>> 8;
    bytes[at + 1] = tag.tpid & 0xff;
    bytes[at + 2] = tag.tci >>> 8;
    bytes[at + 3] = tag.tci & 0xff;
    at += VLAN_TAG_LEN;
  }
  bytes[at] = repr.etherType >>> 8;
  bytes[at + 1] = repr.etherType & 0xff;
  return at + 2 - offset;
}
