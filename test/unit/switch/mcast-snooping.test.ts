// Multicast snooping in the learning bridge: the mdb built from IGMP and MLD, the querier and
// router ports, and where group frames go with and without them. Expectations follow
// net/bridge/br_multicast.c, br_input.c (br_handle_frame_finish) and br_forward.c
// (br_multicast_flood); test/conformance/bridge-multicast.test.ts checks them against a bridge.

import { describe, expect, it } from 'vitest';
import { EthernetView } from '../../../src/frame/ethernet.js';
import { type McastMessage, mcastMessageFrame } from '../../../src/frame/mcast-message.js';
import { parseIpv4, parseIpv6 } from '../../../src/grammar/ip-address.js';
import type { Mac } from '../../../src/mac.js';
import { Decision } from '../../../src/switch/decision.js';
import { type BridgeConfig, type BridgePortConfig, LearningBridge } from '../../../src/switch/learning-bridge.js';
import { SnoopReason } from '../../../src/switch/mcast-snooping.js';
import { LAST_MEMBER_MS, MEMBERSHIP_INTERVAL_MS } from '../../../src/switch/mdb.js';

const STATION: Mac[] = [0x02_00_00_00_02_01, 0x02_00_00_00_02_02, 0x02_00_00_00_02_03];
const BRIDGE: Mac = 0x02_00_00_00_00_01;
const HOST = 3;
const G = parseIpv4('239.1.1.1')!;
const G_SAME_MAC = parseIpv4('239.129.1.1')!;
const G6 = parseIpv6('ff0e::1:3')!;
const ANY4 = 0;
const ANY6 = new Uint8Array(16);

interface Lab {
  b: LearningBridge;
  clock: { now: number };
  send(from: number, m: McastMessage, dst?: Mac): Decision;
}

function lab(options: Partial<BridgeConfig> = {}, ports: Partial<BridgePortConfig>[] = [{}, {}, {}]): Lab {
  const clock = { now: 0 };
  const b = new LearningBridge({ now: () => clock.now, ...options });
  b.configure({ ...options, ports: ports.map((p, i) => ({ name: `p${i + 1}`, ...p })), mac: BRIDGE });
  b.bindNodes();
  const send = (from: number, m: McastMessage, dst?: Mac) => {
    const bytes = mcastMessageFrame(m, from === HOST ? BRIDGE : STATION[from]!, undefined, dst);
    const v = new EthernetView();
    v.parse(bytes, 0, bytes.length);
    const d = new Decision();
    d.steps = [];
    b.decide(from, v, d.reset());
    return d;
  };
  return { b, clock, send };
}

const data = (group: number | Uint8Array): McastMessage => ({ kind: 'data', group });
const report = (group: number | Uint8Array): McastMessage => ({ kind: 'report', group });

describe('multicast snooping', () => {
  it('without a querier floods IP multicast as a bridge without snooping does, even to a joined group', () => {
    const l = lab();
    l.send(1, report(G));
    const d = l.send(0, data(G));
    expect(d.outputs).toEqual([1, 2, HOST]);
    expect(d.steps!.map((s) => s.reason)).toContain(SnoopReason.NO_QUERIER);
  });

  it('with its own querier sends a joined group to members only, an unjoined one nowhere', () => {
    const l = lab({ querier: true });
    expect(l.send(1, report(G)).outputs).toEqual([]); // a v2 report goes to router ports only
    expect(l.send(0, data(G)).outputs).toEqual([1]);
    const d = l.send(0, data(parseIpv4('239.2.2.2')!));
    expect(d.outputs).toEqual([]);
    expect(d.drop).toBe(SnoopReason.NOT_JOINED);
  });

  it('tells apart two groups that share a MAC, and floods non-IP frames to that MAC', () => {
    const l = lab({ querier: true });
    l.send(1, report(G));
    expect(l.send(0, data(G_SAME_MAC)).outputs).toEqual([]);
    expect(l.send(0, data(G)).outputs).toEqual([1]);
    // The same destination MAC, but data for G_SAME_MAC: snooping looks at the IP group.
    expect(l.send(0, data(G_SAME_MAC), 0x01_00_5e_01_01_01).outputs).toEqual([]);
  });

  it('always floods the link-local groups 224.0.0.x and ff02::1', () => {
    const l = lab({ querier: true });
    expect(l.send(0, data(parseIpv4('224.0.0.251')!)).outputs).toEqual([1, 2, HOST]);
    expect(l.send(0, data(parseIpv6('ff02::1')!)).outputs).toEqual([1, 2, HOST]);
    // ff02::fb is not all-nodes: snooped like any other IPv6 group.
    expect(l.send(0, data(parseIpv6('ff02::fb')!)).outputs).toEqual([]);
  });

  it('sends to a member whose port has mcast_flood off', () => {
    const l = lab({ querier: true }, [{}, { mcastFlood: false }, {}]);
    l.send(1, report(G));
    expect(l.send(0, data(G)).outputs).toEqual([1]);
  });

  it('learns a router port from a general query: it then gets every snooped frame and every report', () => {
    const l = lab();
    const q = l.send(2, { kind: 'query', group: ANY4, maxRespMs: 500 });
    expect(q.outputs).toEqual([0, 1, HOST]); // queries flood
    // Within the query's max response time the querier does not count yet (delay_timer).
    expect(l.send(0, data(G)).outputs).toEqual([1, 2, HOST]);
    l.clock.now = 600;
    expect(l.send(0, data(G)).outputs).toEqual([2]);
    expect(l.send(1, report(G)).outputs).toEqual([2]);
    expect(l.send(0, data(G)).outputs.sort()).toEqual([1, 2]);
  });

  it('mcast_router 0 never makes a router port; 2 always does', () => {
    const l = lab({ querier: true }, [{}, { mcastRouter: 2 }, { mcastRouter: 0 }]);
    l.send(2, { kind: 'query', group: ANY4, maxRespMs: 100 });
    l.clock.now = 200;
    expect(l.send(0, data(G)).outputs).toEqual([1]);
  });

  it("goes up to the bridge's own stack only when it joined", () => {
    const l = lab({ querier: true });
    expect(l.send(0, data(G)).outputs).toEqual([]);
    l.send(HOST, report(G));
    const d = l.send(0, data(G));
    expect(d.outputs).toEqual([HOST]);
    expect(d.reasons).toEqual([SnoopReason.HOST_JOINED]);
  });

  it('ages a membership after the membership interval', () => {
    const l = lab({ querier: true });
    l.send(1, report(G));
    l.clock.now = MEMBERSHIP_INTERVAL_MS - 1;
    expect(l.send(0, data(G)).outputs).toEqual([1]);
    l.clock.now = MEMBERSHIP_INTERVAL_MS;
    expect(l.send(0, data(G)).outputs).toEqual([]);
  });

  it('ends a membership 2 s after a leave, at once with fastleave', () => {
    const l = lab({ querier: true }, [{}, {}, { fastLeave: true }]);
    l.send(1, report(G));
    l.send(2, report(G));
    expect(l.send(1, { kind: 'leave', group: G }).steps!.map((s) => s.reason)).toContain(SnoopReason.LEAVE);
    expect(l.send(2, { kind: 'leave', group: G }).steps!.map((s) => s.reason)).toContain(SnoopReason.FAST_LEAVE);
    expect(l.send(0, data(G)).outputs).toEqual([1]);
    l.clock.now = LAST_MEMBER_MS;
    expect(l.send(0, data(G)).outputs).toEqual([]);
  });

  it('ignores a leave while another querier is heard', () => {
    const l = lab();
    l.send(2, { kind: 'query', group: ANY4, maxRespMs: 100 });
    l.send(1, report(G));
    l.send(1, { kind: 'leave', group: G });
    l.clock.now = 10_000;
    expect(l.send(0, data(G)).outputs.sort()).toEqual([1, 2]);
  });

  it('reads IGMPv3 records: TO_EX {} joins, TO_IN {} leaves', () => {
    const l = lab({ querier: true }, [{}, { fastLeave: true }, {}]);
    expect(l.send(1, { kind: 'report3', group: G }).outputs).toEqual([0, 2, HOST]); // to 224.0.0.22: flooded
    expect(l.send(0, data(G)).outputs).toEqual([1]);
    l.send(1, { kind: 'leave3', group: G });
    expect(l.send(0, data(G)).outputs).toEqual([]);
  });

  it('snoops MLDv1 and MLDv2 reports and dones, by the IPv6 group', () => {
    const l = lab({ querier: true }, [{}, { fastLeave: true }, {}]);
    l.send(1, report(G6));
    l.send(2, { kind: 'report3', group: G6 });
    expect(l.send(0, data(G6)).outputs).toEqual([1, 2]);
    l.send(1, { kind: 'leave', group: G6 });
    expect(l.send(0, data(G6)).outputs).toEqual([2]);
  });

  it('an MLD query makes a router port for IPv6 only; without an IPv6 address the own querier does not count', () => {
    const l = lab({ querier: true, ipv6: false });
    l.send(1, report(G6));
    expect(l.send(0, data(G6)).outputs).toEqual([1, 2, HOST]);
    l.send(2, { kind: 'query', group: ANY6, maxRespMs: 100 });
    l.clock.now = 200;
    expect(l.send(0, data(G6)).outputs.sort()).toEqual([1, 2]);
    expect(l.send(0, data(G)).outputs).toEqual([]);
  });

  it('drops IGMP with a bad checksum and does not learn from it', () => {
    const l = lab({ querier: true });
    const bytes = mcastMessageFrame(report(G), STATION[1]!);
    bytes[14 + 24 + 2]! ^= 0xff;
    const v = new EthernetView();
    v.parse(bytes, 0, bytes.length);
    const d = new Decision();
    l.b.decide(1, v, d.reset());
    expect(d.drop).toBe(SnoopReason.INVALID);
    expect(l.b.mdbEntries()).toEqual([]);
  });

  it('with mcast_snooping 0 floods everything and learns nothing', () => {
    const l = lab({ snooping: false, querier: true });
    l.send(1, report(G));
    expect(l.send(0, data(G)).outputs).toEqual([1, 2, HOST]);
    expect(l.b.mdbEntries()).toEqual([]);
  });

  it('joinGroup refuses link-local groups, as bridge mdb add does', () => {
    const l = lab();
    expect(() => l.b.joinGroup(Uint8Array.of(224, 0, 0, 5), 'p1')).toThrow(/link-local/);
    l.b.joinGroup(Uint8Array.of(239, 1, 1, 1), 'p2');
    expect(l.b.mdbEntries()).toEqual([{ group: Uint8Array.of(239, 1, 1, 1), ports: ['p2'], host: false }]);
  });
});
