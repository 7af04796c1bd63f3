// The learning bridge: learning, ageing on an injected clock, flooding flags, hairpin, local
// addresses and binding. Expectations follow net/bridge (br_input.c, br_forward.c, br_fdb.c).

import { describe, expect, it } from 'vitest';
import { boundSwitch, type NamedPort } from '../../../src/config/bound-switch.js';
import { EthernetView, emitEthernet } from '../../../src/frame/ethernet.js';
import { BROADCAST, type Mac } from '../../../src/mac.js';
import { Decision } from '../../../src/switch/decision.js';
import {
  type BridgePortConfig,
  BridgeReason,
  DEFAULT_AGEING_MS,
  LearningBridge,
} from '../../../src/switch/learning-bridge.js';

const A: Mac = 0x02_00_00_00_02_01;
const B: Mac = 0x02_00_00_00_02_02;
const C: Mac = 0x02_00_00_00_02_03;
const BRIDGE: Mac = 0x02_00_00_00_00_01;
const UNKNOWN: Mac = 0x02_00_00_00_ee_ee;
const GROUP: Mac = 0x01_00_5e_00_00_fb;

function view(dst: Mac, src: Mac): EthernetView {
  const bytes = new Uint8Array(60);
  emitEthernet({ dst, src, tags: [], etherType: 0x88b5 }, bytes, 0);
  const v = new EthernetView();
  v.parse(bytes, 0, 60);
  return v;
}

/** Ports p1..p3 are 0..2, the bridge's own stack is 3. */
function bridge(ports: Partial<BridgePortConfig>[] = [{}, {}, {}], clock = { now: 0 }): LearningBridge {
  const b = new LearningBridge({ now: () => clock.now });
  b.configure({ ports: ports.map((p, i) => ({ name: `p${i + 1}`, ...p })), mac: BRIDGE });
  b.bindNodes();
  return b;
}

function send(b: LearningBridge, ingress: number, dst: Mac, src: Mac): Decision {
  const d = new Decision();
  b.decide(ingress, view(dst, src), d.reset());
  return d;
}

describe('LearningBridge', () => {
  it('floods unknown unicast to every other port, and not up to its own stack', () => {
    expect(send(bridge(), 0, UNKNOWN, A).outputs).toEqual([1, 2]);
  });

  it('floods broadcast and multicast to every other port and up to its own stack', () => {
    expect(send(bridge(), 0, BROADCAST, A).outputs).toEqual([1, 2, 3]);
    expect(send(bridge(), 1, GROUP, B).outputs).toEqual([0, 2, 3]);
  });

  it('learns the source and sends later frames for it to that one port', () => {
    const b = bridge();
    send(b, 1, UNKNOWN, B);
    const d = send(b, 0, B, A);
    expect(d.outputs).toEqual([1]);
    expect(d.reasons).toEqual([BridgeReason.KNOWN]);
    expect(b.lookup(B)).toBe('p2');
  });

  it('relearns a station that moved', () => {
    const b = bridge();
    send(b, 0, UNKNOWN, C);
    send(b, 1, UNKNOWN, C);
    expect(send(b, 2, C, A).outputs).toEqual([1]);
  });

  it('drops a frame for a station learned on the ingress port unless that port has hairpin', () => {
    const plain = bridge();
    send(plain, 0, UNKNOWN, C);
    const d = send(plain, 0, C, A);
    expect(d.outputs).toEqual([]);
    expect(d.drop).toBe(BridgeReason.SAME_PORT);

    const hairpin = bridge([{ hairpin: true }, {}, {}]);
    send(hairpin, 0, UNKNOWN, C);
    expect(send(hairpin, 0, C, A).outputs).toEqual([0]);
    expect(send(hairpin, 0, BROADCAST, A).outputs).toEqual([0, 1, 2, 3]);
  });

  it('honours flood, bcast_flood and mcast_flood per port, but not for known unicast', () => {
    expect(send(bridge([{}, {}, { flood: false }]), 0, UNKNOWN, A).outputs).toEqual([1]);
    expect(send(bridge([{}, {}, { bcastFlood: false }]), 0, BROADCAST, A).outputs).toEqual([1, 3]);
    expect(send(bridge([{}, {}, { mcastFlood: false }]), 0, GROUP, A).outputs).toEqual([1, 3]);
    const b = bridge([{}, {}, { flood: false }]);
    send(b, 2, UNKNOWN, C);
    expect(send(b, 0, C, A).outputs).toEqual([2]);
  });

  it('does not learn on a port with learning off', () => {
    const b = bridge([{}, { learning: false }, {}]);
    send(b, 1, A, B);
    expect(b.lookup(B)).toBeNull();
    expect(send(b, 0, B, A).outputs).toEqual([1, 2]);
  });

  it("sends frames for its own MAC or a port device's MAC up to its stack only", () => {
    const b = bridge([{ mac: 0x02_00_00_00_0f_01 }, {}, {}]);
    expect(send(b, 1, BRIDGE, B).outputs).toEqual([3]);
    expect(send(b, 1, 0x02_00_00_00_0f_01, B).outputs).toEqual([3]);
    expect(send(b, 1, BRIDGE, B).reasons).toEqual([BridgeReason.LOCAL]);
  });

  it('never learns its own addresses from the wire', () => {
    const b = bridge();
    send(b, 0, UNKNOWN, BRIDGE);
    expect(b.lookup(BRIDGE)).toBeNull();
  });

  it('drops frames whose source is a group address or zero', () => {
    expect(send(bridge(), 0, B, 0x03_00_00_00_00_01).drop).toBe(BridgeReason.INVALID_SOURCE);
    expect(send(bridge(), 0, B, 0).drop).toBe(BridgeReason.INVALID_SOURCE);
  });

  it('ages entries out ageing_time after their last refresh (default 300 s)', () => {
    const clock = { now: 0 };
    const b = bridge(undefined, clock);
    expect(b.ageingMs).toBe(DEFAULT_AGEING_MS);
    send(b, 1, UNKNOWN, B);
    clock.now = 299_999;
    expect(send(b, 0, B, A).outputs).toEqual([1]);
    send(b, 1, UNKNOWN, B); // refreshed at 299.999 s
    clock.now = 599_998;
    expect(b.lookup(B)).toBe('p2');
    clock.now = 599_999;
    expect(b.lookup(B)).toBeNull();
    expect(send(b, 0, B, A).outputs).toEqual([1, 2]);
  });

  it('says in a trace that an entry aged out', () => {
    const clock = { now: 0 };
    const b = bridge(undefined, clock);
    send(b, 1, UNKNOWN, B);
    clock.now = DEFAULT_AGEING_MS;
    const d = new Decision();
    d.steps = [];
    b.decide(0, view(B, A), d.reset());
    expect(d.steps.map((s) => s.reason)).toContain(BridgeReason.EXPIRED);
  });

  it('keeps static entries forever and flush keeps them too', () => {
    const clock = { now: 0 };
    const b = bridge(undefined, clock);
    b.addStatic(C, 'p3');
    send(b, 1, UNKNOWN, B);
    b.flush();
    clock.now = 10 * DEFAULT_AGEING_MS;
    expect(b.lookup(B)).toBeNull();
    expect(send(b, 0, C, A).outputs).toEqual([2]);
  });

  it('sends what its own stack transmits: floods without a local copy, known unicast to one port', () => {
    const b = bridge();
    expect(send(b, 3, BROADCAST, BRIDGE).outputs).toEqual([0, 1, 2]);
    send(b, 1, UNKNOWN, B);
    expect(send(b, 3, B, BRIDGE).outputs).toEqual([1]);
  });

  it('drops PAUSE before learning from it (br_handle_frame)', () => {
    const b = bridge();
    const d = send(b, 0, 0x01_80_c2_00_00_01, A);
    expect([d.outputs, d.drop, b.lookup(A)]).toEqual([[], BridgeReason.PAUSE, null]);
  });

  it('passes other reserved groups up the ingress port, learning the source, unless group_fwd_mask says', () => {
    for (const group of [0x01_80_c2_00_00_03, 0x01_80_c2_00_00_0e, 0x01_80_c2_00_00_02]) {
      const b = bridge();
      const d = send(b, 0, group, A);
      expect([d.outputs, d.drop, b.lookup(A)]).toEqual([[], BridgeReason.LINK_LOCAL_PORT_STACK, 'p1']);
    }
    const byBridge = new LearningBridge();
    byBridge.configure({ ports: [{ name: 'p1' }, { name: 'p2' }, { name: 'p3' }], groupFwdMask: 1 << 0xe });
    byBridge.bindNodes();
    expect(send(byBridge, 0, 0x01_80_c2_00_00_0e, A).outputs).toEqual([1, 2, 3]);
    expect(send(byBridge, 0, 0x01_80_c2_00_00_03, A).drop).toBe(BridgeReason.LINK_LOCAL_PORT_STACK);
    // The port's mask counts only for frames that enter by that port.
    const byPort = bridge([{}, { groupFwdMask: 1 << 3 }, {}]);
    expect(send(byPort, 1, 0x01_80_c2_00_00_03, B).outputs).toEqual([0, 2, 3]);
    expect(send(byPort, 0, 0x01_80_c2_00_00_03, A).outputs).toEqual([]);
  });

  it('bridges the STP group 01:80:c2:00:00:00 like any multicast: STP is off', () => {
    expect(send(bridge([{}, {}, { mcastFlood: false }]), 0, 0x01_80_c2_00_00_00, A).outputs).toEqual([1, 3]);
  });

  it('refuses the group_fwd_mask bits the kernel refuses', () => {
    const b = new LearningBridge();
    expect(() => b.configure({ ports: [{ name: 'p1' }], groupFwdMask: 1 })).toThrow(/may not include 0x7/);
    expect(() => b.configure({ ports: [{ name: 'p1', groupFwdMask: 2 }] })).toThrow(/port p1: .* may not include 0x2/);
    expect(() => b.configure({ ports: [{ name: 'p1', groupFwdMask: 0x10000 }] })).toThrow(/16-bit/);
    b.configure({ ports: [{ name: 'p1', groupFwdMask: 1 | 4 }] });
  });

  it("sends what its own stack addresses to a port's own MAC out of that port (br_dev_xmit)", () => {
    const b = new LearningBridge();
    const P2: Mac = 0x02_00_00_00_0f_02;
    b.configure({ ports: [{ name: 'p1' }, { name: 'p2', mac: P2 }, { name: 'p3' }], mac: BRIDGE });
    b.bindNodes();
    const d = send(b, 3, P2, BRIDGE);
    expect([d.outputs, d.reasons]).toEqual([[1], [BridgeReason.HOST_TO_PORT_MAC]]);
    expect(send(b, 3, BRIDGE, BRIDGE).drop).toBe(BridgeReason.LOCAL);
    expect(send(b, 0, P2, A).outputs).toEqual([3]);
  });

  it('floods broadcast and multicast from its own stack even to ports with bcast/mcast_flood off', () => {
    const b = bridge([{ bcastFlood: false, mcastFlood: false, flood: false }, {}, {}]);
    const bc = send(b, 3, BROADCAST, BRIDGE);
    expect([bc.outputs, bc.reasons[0]]).toEqual([[0, 1, 2], BridgeReason.FLOOD_LOCAL_ORIG]);
    expect(send(b, 3, GROUP, BRIDGE).outputs).toEqual([0, 1, 2]);
    expect(send(b, 3, UNKNOWN, BRIDGE).outputs).toEqual([1, 2]);
    expect(send(b, 1, BROADCAST, B).outputs).toEqual([2, 3]);
  });

  it('moves a static entry unless it is sticky; a local address is never learned', () => {
    const b = bridge();
    b.learn(C, 'p3', { static: true });
    send(b, 1, UNKNOWN, C);
    expect(b.lookup(C)).toBe('p2');
    b.learn(C, 'p3', { sticky: true });
    send(b, 1, UNKNOWN, C);
    expect(b.lookup(C)).toBe('p3');
    b.learn(BRIDGE, 'p1');
    send(b, 0, UNKNOWN, BRIDGE);
    expect(b.lookup(BRIDGE)).toBeNull();
  });

  it('reports every port promiscuous', () => {
    expect(bridge().report().promiscuous).toEqual(['p1', 'p2', 'p3']);
  });

  describe('bind', () => {
    const port = (name: string, options: Record<string, string>, mac: Mac | null = null): NamedPort => ({
      name,
      mac,
      keys: Object.entries(options)
        .map(([k, v]) => `${k}=${v}`)
        .join(','),
    });

    it("learns a port's own MAC like any station's (it is the station behind the port)", () => {
      const b = boundSwitch('bridge', [port('x', {}, A), port('y', {}, B)]) as LearningBridge;
      const d = new Decision();
      b.decide(0, view(B, A), d.reset());
      expect(d.outputs).toEqual([1]);
    });

    it('reads port flags and the host role', () => {
      const b = boundSwitch('bridge', [
        port('up', { role: 'host', mac: '02:00:00:00:00:01' }),
        port('x', { hairpin: 'on' }),
        port('y', { flood: 'off' }),
        port('z', {}),
      ]) as LearningBridge;
      const d = new Decision();
      b.decide(1, view(UNKNOWN, A), d.reset());
      expect(d.outputs).toEqual([1, 3]);
      b.decide(2, view(BRIDGE, B), d.reset());
      expect(d.outputs).toEqual([0]);
    });

    it('without a host port, local frames are dropped under their reason', () => {
      const b = boundSwitch('bridge', [
        port('x', { 'local-mac': '02:00:00:00:0f:01' }),
        port('y', {}),
      ]) as LearningBridge;
      const d = new Decision();
      b.decide(1, view(0x02_00_00_00_0f_01, B), d.reset());
      expect(d.drop).toBe(BridgeReason.LOCAL);
    });

    it.each([
      [[port('x', { hairpin: 'maybe' })], /hairpin must be on or off, not 'maybe'/],
      [[port('x', { colour: 'red' })], /unknown option 'colour'/],
      [[port('x', { role: 'spine' })], /role must be one of port, host, not 'spine'/],
      [[port('x', { 'local-mac': 'zz' })], /local-mac must be a MAC address/],
      [[port('x', { mac: '02:00:00:00:0f:01' })], /mac is for role=host, not role=port/],
      [[port('x', { role: 'host' }), port('y', { role: 'host' })], /two ports have role=host/],
    ] as [NamedPort[], RegExp][])('refuses bad options (%#)', (ports, message) => {
      expect(() => boundSwitch('bridge', ports)).toThrow(message);
    });
  });
});
