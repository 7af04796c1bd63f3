// The VLAN datapath of a forwarder whose ports are VLAN-aware, as an 802.1Q bridge does it
// (Linux net/bridge/br_vlan.c: br_allowed_ingress, br_should_deliver, br_handle_vlan):
//
//   ingress   a frame with the forwarder's TPID belongs to the VLAN its tag names, which its port
//             must carry; an untagged frame, or a priority-tagged one (VID 0, its PCP kept),
//             belongs to the port's PVID (access vid=, trunk native=), or is dropped.
//   egress    a copy goes only to ports that carry its VLAN (a flood stays in the VLAN); it
//             leaves untagged where the VLAN is untagged there, tagged elsewhere. Pushing or
//             popping the tag keeps the PCP and DEI the frame came with.
//
// A tag of another TPID is payload here: with 802.1ad, a guest's own C-tag rides inside the
// S-tag pushed on top (QinQ), and comes back out when the S-tag is popped.
//
// Membership is a table, one byte per (port, VID): what the port does with that VLAN. Deciding
// is two lookups and allocates nothing; only a copy whose tag changes is rewritten, into a
// buffer the caller gives (the other copies of a flood keep the bytes they were read into).

import { EthernetField, type EthernetView, VLAN_TAG_LEN } from '../frame/ethernet.js';
import { VlanReason } from './reason.js';
import type { VlanConfig } from './vlan-port.js';

/** What a port does with one VLAN. */
const Carry = { NONE: 0, TAGGED: 1, UNTAGGED: 2 } as const;
const VIDS = 4096;

/** What an egress does to a copy of the frame last classified. */
export const VlanAction = {
  /** The port does not carry the frame's VLAN: no copy. */
  PRUNE: -1,
  /** Written as it came in. */
  KEEP: 0,
  /** The tag comes off (an access port, a trunk's native VLAN). */
  POP: 1,
  /** A tag goes on (an untagged frame toward a trunk). */
  PUSH: 2,
  /** The tag stays, with the VID filled in (a priority-tagged frame toward a trunk). */
  RETAG: 3,
} as const;
export type VlanAction = (typeof VlanAction)[keyof typeof VlanAction];

export class VlanMembership {
  /** The frame last classified: its TCI in the switch (PCP, DEI and the VLAN it belongs to). */
  tci = 0;
  /** Whether it came in with a tag of the forwarder's TPID (at offset 12). */
  tagged = false;
  private inTci = 0;
  readonly proto: number;
  private readonly carry: Uint8Array;
  private readonly pvid: Uint16Array;

  constructor(config: VlanConfig) {
    this.proto = config.proto;
    this.carry = new Uint8Array(config.ports.length * VIDS);
    this.pvid = new Uint16Array(config.ports.length);
    config.ports.forEach((port, p) => {
      if (port.mode === 'access') {
        this.carry[p * VIDS + port.vid] = Carry.UNTAGGED;
        this.pvid[p] = port.vid;
        return;
      }
      for (const vid of port.allowed) this.carry[p * VIDS + vid] = Carry.TAGGED;
      if (port.native !== null) {
        this.carry[p * VIDS + port.native] = Carry.UNTAGGED;
        this.pvid[p] = port.native;
      }
    });
  }

  /** The VLAN of the frame last classified. */
  get vid(): number {
    return this.tci & 0xfff;
  }

  /** Which VLAN the frame read on `port` belongs to (then in tci), or why it belongs to none. */
  classify(port: number, eth: EthernetView): string | null {
    const tagged = eth.tagCount > 0 && eth.outerTpid === this.proto;
    const tci = tagged ? eth.outerTci : 0;
    let vid = tci & 0xfff;
    if (vid === 0) {
      vid = this.pvid[port]!;
      if (vid === 0) return VlanReason.UNTAGGED;
    } else if (this.carry[port * VIDS + vid] === Carry.NONE) return VlanReason.NOT_MEMBER;
    this.tagged = tagged;
    this.inTci = tci;
    this.tci = (tci & 0xf000) | vid;
    return null;
  }

  /** What egress `port` does with the frame last classified. */
  action(port: number): VlanAction {
    const carry = this.carry[port * VIDS + (this.tci & 0xfff)]!;
    if (carry === Carry.NONE) return VlanAction.PRUNE;
    if (carry === Carry.UNTAGGED) return this.tagged ? VlanAction.POP : VlanAction.KEEP;
    if (!this.tagged) return VlanAction.PUSH;
    return this.inTci === this.tci ? VlanAction.KEEP : VlanAction.RETAG;
  }

  /** How many bytes `action` adds to the frame (negative: removes). */
  static growth(action: VlanAction): number {
    if (action === VlanAction.PUSH) return VLAN_TAG_LEN;
    return action === VlanAction.POP ? -VLAN_TAG_LEN : 0;
  }

  /**
   * Write the frame src[off, off + len) with `action` done to it at dst[at]; returns its new
   * length. dst must have len + 4 bytes from `at`, and must not overlap the source.
   */
  rewrite(action: VlanAction, src: Uint8Array, off: number, len: number, dst: Uint8Array, at: number): number {
    const macs = EthernetField.TYPE;
    // The two MACs byte by byte, the rest in one copy: each set() costs a view and a native call.
    for (let i = 0; i < macs; i++) dst[at + i] = src[off + i]!;
    if (action === VlanAction.PUSH) {
      dst[at + macs] = this.proto >>> 8;
      dst[at + macs + 1] = this.proto & 0xff;
      dst[at + macs + 2] = this.tci >>> 8;
      dst[at + macs + 3] = this.tci & 0xff;
      copy(src, off + macs, off + len, dst, at + macs + VLAN_TAG_LEN);
      return len + VLAN_TAG_LEN;
    }
    if (action === VlanAction.POP) {
      copy(src, off + macs + VLAN_TAG_LEN, off + len, dst, at + macs);
      return len - VLAN_TAG_LEN;
    }
    copy(src, off + macs, off + len, dst, at + macs);
    if (action === VlanAction.RETAG) {
      dst[at + macs + 2] = this.tci >>> 8;
      dst[at + macs + 3] = this.tci & 0xff;
    }
    return len;
  }
}

/**
 * Below this many bytes a loop is used: on this 2-core machine one set() of a subarray() (a view
 * object and a native call) cost 250-380 ns, about what a loop takes for 64 bytes.
 */
const SMALL_COPY = 64;

/** src[from, to) to dst[at...]; allocates nothing for small frames. */
function copy(src: Uint8Array, from: number, to: number, dst: Uint8Array, at: number): void {
  if (to - from >= SMALL_COPY) {
    dst.set(src.subarray(from, to), at);
    return;
  }
  for (let i = from; i < to; i++) dst[at++] = src[i]!;
}
