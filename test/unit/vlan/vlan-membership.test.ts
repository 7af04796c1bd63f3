// The VLAN layer on byte fixtures: which VLAN a frame is in, what each egress does to its tag,
// and the bytes a push, a pop and a retag write.

import { describe, expect, test } from 'vitest';
import { EthernetView } from '../../../src/frame/ethernet.js';
import { VlanReason } from '../../../src/vlan/reason.js';
import { VlanAction, VlanMembership } from '../../../src/vlan/vlan-membership.js';
import type { VlanPortConfig } from '../../../src/vlan/vlan-port.js';

const hex = (s: string) => Uint8Array.from(s.replace(/\s+/g, '').match(/../g)!, (b) => Number.parseInt(b, 16));
const toHex = (b: Uint8Array) => Buffer.from(b).toString('hex');

const MACS = 'ffffffffffff 020000000001';
const UNTAGGED = hex(`${MACS} 0800 45000014`);
/** C-tag PCP 5, DEI 0, VID 15 (0xa00f). */
const TAGGED_15 = hex(`${MACS} 8100 a00f 0800 45000014`);
const TAGGED_20 = hex(`${MACS} 8100 0014 0800 45000014`);
/** Priority-tagged: PCP 3, VID 0. */
const PRIORITY = hex(`${MACS} 8100 6000 0800 45000014`);

const access = (vid: number): VlanPortConfig => ({ mode: 'access', vid });
const trunk = (allowed: number[], native: number | null = null): VlanPortConfig => ({ mode: 'trunk', allowed, native });

function classify(m: VlanMembership, port: number, bytes: Uint8Array): string | null {
  const eth = new EthernetView();
  expect(eth.parse(bytes, 0, bytes.length)).toBeNull();
  return m.classify(port, eth);
}

function rewritten(m: VlanMembership, action: VlanAction, bytes: Uint8Array): string {
  const out = new Uint8Array(bytes.length + 8).fill(0xee);
  const len = m.rewrite(action, bytes, 0, bytes.length, out, 2);
  return toHex(out.subarray(2, 2 + len));
}

describe('802.1Q ports (access, trunk, native)', () => {
  // port 0: access 15; port 1: trunk 15+20; port 2: trunk 20 native 15; port 3: access 30
  const m = new VlanMembership({ proto: 0x8100, ports: [access(15), trunk([15, 20]), trunk([20], 15), access(30)] });

  test('an untagged frame on an access port is in its VLAN, and goes tagged to a trunk only', () => {
    expect(classify(m, 0, UNTAGGED)).toBeNull();
    expect(m.vid).toBe(15);
    expect(m.tagged).toBe(false);
    expect(m.action(1)).toBe(VlanAction.PUSH);
    expect(m.action(2)).toBe(VlanAction.KEEP); // the native VLAN leaves untagged
    expect(m.action(3)).toBe(VlanAction.PRUNE);
    expect(rewritten(m, VlanAction.PUSH, UNTAGGED)).toBe(`${MACS.replace(' ', '')}8100000f080045000014`);
  });

  test('a tagged frame on a trunk keeps its PCP through a pop and a push', () => {
    expect(classify(m, 1, TAGGED_15)).toBeNull();
    expect(m.vid).toBe(15);
    expect(m.tci).toBe(0xa00f);
    expect(m.action(0)).toBe(VlanAction.POP);
    expect(m.action(2)).toBe(VlanAction.POP); // 15 is trunk 2's native VLAN
    expect(m.action(1)).toBe(VlanAction.KEEP);
    expect(rewritten(m, VlanAction.POP, TAGGED_15)).toBe(toHex(UNTAGGED));
  });

  test('a VLAN the port does not carry, and an untagged frame on a trunk without native, are refused', () => {
    expect(classify(m, 0, TAGGED_20)).toBe(VlanReason.NOT_MEMBER);
    expect(classify(m, 3, TAGGED_15)).toBe(VlanReason.NOT_MEMBER);
    expect(classify(m, 1, UNTAGGED)).toBe(VlanReason.UNTAGGED);
    expect(classify(m, 2, UNTAGGED)).toBeNull();
    expect(m.vid).toBe(15);
  });

  test('an access port takes a frame tagged with its own VLAN (as a Linux bridge port does)', () => {
    expect(classify(m, 0, TAGGED_15)).toBeNull();
    expect(m.action(0)).toBe(VlanAction.POP);
  });

  test('a priority-tagged frame joins the PVID with its PCP, and a trunk gets the VID filled in', () => {
    expect(classify(m, 0, PRIORITY)).toBeNull();
    expect(m.tci).toBe(0x600f);
    expect(m.action(1)).toBe(VlanAction.RETAG);
    expect(m.action(0)).toBe(VlanAction.POP);
    expect(rewritten(m, VlanAction.RETAG, PRIORITY)).toBe(`${MACS.replace(' ', '')}8100600f080045000014`);
  });
});

describe('802.1ad (QinQ): S-tags on top, the C-tag is payload', () => {
  const m = new VlanMembership({ proto: 0x88a8, ports: [access(100), trunk([100])] });

  test("a guest's C-tagged frame gets an S-tag pushed in front of its own", () => {
    expect(classify(m, 0, TAGGED_15)).toBeNull();
    expect(m.vid).toBe(100);
    expect(m.action(1)).toBe(VlanAction.PUSH);
    expect(rewritten(m, VlanAction.PUSH, TAGGED_15)).toBe(
      `${MACS.replace(' ', '')}88a80064 8100a00f 080045000014`.replace(/ /g, ''),
    );
  });

  test('the S-tag comes off toward the access port and the C-tag is left', () => {
    const both = hex(`${MACS} 88a8 0064 8100 a00f 0800 45000014`);
    expect(classify(m, 1, both)).toBeNull();
    expect(m.vid).toBe(100);
    expect(m.action(0)).toBe(VlanAction.POP);
    expect(rewritten(m, VlanAction.POP, both)).toBe(toHex(TAGGED_15));
  });

  test('a C-tag alone on the trunk is an untagged frame there', () => {
    expect(classify(m, 1, TAGGED_15)).toBe(VlanReason.UNTAGGED);
  });
});
