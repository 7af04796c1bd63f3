import { constants } from 'node:os';
import { describe, expect, test } from 'vitest';
import { boundSwitch } from '../../../src/config/bound-switch.js';
import { parsePortSpec } from '../../../src/config/port.js';
import { Forwarder } from '../../../src/engine/forwarder.js';
import { buildRxFilter } from '../../../src/filter/guest-filter.js';
import { EtherType, emitEthernet } from '../../../src/frame/ethernet.js';
import { emitVnet, GsoType, NO_OFFLOAD, VnetFlag, type VnetRepr } from '../../../src/frame/vnet.js';
import type { Mac } from '../../../src/mac.js';
import { writeMac } from '../../../src/mac.js';
import { MemoryPort } from '../../../src/port/memory.js';
import type { Port } from '../../../src/port/port.js';
import { buildFrame } from '../../../src/spec/build.js';
import { CrossConnect } from '../../../src/switch/cross-connect.js';
import type { Switch } from '../../../src/switch/decision.js';
import { Hub } from '../../../src/switch/hub.js';

/** An Ethernet frame of `length` bytes whose payload starts with `seq` (to check order). */
function frame(seq: number, length = 64): Uint8Array {
  const bytes = new Uint8Array(length);
  const at = emitEthernet(
    { dst: 0x02_00_00_00_00_02, src: 0x02_00_00_00_00_01, tags: [], etherType: EtherType.EXPERIMENTAL },
    bytes,
    0,
  );
  new DataView(bytes.buffer).setUint32(at, seq);
  return bytes;
}

function withVnet(repr: VnetRepr, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(10 + body.length);
  emitVnet(repr, out, 0);
  out.set(body, 10);
  return out;
}

const seqOf = (bytes: Uint8Array, hdr = 0) => new DataView(bytes.buffer, bytes.byteOffset).getUint32(hdr + 14);

/** Resolve once the ports have been idle for a few turns of the loop. */
async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
}

function balanced(fwd: Forwarder): boolean {
  const l = fwd.ledger();
  return l.rx + l.clones === l.tx + l.drops + l.queued;
}

function run(ports: Port[], sw: Switch = ports.length === 2 ? new CrossConnect() : new Hub()): Forwarder {
  const fwd = new Forwarder(ports, sw);
  fwd.start();
  return fwd;
}

describe('Forwarder', () => {
  test('a cross-connect moves every frame unchanged, in order, and counts it', async () => {
    const a = new MemoryPort('a');
    const b = new MemoryPort('b');
    const fwd = run([a, b]);
    const frames = Array.from({ length: 300 }, (_, i) => frame(i, 60 + (i % 50)));
    a.inject(...frames);
    b.inject(frame(9999));
    await settle();
    expect(b.sent).toEqual(frames);
    expect(a.sent.map((f) => seqOf(f))).toEqual([9999]);
    expect(a.counters.rxFrames).toBe(300);
    expect(a.counters.rxBytes).toBe(frames.reduce((n, f) => n + f.length, 0));
    expect(b.counters.txFrames).toBe(300);
    expect(fwd.ledger()).toEqual({ rx: 301, clones: 0, tx: 301, drops: 0, queued: 0 });
  });

  test('reads at most `budget` frames per turn of a port', async () => {
    const a = new MemoryPort('a', { budget: 16 });
    const b = new MemoryPort('b');
    const fwd = new Forwarder([a, b], new CrossConnect());
    const sizes: number[] = [];
    const onBatch = fwd.onBatch.bind(fwd);
    fwd.onBatch = (port, batch) => {
      sizes.push(batch.count);
      onBatch(port, batch);
    };
    fwd.start();
    a.inject(...Array.from({ length: 40 }, (_, i) => frame(i)));
    await settle();
    expect(sizes).toEqual([16, 16, 8]);
    expect(b.sent).toHaveLength(40);
  });

  test('a full egress stops the ingress instead of dropping, and nothing is lost when it drains', async () => {
    const a = new MemoryPort('a', { budget: 8 });
    const b = new MemoryPort('b', { capacity: 10 });
    const fwd = run([a, b]);
    a.inject(...Array.from({ length: 100 }, (_, i) => frame(i)));
    await settle();
    // b took 10; the rest of the batch that filled it waits aside, the remainder stays unread.
    expect(b.sent).toHaveLength(10);
    const held = fwd.ledger();
    expect(held.queued).toBeGreaterThan(0);
    expect(held.drops).toBe(0);
    expect(a.backlog).toBe(100 - held.rx);
    expect(a.counters.rxFrames).toBeLessThanOrEqual(16); // paused within the second batch of 8
    expect(balanced(fwd)).toBe(true);

    b.drain(1000);
    await settle();
    expect(b.sent.map((f) => seqOf(f))).toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect(fwd.ledger()).toEqual({ rx: 100, clones: 0, tx: 100, drops: 0, queued: 0 });
  });

  test('what waited for a full egress goes out a batch per send as it drains, in order, counted once', async () => {
    const a = new MemoryPort('a', { budget: 16 });
    const b = new MemoryPort('b', { capacity: 10 });
    const sends: number[] = [];
    const send = b.send.bind(b);
    b.send = (buf, offsets, lengths, count, status) => {
      sends.push(count);
      return send(buf, offsets, lengths, count, status);
    };
    const fwd = run([a, b]);
    a.inject(...Array.from({ length: 16 }, (_, i) => frame(i, 60 + i)));
    await settle();
    expect(b.sent).toHaveLength(10);
    sends.length = 0;
    b.drain(4);
    await settle();
    b.drain(100);
    await settle();
    // Six waited: one send offered all six (four fit), the next the two left.
    expect(sends).toEqual([6, 2]);
    expect(b.sent.map((f) => seqOf(f))).toEqual(Array.from({ length: 16 }, (_, i) => i));
    expect(b.sent.map((f) => f.length)).toEqual(Array.from({ length: 16 }, (_, i) => 60 + i));
    expect(fwd.ledger()).toEqual({ rx: 16, clones: 0, tx: 16, drops: 0, queued: 0 });
    expect(b.counters.txFrames).toBe(16);
  });

  test('busy polling reads every port on every turn, and stops when the forwarder stops', async () => {
    const a = new MemoryPort('a', { budget: 4 });
    const b = new MemoryPort('b');
    const fwd = new Forwarder([a, b], new CrossConnect(), { busyPoll: true });
    fwd.start();
    a.inject(...Array.from({ length: 10 }, (_, i) => frame(i)));
    await settle();
    expect(b.sent.map((f) => seqOf(f))).toEqual(Array.from({ length: 10 }, (_, i) => i));
    fwd.stop();
    a.inject(frame(99));
    await settle();
    expect(b.sent).toHaveLength(10);
    expect(a.backlog).toBe(1);
  });

  test('busy polling refuses a port that cannot do it', () => {
    const cannot = Object.assign(new MemoryPort('p'), { enterBusyPoll: undefined });
    expect(() => new Forwarder([new MemoryPort('a'), cannot], new CrossConnect(), { busyPoll: true }).start()).toThrow(
      /busy polling needs ports that can poll \(macvtap, tap, vhost-user\); p is a memory port/,
    );
  });

  test('bytes are counted without the vnet header, also for frames that waited for a full egress', async () => {
    const a = new MemoryPort('a', { hdrLen: 10, budget: 8 });
    const b = new MemoryPort('b', { hdrLen: 10, capacity: 5 });
    const fwd = run([a, b]);
    const frames = Array.from({ length: 30 }, (_, i) => frame(i, 60 + i));
    a.inject(...frames.map((f) => withVnet(NO_OFFLOAD, f)));
    await settle();
    b.drain(100);
    await settle();
    const ethernetBytes = frames.reduce((n, f) => n + f.length, 0);
    expect(a.counters.rxBytes).toBe(ethernetBytes);
    expect(b.counters.txBytes).toBe(ethernetBytes);
    expect(fwd.ledger()).toEqual({ rx: 30, clones: 0, tx: 30, drops: 0, queued: 0 });
  });

  test('frames still queued at stop are counted, not forgotten', async () => {
    const a = new MemoryPort('a');
    const b = new MemoryPort('b', { capacity: 3 });
    const fwd = run([a, b]);
    a.inject(...Array.from({ length: 20 }, (_, i) => frame(i)));
    await settle();
    fwd.stop();
    expect(b.counters.drops['queued-at-shutdown']).toBe(17);
    expect(fwd.ledger().queued).toBe(0);
    expect(balanced(fwd)).toBe(true);
  });

  test('runts, truncated and oversize frames are dropped under their own names', async () => {
    const a = new MemoryPort('a', { readLimit: 9000 });
    const b = new MemoryPort('b', { maxFrame: 1518 });
    const fwd = run([a, b]);
    a.inject(frame(1), new Uint8Array(13), frame(2, 1519), frame(3, 9001), frame(4, 1518));
    await settle();
    expect(b.sent.map((f) => seqOf(f))).toEqual([1, 4]);
    expect(a.counters.drops).toEqual({ runt: 1, truncated: 1 });
    expect(b.counters.drops).toEqual({ oversize: 1 });
    expect(fwd.ledger()).toMatchObject({ rx: 5, tx: 2, drops: 3 });
  });

  test('a write the device refuses is counted by its errno', async () => {
    const a = new MemoryPort('a');
    const b = new MemoryPort('b');
    const fwd = run([a, b]);
    b.refuseNext(constants.errno.EINVAL);
    a.inject(frame(1), frame(2));
    await settle();
    expect(b.sent.map((f) => seqOf(f))).toEqual([2]);
    expect(b.counters.drops).toEqual({ 'tx-EINVAL': 1 });
    expect(balanced(fwd)).toBe(true);
  });

  test('a hub floods to every other port and the ledger counts the clones', async () => {
    const ports = ['a', 'b', 'c', 'd'].map((n) => new MemoryPort(n));
    const fwd = run(ports);
    ports[0]!.inject(frame(1), frame(2));
    ports[2]!.inject(frame(3));
    await settle();
    expect(ports.map((p) => p.sent.length)).toEqual([1, 3, 2, 3]);
    expect(fwd.ledger()).toEqual({ rx: 3, clones: 6, tx: 9, drops: 0, queued: 0 });
  });
});

/** A port's receive filter from its spec's keys, as `forward` builds it. */
function rxFilterOf(keys: string, portMac: Mac | null) {
  const config = parsePortSpec(`guest=tap:t0,${keys}`, 'cross').rxFilter;
  return config === null ? null : buildRxFilter('guest', config, portMac);
}

describe('Forwarder and deep tag stacks', () => {
  const threeTags = () => {
    const bytes = new Uint8Array(72);
    const tags = [0x88a8, 0x8100, 0x8100].map((tpid, i) => ({ tpid, tci: 10 + i }));
    emitEthernet(
      { dst: 0x02_00_00_00_00_02, src: 0x02_00_00_00_00_01, tags, etherType: EtherType.EXPERIMENTAL },
      bytes,
      0,
    );
    return bytes;
  };

  test('a cross-connect and a hub carry three tags untouched; a bridge, which reads them, drops it', async () => {
    for (const sw of [new CrossConnect(), new Hub()]) {
      const a = new MemoryPort('a');
      const b = new MemoryPort('b');
      const fwd = run([a, b], sw);
      a.inject(threeTags());
      await settle();
      expect(b.sent).toEqual([threeTags()]);
      expect(balanced(fwd)).toBe(true);
    }
    const a = new MemoryPort('a');
    const b = new MemoryPort('b');
    const fwd = run(
      [a, b],
      boundSwitch('bridge', [
        { name: 'a', mac: null },
        { name: 'b', mac: null },
      ]),
    );
    a.inject(threeTags());
    await settle();
    expect(b.sent).toEqual([]);
    expect(a.counters.drops).toEqual({ 'too-many-vlan-tags': 1 });
    expect(balanced(fwd)).toBe(true);
  });
});

describe('Forwarder with a guest NIC receive filter', () => {
  test("frames the guest NIC would refuse are dropped before the write, under the filter's reason", async () => {
    const guestMac = 0x02_00_00_00_00_02;
    const wire = new MemoryPort('wire');
    const guest = new MemoryPort('guest', { mac: guestMac });
    const filter = rxFilterOf('rx-filter=on,rx-mac=01:00:5e:00:00:fb', guest.mac);
    const fwd = new Forwarder([wire, guest], new CrossConnect(), { rxFilters: [null, filter] });
    fwd.start();
    const to = (dst: number, seq: number) => {
      const f = frame(seq);
      writeMac(f, 0, dst);
      return f;
    };
    wire.inject(
      to(guestMac, 1),
      to(0x02_de_ad_be_ef_01, 2),
      to(0xffff_ffff_ffff, 3),
      to(0x01_00_5e_00_00_fb, 4),
      to(0x01_00_5e_00_00_01, 5),
    );
    guest.inject(to(0x02_de_ad_be_ef_01, 6)); // the filter is the guest's: what it sends is not filtered
    await settle();
    expect(guest.sent.map((f) => seqOf(f))).toEqual([1, 3, 4]);
    expect(wire.sent.map((f) => seqOf(f))).toEqual([6]);
    expect(guest.counters.drops).toEqual({
      'rx-filter-unicast': 1,
      'rx-filter-multicast': 1,
    });
    expect(balanced(fwd)).toBe(true);
  });

  test.each([
    ['rx-mode=allmulti', /rx-mode needs rx-filter=on/],
    ['rx-filter=yes', /rx-filter must be on or off, not 'yes'/],
    ['rx-filter=on,rx-mode=loud', /rx-mode must be one of promisc, allmulti/],
    ['rx-filter=on,rx-mac=nope', /rx-mac must be a MAC address/],
    ['rx-filter=on,rx-vlan=5000', /rx-vlan must be a whole number from 0 to 4095/],
    ['mac=02:00:00:00:00:09', /mac= is the guest NIC's MAC of rx-filter=on, which is off/],
  ])('bad filter options are refused: %s', (keys, why) => {
    expect(() => rxFilterOf(keys, 0x020000000002)).toThrow(why);
  });

  test('a port without a MAC needs mac= for its filter', () => {
    expect(() => rxFilterOf('rx-filter=on', null)).toThrow(/needs the NIC's MAC/);
    expect(rxFilterOf('rx-filter=on,mac=02:00:00:00:00:09', null)?.mac).toBe(0x020000000009);
  });
});

describe('Forwarder and the virtio_net_hdr', () => {
  test('a header is copied through between vnet ports, stripped for plain ports and added for vnet ones', async () => {
    const csum: VnetRepr = { ...NO_OFFLOAD, flags: VnetFlag.DATA_VALID };
    const vnetA = new MemoryPort('a', { hdrLen: 10 });
    const vnetB = new MemoryPort('b', { hdrLen: 10 });
    const plain = new MemoryPort('c');
    run([vnetA, vnetB, plain]);
    vnetA.inject(withVnet(csum, frame(1)));
    plain.inject(frame(2));
    await settle();
    expect(vnetB.sent).toEqual([withVnet(csum, frame(1)), withVnet(NO_OFFLOAD, frame(2))]);
    expect(plain.sent).toEqual([frame(1)]);
    expect(vnetA.sent).toEqual([withVnet(NO_OFFLOAD, frame(2))]);
  });

  test('a GSO super-frame goes to vnet ports whatever its size, never to a plain port', async () => {
    const gso: VnetRepr = {
      flags: VnetFlag.NEEDS_CSUM,
      gsoType: GsoType.TCPV4,
      hdrLen: 54,
      gsoSize: 1448,
      csumStart: 34,
      csumOffset: 16,
    };
    const src = new MemoryPort('src', { hdrLen: 10 });
    const vnet = new MemoryPort('vnet', { hdrLen: 10, maxFrame: 1518 });
    const plain = new MemoryPort('plain', { maxFrame: 65535 });
    const fwd = run([src, vnet, plain]);
    const big = withVnet(gso, frame(7, 20054));
    src.inject(big);
    await settle();
    expect(vnet.sent).toEqual([big]);
    expect(plain.sent).toEqual([]);
    expect(plain.counters.drops).toEqual({ 'gso-to-plain-port': 1 });
    expect(balanced(fwd)).toBe(true);
  });

  test('a partial checksum is finished for a plain port, and the header flag cleared for everyone', async () => {
    const spec = {
      eth: { dst: '02:00:00:00:00:02', src: '02:00:00:00:00:01' },
      ipv4: { src: '10.77.0.1', dst: '10.77.0.2' },
      udp: { srcPort: 5353, dstPort: 9 },
      payload: 'partial checksums are finished by whoever has no vnet header',
    };
    const partial = buildFrame({ ...spec, checksum: 'partial' });
    const full = buildFrame(spec);
    expect(partial).not.toEqual(full);
    const src = new MemoryPort('src', { hdrLen: 10 });
    const vnet = new MemoryPort('vnet', { hdrLen: 10 });
    const plain = new MemoryPort('plain');
    run([src, vnet, plain]);
    // csum_start: the UDP header (14 + 20); csum_offset: its checksum field.
    src.inject(withVnet({ ...NO_OFFLOAD, flags: VnetFlag.NEEDS_CSUM, csumStart: 34, csumOffset: 6 }, partial));
    await settle();
    expect(plain.sent).toEqual([full]);
    // Without NEEDS_CSUM the kernel ignores csum_start and csum_offset; they stay as they came.
    expect(vnet.sent).toEqual([withVnet({ ...NO_OFFLOAD, csumStart: 34, csumOffset: 6 }, full)]);
  });

  test('a partial checksum travels untouched between vnet ports', async () => {
    const partial = buildFrame({
      eth: { dst: '02:00:00:00:00:02', src: '02:00:00:00:00:01' },
      ipv4: { src: '10.77.0.1', dst: '10.77.0.2' },
      tcp: { srcPort: 40000, dstPort: 5201, flags: 'P.' },
      payload: 'the kernel on the far side finishes it',
      checksum: 'partial',
    });
    const needsCsum = withVnet({ ...NO_OFFLOAD, flags: VnetFlag.NEEDS_CSUM, csumStart: 34, csumOffset: 16 }, partial);
    const src = new MemoryPort('src', { hdrLen: 10 });
    const dst = new MemoryPort('dst', { hdrLen: 10 });
    run([src, dst]);
    src.inject(needsCsum);
    await settle();
    expect(dst.sent).toEqual([needsCsum]);
  });

  test('a header the kernel would refuse is dropped as bad-vnet-hdr', async () => {
    const src = new MemoryPort('src', { hdrLen: 10 });
    const dst = new MemoryPort('dst', { hdrLen: 10 });
    run([src, dst]);
    src.inject(
      withVnet({ ...NO_OFFLOAD, gsoType: 9 }, frame(1)), // unknown GSO type
      withVnet({ ...NO_OFFLOAD, gsoType: GsoType.TCPV4, gsoSize: 0 }, frame(2)), // GSO without a size
      // a checksum past the end
      withVnet({ ...NO_OFFLOAD, flags: VnetFlag.NEEDS_CSUM, csumStart: 60, csumOffset: 6 }, frame(3)),
      withVnet(NO_OFFLOAD, frame(4)),
    );
    await settle();
    expect(dst.sent.map((f) => seqOf(f, 10))).toEqual([4]);
    expect(src.counters.drops).toEqual({ 'bad-vnet-hdr': 3 });
  });
});
