// Multicast snooping in the learning-bridge model against a Linux bridge with mcast_snooping 1.
// Three stations behind three ports send IGMP and MLD reports, leaves and queries, and UDP data
// to groups; packet sockets for IPv4 and IPv6 on each station and on the bridge device (its own
// stack) count marked frames (the mark rides in the IP payload, after the IGMP/MLD message or as
// UDP data). Every row starts on a new bridge with the settings it names, so no mdb entry, heard
// querier or router port survives from one row to the next; each marked frame's copies are
// compared with what the model, fed the same frames in the same order, predicts.
//
// Queries are sent unmarked (a mark after an 8-byte IGMPv2 or 24-byte MLDv1 query would make it
// a v3/v2 query with sources, which the bridge ignores): they only change state.
//
// The lab's pitfalls (issue 12): br_netfilter makes new namespaces pass bridged IP through
// iptables (and trim frames to the IP length), so the bridge-nf-call-* sysctls are 0 here; a
// bridge that snoops reports its own 224.0.0.106 unless igmp_link_local_mcast_reports is 0; and
// only a bridge with a usable IPv6 address can be an MLD querier, so the bridge (alone) has IPv6
// on, without DAD, and mcast_querier is switched on once its link-local address exists.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EtherType } from '../../src/frame/ethernet.js';
import { type McastMessage, mcastMessageFrame } from '../../src/frame/mcast-message.js';
import { parseIpv4, parseIpv6 } from '../../src/grammar/ip-address.js';
import { formatMac, parseMac } from '../../src/mac.js';
import { BridgeLab, defaultStationMac, HOST } from '../../src/sim/topology.js';
import type { BridgeMulticastConfig, BridgePortConfig } from '../../src/switch/learning-bridge.js';
import {
  addNamespace,
  addVeth,
  deleteNamespace,
  ip,
  macOf,
  newRunId,
  nsExec,
  waitForwarding,
} from '../helpers/kernel-lab.js';
import { MARK_ETHERTYPE, mark, markedFrame, Observer, settle } from '../helpers/kernel-observer.js';

type PortName = 'p1' | 'p2' | 'p3';
const PORTS: PortName[] = ['p1', 'p2', 'p3'];

interface Send {
  from: PortName | typeof HOST;
  /** An IP message, or a marked non-IP frame (0x88b5) to a MAC. */
  msg: McastMessage | { kind: 'l2'; dst: string };
  /** The destination MAC instead of the group's. */
  dst?: string;
  /** Spoil the IGMP/MLD checksum. */
  corrupt?: boolean;
  /** Wait this long before sending (ms): the kernel really waits, the model's clock advances. */
  after?: number;
}

interface Row {
  covers: string;
  bridge?: Omit<BridgeMulticastConfig, 'ipv6'>;
  flags?: Partial<Record<PortName, Pick<BridgePortConfig, 'mcastRouter' | 'fastLeave' | 'mcastFlood'>>>;
  sends: Send[];
}

const g4 = (t: string) => parseIpv4(t)!;
const g6 = (t: string) => parseIpv6(t)!;
const G = g4('239.1.1.1');
const G2 = g4('239.2.2.2');
const G_SAME_MAC = g4('239.129.1.1');
const G6 = g6('ff0e::1:3');
const data = (group: number | Uint8Array): McastMessage => ({ kind: 'data', group });
const report = (group: number | Uint8Array): McastMessage => ({ kind: 'report', group });
const leave = (group: number | Uint8Array): McastMessage => ({ kind: 'leave', group });
const query4: McastMessage = { kind: 'query', group: 0, maxRespMs: 300 };
const query6: McastMessage = { kind: 'query', group: new Uint8Array(16), maxRespMs: 300 };

const ROWS: Row[] = [
  {
    covers: 'snooping without a querier floods a joined group everywhere, the bridge stack included',
    sends: [
      { from: 'p2', msg: report(G) },
      { from: 'p1', msg: data(G) },
    ],
  },
  {
    covers: "with the bridge's own querier: a joined group to its member only, an unjoined one nowhere",
    bridge: { querier: true },
    sends: [
      { from: 'p2', msg: report(G) },
      { from: 'p1', msg: data(G) },
      { from: 'p1', msg: data(G2) },
    ],
  },
  {
    covers: 'snooping is by IP group: two groups on one MAC are told apart, a non-IP frame to it floods',
    bridge: { querier: true },
    sends: [
      { from: 'p2', msg: report(G) },
      { from: 'p1', msg: data(G_SAME_MAC) },
      { from: 'p1', msg: data(G) },
      { from: 'p1', msg: { kind: 'l2', dst: '01:00:5e:01:01:01' } },
    ],
  },
  {
    covers: 'link-local groups 224.0.0.x and ff02::1 always flood; ff02::fb is snooped',
    bridge: { querier: true },
    sends: [
      { from: 'p1', msg: data(g4('224.0.0.251')) },
      { from: 'p1', msg: data(g6('ff02::1')) },
      { from: 'p1', msg: data(g6('ff02::fb')) },
    ],
  },
  {
    covers: 'a member behind a port with mcast_flood off gets its group',
    bridge: { querier: true },
    flags: { p2: { mcastFlood: false } },
    sends: [
      { from: 'p2', msg: report(G) },
      { from: 'p1', msg: data(G) },
    ],
  },
  {
    covers: 'a general query heard on a port makes it a router port: it gets unjoined groups and reports',
    sends: [
      { from: 'p3', msg: query4 },
      { from: 'p1', msg: data(G2), after: 600 },
      { from: 'p2', msg: report(G) },
      { from: 'p1', msg: data(G) },
    ],
  },
  {
    covers: 'within the max response time of the first query heard, there is no querier yet: floods',
    sends: [
      { from: 'p3', msg: { ...query4, maxRespMs: 3000 } },
      { from: 'p1', msg: data(G2) },
    ],
  },
  {
    covers: 'mcast_router 2 is always a router port; mcast_router 0 never, even when a query arrives',
    bridge: { querier: true },
    flags: { p2: { mcastRouter: 2 }, p3: { mcastRouter: 0 } },
    sends: [
      { from: 'p3', msg: query4 },
      { from: 'p1', msg: data(G2), after: 600 },
    ],
  },
  {
    covers: "the bridge's own stack gets a group only once it joined (its own report)",
    bridge: { querier: true },
    sends: [
      { from: 'p1', msg: data(G) },
      { from: HOST, msg: report(G) },
      { from: 'p1', msg: data(G) },
    ],
  },
  {
    covers: 'a leave ends the membership within last_member_count x last_member_interval (2 s)',
    bridge: { querier: true },
    sends: [
      { from: 'p2', msg: report(G) },
      { from: 'p2', msg: leave(G) },
      { from: 'p1', msg: data(G) },
      { from: 'p1', msg: data(G), after: 2600 },
    ],
  },
  {
    covers: 'fastleave: a leave ends the membership at once; IGMPv3 TO_EX {} joins and TO_IN {} leaves',
    bridge: { querier: true },
    flags: { p2: { fastLeave: true }, p3: { fastLeave: true } },
    sends: [
      { from: 'p2', msg: report(G) },
      { from: 'p3', msg: { kind: 'report3', group: G } },
      { from: 'p1', msg: data(G) },
      { from: 'p2', msg: leave(G) },
      { from: 'p1', msg: data(G) },
      { from: 'p3', msg: { kind: 'leave3', group: G } },
      { from: 'p1', msg: data(G) },
    ],
  },
  {
    covers: 'a leave while another querier is heard is left to it: the member stays',
    sends: [
      { from: 'p3', msg: query4 },
      { from: 'p2', msg: report(G), after: 600 },
      { from: 'p2', msg: leave(G) },
      { from: 'p1', msg: data(G), after: 2600 },
    ],
  },
  {
    covers: "MLD with the bridge's own querier: MLDv1 and MLDv2 reports join, a done with fastleave leaves",
    bridge: { querier: true },
    flags: { p2: { fastLeave: true } },
    sends: [
      { from: 'p2', msg: report(G6) },
      { from: 'p3', msg: { kind: 'report3', group: G6 } },
      { from: 'p1', msg: data(G6) },
      { from: 'p2', msg: leave(G6) },
      { from: 'p1', msg: data(G6) },
    ],
  },
  {
    covers: 'an MLD general query makes a router port for IPv6 only',
    sends: [
      { from: 'p3', msg: query6 },
      { from: 'p1', msg: data(G6), after: 600 },
      { from: 'p1', msg: data(G) },
    ],
  },
  {
    covers: 'a report with a bad IGMP checksum is dropped and joins nobody',
    bridge: { querier: true },
    sends: [
      { from: 'p2', msg: report(G), corrupt: true },
      { from: 'p1', msg: data(G) },
    ],
  },
  {
    covers: 'mcast_snooping 0: reports teach nothing, every group floods even with a querier',
    bridge: { snooping: false, querier: true },
    sends: [
      { from: 'p2', msg: report(G) },
      { from: 'p1', msg: data(G) },
    ],
  },
];

const RUN = newRunId();
const RUN_TAG = parseInt(RUN, 16) + 0x2000_0000;
const BRIDGE_MAC = '02:00:00:00:00:01';
let nextCase = 1;

function sysctl(ns: string, ...settings: string[]): void {
  nsExec(ns, 'sysctl', '-qw', ...settings);
}

/** The IGMP or MLD checksum's offset in a frame from mcastMessageFrame (router alert / hop-by-hop). */
function checksumOffset(msg: McastMessage): number {
  return typeof msg.group === 'number' ? 14 + 24 + 2 : 14 + 40 + 8 + 2;
}

describe('multicast snooping: learning bridge vs the Linux bridge', () => {
  const id = `${RUN}m`;
  const sw = `ty-${id}-sw`;
  const st = `ty-${id}-st`;
  const port = (p: string) => `ty-${id}-s${p}`;
  const stationDev = (p: string) => `ty-${id}-h${p}`;
  const stationMacs = new Map<string, string>(PORTS.map((p, i) => [p, formatMac(defaultStationMac(i))]));
  const portMacs = new Map<string, string>();
  /** Per station (and host), one observer per ethertype. */
  const stationObservers = new Map<string, Observer[]>();
  let bridgeNumber = 0;

  beforeAll(() => {
    addNamespace(sw);
    addNamespace(st);
    // Only ever bridged, never filtered: no br_netfilter here (the sysctls exist only with it loaded).
    for (const k of ['iptables', 'ip6tables', 'arptables']) {
      try {
        sysctl(sw, `net.bridge.bridge-nf-call-${k}=0`);
      } catch {
        // br_netfilter is not loaded: nothing to turn off
      }
    }
    sysctl(sw, 'net.ipv4.igmp_link_local_mcast_reports=0', 'net.ipv6.conf.default.accept_dad=0');
    for (const p of PORTS) {
      addVeth(sw, port(p), st, stationDev(p));
      ip('-n', st, 'link', 'set', stationDev(p), 'address', stationMacs.get(p)!);
      portMacs.set(p, macOf(sw, port(p)));
    }
    for (const p of PORTS)
      stationObservers.set(
        p,
        [MARK_ETHERTYPE, EtherType.IPV4, EtherType.IPV6].map((t) => new Observer(p, st, stationDev(p), RUN_TAG, t)),
      );
  });

  afterAll(() => {
    for (const list of stationObservers.values()) for (const o of list) o.close();
    deleteNamespace(sw);
    deleteNamespace(st);
  });

  /** A new bridge for the row, its ports enslaved with the row's flags, forwarding. */
  async function newBridge(row: Row): Promise<string> {
    const br = `ty-${id}-b${++bridgeNumber}`;
    const b = row.bridge ?? {};
    ip('-n', sw, 'link', 'add', br, 'type', 'bridge', 'stp_state', '0', 'forward_delay', '0');
    ip(
      '-n',
      sw,
      'link',
      'set',
      br,
      'address',
      BRIDGE_MAC,
      'type',
      'bridge',
      'mcast_snooping',
      (b.snooping ?? true) ? '1' : '0',
      'mcast_router',
      String(b.mcastRouter ?? 1),
      'mcast_query_response_interval',
      '100',
    );
    sysctl(sw, `net.ipv6.conf.${br}.disable_ipv6=0`);
    for (const p of PORTS) {
      const f = row.flags?.[p] ?? {};
      ip('-n', sw, 'link', 'set', port(p), 'master', br);
      ip(
        '-n',
        sw,
        'link',
        'set',
        port(p),
        'type',
        'bridge_slave',
        'mcast_router',
        String(f.mcastRouter ?? 1),
        'mcast_fast_leave',
        f.fastLeave === true ? 'on' : 'off',
        'mcast_flood',
        f.mcastFlood === false ? 'off' : 'on',
      );
    }
    ip('-n', sw, 'link', 'set', br, 'up');
    await waitForwarding(sw, PORTS.map(port));
    if (b.querier === true) {
      // The own MLD querier needs the bridge's link-local address (BROPT_HAS_IPV6_ADDR), and
      // switching mcast_querier on starts a delay of the query response interval (1 s here).
      const deadline = Date.now() + 5000;
      while (!/inet6 fe80::/.test(ip('-n', sw, '-6', 'addr', 'show', 'dev', br))) {
        if (Date.now() > deadline) throw new Error(`${br} never got its link-local address`);
        await new Promise((r) => setTimeout(r, 50));
      }
      ip('-n', sw, 'link', 'set', br, 'type', 'bridge', 'mcast_querier', '1');
      await new Promise((r) => setTimeout(r, 1300));
    }
    return br;
  }

  it.each(ROWS.map((r) => [r.covers, r] as const))('%s', async (_title, row) => {
    const br = await newBridge(row);
    const hostObservers = [MARK_ETHERTYPE, EtherType.IPV4, EtherType.IPV6].map(
      (t) => new Observer(HOST, sw, br, RUN_TAG, t),
    );
    const observers = new Map([...stationObservers, [HOST, hostObservers]]);
    const all = [...observers.values()].flat();
    try {
      let clock = 0;
      const model = new BridgeLab({
        ports: PORTS.map((name) => ({ name, mac: parseMac(portMacs.get(name)!)!, ...(row.flags?.[name] ?? {}) })),
        bridgeMac: parseMac(BRIDGE_MAC)!,
        stationMacs: new Map(PORTS.map((p) => [p, parseMac(stationMacs.get(p)!)!])),
        now: () => clock,
        bridge: row.bridge ?? {},
      });
      const mac = (who: string) => parseMac(who === HOST ? BRIDGE_MAC : stationMacs.get(who)!)!;
      const seen: Record<string, number>[] = [];
      const predicted: Record<string, number>[] = [];
      for (const send of row.sends) {
        if (send.after !== undefined) {
          await new Promise((r) => setTimeout(r, send.after));
          clock += send.after;
        }
        const caseId = nextCase++;
        const marked = send.msg.kind !== 'query';
        let frame: Uint8Array;
        if (send.msg.kind === 'l2') frame = markedFrame(send.msg.dst, formatMac(mac(send.from)), RUN_TAG, caseId);
        else {
          frame = mcastMessageFrame(
            send.msg,
            mac(send.from),
            marked ? mark(RUN_TAG, caseId) : undefined,
            send.dst === undefined ? undefined : parseMac(send.dst)!,
          );
          if (send.corrupt === true) frame[checksumOffset(send.msg)]! ^= 0xff;
        }
        // From the socket bound to the frame's ethertype: on the bridge device, a packet socket's
        // frame carries the socket's protocol as skb->protocol, which br_multicast_rcv reads.
        const etherType = (frame[12]! << 8) | frame[13]!;
        observers.get(send.from)![[MARK_ETHERTYPE, EtherType.IPV4, EtherType.IPV6].indexOf(etherType)]!.send(frame);
        const journey = model.send(send.from, frame, false);
        if (!marked) continue;
        await settle(all, caseId);
        seen.push(
          Object.fromEntries([...observers].map(([name, os]) => [name, os.reduce((n, o) => n + o.count(caseId), 0)])),
        );
        const counts: Record<string, number> = Object.fromEntries([...observers.keys()].map((n) => [n, 0]));
        for (const d of journey.deliveries) counts[d.station] = counts[d.station]! + 1;
        predicted.push(counts);
      }
      expect(seen).toEqual(predicted);
    } finally {
      for (const o of hostObservers) o.close();
      ip('-n', sw, 'link', 'del', br);
    }
  });
});
