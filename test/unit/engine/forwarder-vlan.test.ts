// The forwarder with VLAN-aware ports, on memory ports: tags pushed and popped per egress, floods
// kept in their VLAN, refusals named, order kept where rewritten and unrewritten copies mix,
// back-pressure with rewritten copies, and the vnet header's offsets moved with the tag.

import { describe, expect, test } from 'vitest';
import { parsePortSpec } from '../../../src/config/port.js';
import { vlanConfig } from '../../../src/config/vlan.js';
import { Forwarder } from '../../../src/engine/forwarder.js';
import { EthernetView, EtherType, emitEthernet, type VlanTag } from '../../../src/frame/ethernet.js';
import { emitVnet, GsoType, NO_OFFLOAD, VnetFlag, VnetView } from '../../../src/frame/vnet.js';
import { MemoryPort } from '../../../src/port/memory.js';
import { CrossConnect } from '../../../src/switch/cross-connect.js';
import type { Switch } from '../../../src/switch/decision.js';
import { Hub } from '../../../src/switch/hub.js';
import { VlanReason } from '../../../src/vlan/reason.js';
import type { VlanProtoName } from '../../../src/vlan/vlan-port.js';

const BROADCAST = 0xff_ff_ff_ff_ff_ff;

function frame(seq: number, tags: VlanTag[] = [], length = 64): Uint8Array {
  const bytes = new Uint8Array(length);
  const at = emitEthernet(
    { dst: BROADCAST, src: 0x02_00_00_00_00_01, tags, etherType: EtherType.EXPERIMENTAL },
    bytes,
    0,
  );
  new DataView(bytes.buffer).setUint32(at, seq);
  return bytes;
}
const c = (vid: number, pcp = 0): VlanTag => ({ tpid: EtherType.VLAN, tci: (pcp << 13) | vid });
const s = (vid: number): VlanTag => ({ tpid: EtherType.QINQ, tci: vid });

/** The tags on a frame as `8100:15`, outer first, and the sequence number after them. */
function look(bytes: Uint8Array, hdr = 0): { tags: string[]; seq: number } {
  const eth = new EthernetView();
  eth.parse(bytes, hdr, bytes.length - hdr);
  const tags: string[] = [];
  if (eth.tagCount > 0) tags.push(`${eth.outerTpid.toString(16)}:${eth.outerTci & 0xfff}/${eth.outerTci >>> 13}`);
  if (eth.tagCount > 1) tags.push(`${eth.innerTpid.toString(16)}:${eth.innerTci & 0xfff}/${eth.innerTci >>> 13}`);
  return { tags, seq: new DataView(bytes.buffer, bytes.byteOffset).getUint32(eth.payloadOffset) };
}

async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
}

/** Ports named by spec text (`a=...,vlan=15`: only the VLAN keys matter), on memory ports. */
function lab(
  specs: string[],
  proto: VlanProtoName = '802.1q',
  sw?: Switch,
  options: { capacity?: number; hdrLen?: number }[] = [],
) {
  const configs = specs.map((spec) =>
    parsePortSpec(`${spec.split(',')[0]}=pcap:lo,${spec.split(',').slice(1).join(',')}`, 'hub'),
  );
  const ports = configs.map((p, i) => new MemoryPort(p.name, options[i] ?? {}));
  const vlan = vlanConfig(configs, proto);
  const fwd = new Forwarder(ports, sw ?? (ports.length === 2 ? new CrossConnect() : new Hub()), { vlan });
  fwd.start();
  const ledger = () => {
    const l = fwd.ledger();
    return l.rx + l.clones === l.tx + l.drops + l.queued;
  };
  return { ports, fwd, ledger };
}

describe('Forwarder with VLAN ports', () => {
  test('access to trunk: the tag goes on, with PCP 0; trunk to access: it comes off', async () => {
    const { ports, ledger } = lab(['guest,vlan=15', 'wire,trunk=15+20']);
    const [guest, wire] = ports as [MemoryPort, MemoryPort];
    guest.inject(frame(1));
    wire.inject(frame(2, [c(15, 5)]));
    await settle();
    expect(wire.sent.map((f) => look(f))).toEqual([{ tags: ['8100:15/0'], seq: 1 }]);
    expect(guest.sent.map((f) => look(f))).toEqual([{ tags: [], seq: 2 }]);
    expect(ledger()).toBe(true);
  });

  test('a frame of VLAN 20 from the trunk, and an untagged one, are counted under their reasons', async () => {
    const { ports, fwd, ledger } = lab(['guest,vlan=15', 'wire,trunk=15']);
    const [guest, wire] = ports as [MemoryPort, MemoryPort];
    wire.inject(frame(1, [c(20)]), frame(2), frame(3, [c(15)]));
    guest.inject(frame(4, [c(20)]));
    await settle();
    expect(guest.sent.map((f) => look(f).seq)).toEqual([3]);
    expect(wire.counters.drops[VlanReason.NOT_MEMBER]).toBe(1);
    expect(wire.counters.drops[VlanReason.UNTAGGED]).toBe(1);
    expect(guest.counters.drops[VlanReason.NOT_MEMBER]).toBe(1);
    expect(fwd.ledger()).toEqual({ rx: 4, clones: 0, tx: 1, drops: 3, queued: 0 });
    expect(ledger()).toBe(true);
  });

  test('a flood stays in its VLAN: members get it tagged or untagged as each carries it', async () => {
    const { ports, fwd, ledger } = lab([
      'a,vlan=15',
      'b,vlan=15',
      'c,vlan=20',
      'trunk,trunk=15+20',
      'n,trunk=20,native=15',
    ]);
    const [a, b, cc, trunk, n] = ports as MemoryPort[];
    a!.inject(frame(7));
    await settle();
    expect(b!.sent.map((f) => look(f))).toEqual([{ tags: [], seq: 7 }]);
    expect(cc!.sent).toEqual([]);
    expect(trunk!.sent.map((f) => look(f))).toEqual([{ tags: ['8100:15/0'], seq: 7 }]);
    expect(n!.sent.map((f) => look(f))).toEqual([{ tags: [], seq: 7 }]);
    // One rx, three copies: no drop counted for the port outside the VLAN (it was never a candidate).
    expect(fwd.ledger()).toEqual({ rx: 1, clones: 2, tx: 3, drops: 0, queued: 0 });
    expect(ledger()).toBe(true);
  });

  test('no member left among the chosen egresses is a named drop, not a silent one', async () => {
    const { ports, ledger } = lab(['a,vlan=15', 'b,vlan=20']);
    const [a, b] = ports as [MemoryPort, MemoryPort];
    a.inject(frame(1));
    await settle();
    expect(b.sent).toEqual([]);
    expect(a.counters.drops[VlanReason.NO_MEMBER_EGRESS]).toBe(1);
    expect(ledger()).toBe(true);
  });

  test('rewritten and unchanged copies of one batch keep their order on every egress', async () => {
    // An access port takes untagged frames and frames tagged with its own VLAN: toward the trunk
    // the first get a tag (rewritten) and the others go as they are; toward the other access
    // port it is the other way round. Interleaved, every egress switches buffers often.
    const { ports, ledger } = lab(['in,vlan=15', 'trunk,trunk=15', 'out,vlan=15']);
    const [input, trunk, out] = ports as MemoryPort[];
    const seqs = Array.from({ length: 200 }, (_, i) => i);
    input!.inject(...seqs.map((i) => (i % 3 === 0 ? frame(i) : frame(i, [c(15, i % 8)]))));
    await settle();
    expect(trunk!.sent.map((f) => look(f))).toEqual(
      seqs.map((i) => ({ tags: [`8100:15/${i % 3 === 0 ? 0 : i % 8}`], seq: i })),
    );
    expect(out!.sent.map((f) => look(f))).toEqual(seqs.map((i) => ({ tags: [], seq: i })));
    expect(ledger()).toBe(true);
  });

  test('behind a full egress, rewritten copies wait in order and are written when it drains', async () => {
    const { ports, fwd, ledger } = lab(['guest,vlan=15', 'wire,trunk=15'], '802.1q', undefined, [{}, { capacity: 5 }]);
    const [guest, wire] = ports as [MemoryPort, MemoryPort];
    guest.inject(...Array.from({ length: 40 }, (_, i) => frame(i)));
    await settle();
    expect(wire.sent.length).toBe(5);
    expect(fwd.ledger().queued).toBeGreaterThan(0);
    expect(ledger()).toBe(true);
    wire.drain(1000);
    await settle();
    expect(wire.sent.map((f) => look(f))).toEqual(
      Array.from({ length: 40 }, (_, i) => ({ tags: ['8100:15/0'], seq: i })),
    );
    expect(fwd.ledger()).toEqual({ rx: 40, clones: 0, tx: 40, drops: 0, queued: 0 });
  });

  test('802.1ad: the guest tags itself (C-tag 15), the trunk carries S-tag 100 outside it, and back', async () => {
    const { ports, ledger } = lab(['guest,vlan=100', 'wire,trunk=100'], '802.1ad');
    const [guest, wire] = ports as [MemoryPort, MemoryPort];
    guest.inject(frame(1, [c(15, 3)]), frame(2));
    wire.inject(frame(3, [s(100), c(15, 3)]), frame(4, [s(101), c(15)]));
    await settle();
    expect(wire.sent.map((f) => look(f))).toEqual([
      { tags: ['88a8:100/0', '8100:15/3'], seq: 1 },
      { tags: ['88a8:100/0'], seq: 2 },
    ]);
    expect(guest.sent.map((f) => look(f))).toEqual([{ tags: ['8100:15/3'], seq: 3 }]);
    expect(wire.counters.drops[VlanReason.NOT_MEMBER]).toBe(1);
    expect(ledger()).toBe(true);
  });

  test("a partial checksum's offsets move with a pushed tag in the vnet header", async () => {
    const { ports } = lab(['guest,vlan=15', 'wire,trunk=15'], '802.1q', undefined, [{ hdrLen: 10 }, { hdrLen: 10 }]);
    const [guest, wire] = ports as [MemoryPort, MemoryPort];
    const body = frame(9, [], 80);
    const withHdr = new Uint8Array(10 + body.length);
    emitVnet({ ...NO_OFFLOAD, flags: VnetFlag.NEEDS_CSUM, csumStart: 34, csumOffset: 6 }, withHdr, 0);
    withHdr.set(body, 10);
    guest.inject(withHdr);
    await settle();
    expect(wire.sent.length).toBe(1);
    const out = wire.sent[0]!;
    const vnet = new VnetView().wrap(out, 0);
    expect(vnet.csumStart).toBe(38);
    expect(vnet.flags).toBe(VnetFlag.NEEDS_CSUM);
    expect(vnet.gsoType).toBe(GsoType.NONE);
    expect(look(out, 10)).toEqual({ tags: ['8100:15/0'], seq: 9 });
  });
});

describe('VLAN configuration', () => {
  test('every port must say its VLANs once one does', () => {
    const a = parsePortSpec('a=pcap:lo,vlan=15', 'cross');
    const b = parsePortSpec('b=pcap:lo', 'cross');
    expect(() => vlanConfig([a, b], '802.1q')).toThrow(/port b has no vlan= or trunk=, but a has/);
    expect(vlanConfig([b, b], '802.1q')).toBeNull();
  });

  test('bad VLAN keys are one sentence each', () => {
    expect(() => parsePortSpec('a=pcap:lo,vlan=15,trunk=20', 'cross')).toThrow(/exclude each other/);
    expect(() => parsePortSpec('a=pcap:lo,native=15', 'cross')).toThrow(/native= needs trunk=/);
    expect(() => parsePortSpec('a=pcap:lo,vlan=4095', 'cross')).toThrow(/from 1 to 4094/);
    expect(() => parsePortSpec('a=pcap:lo,trunk=30-20', 'cross')).toThrow(/runs backwards/);
    expect(parsePortSpec('a=pcap:lo,trunk=10-12+5', 'cross').vlan).toEqual({
      mode: 'trunk',
      allowed: [5, 10, 11, 12],
      native: null,
    });
  });
});
