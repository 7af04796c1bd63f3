// The learning bridge: learning, ageing on an injected clock, flooding flags, hairpin, local
// addresses and binding. Expectations follow net/bridge (br_input.c, br_forward.c, br_fdb.c).

import { describe, expect, it } from 'vitest';
import { EthernetView, emitEthernet } from '../../../src/frame/ethernet.js';
import { BROADCAST, type Mac } from '../../../src/mac.js';
import { Decision, type SwitchPort } from '../../../src/switch/decision.js';
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

  it('reports every port promiscuous', () => {
    expect(bridge().report().promiscuous).toEqual(['p1', 'p2', 'p3']);
  });

  describe('bind', () => {
    const port = (name: string, options: Record<string, string>, mac: Mac | null = null): SwitchPort => ({
      name,
      mac,
      options,
    });

    it("learns a port's own MAC like any station's (it is the station behind the port)", () => {
      const b = new LearningBridge();
      b.bind([port('x', {}, A), port('y', {}, B)]);
      const d = new Decision();
      b.decide(0, view(B, A), d.reset());
      expect(d.outputs).toEqual([1]);
    });

    it('reads port flags and the host role', () => {
      const b = new LearningBridge();
      b.bind([
        port('up', { role: 'host', mac: '02:00:00:00:00:01' }),
        port('x', { hairpin: 'on' }),
        port('y', { flood: 'off' }),
        port('z', {}),
      ]);
      const d = new Decision();
      b.decide(1, view(UNKNOWN, A), d.reset());
      expect(d.outputs).toEqual([1, 3]);
      b.decide(2, view(BRIDGE, B), d.reset());
      expect(d.outputs).toEqual([0]);
    });

    it('without a host port, local frames are dropped under their reason', () => {
      const b = new LearningBridge();
      b.bind([port('x', { 'local-mac': '02:00:00:00:0f:01' }), port('y', {})]);
      const d = new Decision();
      b.decide(1, view(0x02_00_00_00_0f_01, B), d.reset());
      expect(d.drop).toBe(BridgeReason.LOCAL);
    });

    it.each([
      [[port('x', { hairpin: 'maybe' })], /hairpin=maybe/],
      [[port('x', { colour: 'red' })], /'colour'/],
      [[port('x', { role: 'spine' })], /role=spine/],
      [[port('x', { 'local-mac': 'zz' })], /not a MAC/],
      [[port('x', { mac: '02:00:00:00:0f:01' })], /use local-mac=/],
      [[port('x', { role: 'host' }), port('y', { role: 'host' })], /two ports have role=host/],
    ] as [SwitchPort[], RegExp][])('refuses bad options (%#)', (ports, message) => {
      expect(() => new LearningBridge().bind(ports)).toThrow(message);
    });
  });
});
