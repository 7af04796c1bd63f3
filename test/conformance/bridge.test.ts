// The learning-bridge model against a Linux bridge. Three stations sit behind three bridge
// ports (veth pairs from a station namespace into the bridge's); a protocol-bound packet socket
// on each station and one on the bridge device (its own stack) count marked frames. Every row
// starts from an empty FDB with the port flags it names, sends a short sequence of frames, and
// compares every frame's copies with what the model, run through the forwarder's decide(),
// predicts. Ageing rows really wait; the model's clock advances by the same amount.
//
// One more socket per port sits on the port device itself, in the bridge's namespace: it sees
// only what the bridge hands back to that port's own stack (RX_HANDLER_PASS: the reserved
// link-local groups), never what the bridge forwards or sends out of the port.

import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatMac, parseMac } from '../../src/mac.js';
import { BridgeLab, defaultStationMac, HOST } from '../../src/sim/topology.js';
import { type BridgePortConfig, BridgeReason } from '../../src/switch/learning-bridge.js';
import {
  addBridge,
  addNamespace,
  addVeth,
  deleteNamespace,
  flushFdb,
  ip,
  macOf,
  newRunId,
  promiscuity,
  waitForwarding,
} from '../helpers/kernel-lab.js';
import { markedFrame, Observer, settle } from '../helpers/kernel-observer.js';

type PortName = 'p1' | 'p2' | 'p3';
const PORTS: PortName[] = ['p1', 'p2', 'p3'];

interface Send {
  from: PortName | typeof HOST;
  /** A station, host (the bridge's MAC), a port device ('dev:p2'), or a MAC. */
  to: string;
  /** Source MAC override (a station name or a MAC); default the sender's MAC. */
  src?: string;
  /** Wait this long before sending (ms): the kernel really waits, the model's clock advances. */
  after?: number;
}

interface Row {
  covers: string;
  flags?: Partial<Record<PortName, Omit<BridgePortConfig, 'name' | 'mac'>>>;
  ageingSeconds?: number;
  /** The bridge's group_fwd_mask. */
  groupFwdMask?: number;
  /** `bridge fdb add MAC dev PORT master static [sticky]` before the sends. */
  statics?: { mac: string; port: PortName; sticky?: boolean }[];
  sends: Send[];
}

const ROVING = '02:00:00:00:0a:0a';
const UNKNOWN = '02:00:00:00:ee:ee';
const GROUP = '01:00:5e:00:00:fb';
const reserved = (x: number) => `01:80:c2:00:00:${x.toString(16).padStart(2, '0')}`;

const ROWS: Row[] = [
  {
    covers: 'br_flood: unknown unicast to every other port, not up to the bridge',
    sends: [{ from: 'p1', to: UNKNOWN }],
  },
  {
    covers: 'br_flood: broadcast to every other port and up to the bridge (local_rcv)',
    sends: [{ from: 'p1', to: 'broadcast' }],
  },
  { covers: 'br_flood: multicast without snooping like broadcast', sends: [{ from: 'p1', to: GROUP }] },
  {
    covers: 'br_fdb_update learns the source; br_forward sends the reply to that one port',
    sends: [
      { from: 'p2', to: 'p1' },
      { from: 'p1', to: 'p2' },
      { from: 'p2', to: 'p1' },
    ],
  },
  {
    covers: "a frame for the bridge's own MAC goes up to its stack only (local FDB entry)",
    sends: [{ from: 'p1', to: HOST }],
  },
  {
    covers: "a port device's own MAC is a local FDB entry too: up to the bridge's stack",
    sends: [{ from: 'p1', to: 'dev:p2' }],
  },
  {
    covers: 'should_deliver: a destination learned on the ingress port is not sent back without hairpin',
    sends: [
      { from: 'p1', to: UNKNOWN, src: ROVING },
      { from: 'p1', to: ROVING },
    ],
  },
  {
    covers: 'hairpin on: a destination learned on the ingress port is sent back out of it',
    flags: { p1: { hairpin: true } },
    sends: [
      { from: 'p1', to: UNKNOWN, src: ROVING },
      { from: 'p1', to: ROVING },
    ],
  },
  {
    covers: 'hairpin on: floods include the ingress port (broadcast and unknown unicast)',
    flags: { p1: { hairpin: true } },
    sends: [
      { from: 'p1', to: 'broadcast' },
      { from: 'p1', to: UNKNOWN },
    ],
  },
  {
    covers: 'flood off: no unknown unicast to that port',
    flags: { p3: { flood: false } },
    sends: [{ from: 'p1', to: UNKNOWN }],
  },
  {
    covers: 'flood off does not stop known unicast',
    flags: { p3: { flood: false } },
    sends: [
      { from: 'p3', to: 'p1' },
      { from: 'p1', to: 'p3' },
    ],
  },
  {
    covers: 'bcast_flood off: no broadcast to that port',
    flags: { p3: { bcastFlood: false } },
    sends: [{ from: 'p1', to: 'broadcast' }],
  },
  {
    covers: 'mcast_flood off: no multicast to that port',
    flags: { p3: { mcastFlood: false } },
    sends: [{ from: 'p1', to: GROUP }],
  },
  {
    covers: 'learning off: the port sends but its stations stay unknown, so frames to them flood',
    flags: { p2: { learning: false } },
    sends: [
      { from: 'p2', to: 'p1' },
      { from: 'p1', to: 'p2' },
    ],
  },
  {
    covers: 'br_handle_frame drops a frame whose source is a group address',
    sends: [{ from: 'p1', to: 'p2', src: '03:00:00:00:00:01' }],
  },
  {
    covers: 'a station that moves is relearned on its new port',
    sends: [
      { from: 'p1', to: UNKNOWN, src: ROVING },
      { from: 'p2', to: UNKNOWN, src: ROVING },
      { from: 'p3', to: ROVING },
    ],
  },
  {
    covers: 'br_dev_xmit: the bridge stack floods broadcast to every port and never to itself',
    sends: [{ from: HOST, to: 'broadcast' }],
  },
  {
    covers: 'br_dev_xmit: the bridge stack sends known unicast to one port',
    sends: [
      { from: 'p2', to: 'broadcast' },
      { from: HOST, to: 'p2' },
    ],
  },
  {
    covers: 'br_fdb_cleanup: after ageing_time the entry is gone and frames to the station flood again',
    ageingSeconds: 1,
    sends: [
      { from: 'p2', to: 'p1' },
      { from: 'p1', to: 'p2', after: 2500 },
    ],
  },
  {
    covers: 'br_handle_frame drops PAUSE (01:80:c2:00:00:01) and does not learn from it',
    sends: [
      { from: 'p1', to: reserved(1) },
      { from: 'p2', to: 'p1' },
    ],
  },
  {
    covers: "br_handle_frame: 802.1X, LACP and LLDP groups go up the ingress port's own stack, learned from",
    sends: [
      { from: 'p1', to: reserved(3) },
      { from: 'p2', to: reserved(2) },
      { from: 'p3', to: reserved(0xe) },
      { from: 'p2', to: 'p1' },
    ],
  },
  {
    covers: 'br_handle_frame: with STP off the STP group 01:80:c2:00:00:00 is bridged like multicast',
    flags: { p3: { mcastFlood: false } },
    sends: [{ from: 'p1', to: reserved(0) }],
  },
  {
    covers: "the bridge's group_fwd_mask bridges the groups it names, from every port",
    groupFwdMask: (1 << 3) | (1 << 0xe),
    sends: [
      { from: 'p1', to: reserved(3) },
      { from: 'p2', to: reserved(0xe) },
      { from: 'p3', to: reserved(0xc) },
    ],
  },
  {
    covers: "a port's group_fwd_mask bridges the groups it names from that port only",
    flags: { p2: { groupFwdMask: (1 << 2) | (1 << 3) } },
    sends: [
      { from: 'p2', to: reserved(2) },
      { from: 'p2', to: reserved(3) },
      { from: 'p1', to: reserved(3) },
    ],
  },
  {
    covers: "br_dev_xmit: the bridge stack's frame for a port's own MAC leaves by that port",
    sends: [
      { from: HOST, to: 'dev:p2' },
      { from: HOST, to: HOST },
    ],
  },
  {
    covers: "br_flood: the bridge stack's broadcast and multicast ignore bcast_flood/mcast_flood off",
    flags: { p2: { bcastFlood: false }, p3: { mcastFlood: false } },
    sends: [
      { from: HOST, to: 'broadcast' },
      { from: HOST, to: GROUP },
    ],
  },
  {
    covers: "br_flood: the bridge stack's unknown unicast still skips a port with flood off",
    flags: { p3: { flood: false } },
    sends: [{ from: HOST, to: UNKNOWN }],
  },
  {
    covers: 'br_fdb_update: a static entry moves when its source appears on another port',
    statics: [{ mac: ROVING, port: 'p3' }],
    sends: [
      { from: 'p1', to: ROVING },
      { from: 'p2', to: UNKNOWN, src: ROVING },
      { from: 'p1', to: ROVING },
    ],
  },
  {
    covers: 'br_fdb_update: a sticky static entry does not move',
    statics: [{ mac: ROVING, port: 'p3', sticky: true }],
    sends: [
      { from: 'p2', to: UNKNOWN, src: ROVING },
      { from: 'p1', to: ROVING },
    ],
  },
  {
    covers: 'a static entry does not age',
    ageingSeconds: 1,
    statics: [{ mac: ROVING, port: 'p3' }],
    sends: [{ from: 'p1', to: ROVING, after: 2500 }],
  },
  {
    covers: 'before ageing_time the entry holds: known unicast to one port',
    ageingSeconds: 5,
    sends: [
      { from: 'p2', to: 'p1' },
      { from: 'p1', to: 'p2', after: 1000 },
    ],
  },
];

/** The observer on a port device: that port's own stack in the bridge's namespace. */
const portStack = (p: string) => `stack:${p}`;

const RUN = newRunId();
const RUN_TAG = parseInt(RUN, 16) + 0x1000_0000;
const BRIDGE_MAC = '02:00:00:00:00:01';
let nextCase = 1;

function bridgeOut(ns: string, ...args: string[]): string {
  return execFileSync('bridge', ['-n', ns, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

function bridgeCmd(ns: string, ...args: string[]): void {
  bridgeOut(ns, ...args);
}

describe('learning bridge vs the Linux bridge', () => {
  const id = `${RUN}b`;
  const sw = `ty-${id}-sw`;
  const st = `ty-${id}-st`;
  const br = `ty-${id}-br`;
  const port = (p: string) => `ty-${id}-s${p}`;
  const stationDev = (p: string) => `ty-${id}-h${p}`;
  const stationMacs = new Map<string, string>(PORTS.map((p, i) => [p, formatMac(defaultStationMac(i))]));
  const portMacs = new Map<string, string>();
  const observers = new Map<string, Observer>();

  beforeAll(async () => {
    addNamespace(sw);
    addNamespace(st);
    addBridge(sw, br);
    ip('-n', sw, 'link', 'set', br, 'address', BRIDGE_MAC);
    for (const p of PORTS) {
      addVeth(sw, port(p), st, stationDev(p));
      ip('-n', st, 'link', 'set', stationDev(p), 'address', stationMacs.get(p)!);
      ip('-n', sw, 'link', 'set', port(p), 'master', br);
      portMacs.set(p, macOf(sw, port(p)));
    }
    await waitForwarding(sw, PORTS.map(port));
    for (const p of PORTS) observers.set(p, new Observer(p, st, stationDev(p), RUN_TAG));
    observers.set(HOST, new Observer(HOST, sw, br, RUN_TAG));
    for (const p of PORTS) observers.set(portStack(p), new Observer(portStack(p), sw, port(p), RUN_TAG));
  });

  afterAll(() => {
    for (const o of observers.values()) o.close();
    deleteNamespace(sw);
    deleteNamespace(st);
  });

  it('puts every port in promiscuous mode, as the model reports (br_manage_promisc, VLAN filtering off)', () => {
    const model = new BridgeLab({ ports: PORTS.map((name) => ({ name })) });
    const promiscuous = PORTS.filter((p) => promiscuity(sw, port(p)) > 0);
    expect(promiscuous).toEqual(model.bridge.report().promiscuous);
  });

  it.each(ROWS.map((r) => [r.covers, r] as const))('%s', async (_title, row) => {
    const ageing = row.ageingSeconds ?? 300;
    ip(
      '-n',
      sw,
      'link',
      'set',
      br,
      'type',
      'bridge',
      'ageing_time',
      String(ageing * 100),
      'group_fwd_mask',
      String(row.groupFwdMask ?? 0),
    );
    for (const p of PORTS) {
      const f = row.flags?.[p] ?? {};
      const onOff = (v: boolean | undefined, dflt: boolean) => ((v ?? dflt) ? 'on' : 'off');
      ip(
        '-n',
        sw,
        'link',
        'set',
        port(p),
        'type',
        'bridge_slave',
        'hairpin',
        onOff(f.hairpin, false),
        'flood',
        onOff(f.flood, true),
        'bcast_flood',
        onOff(f.bcastFlood, true),
        'mcast_flood',
        onOff(f.mcastFlood, true),
        'learning',
        onOff(f.learning, true),
        'group_fwd_mask',
        String(f.groupFwdMask ?? 0),
      );
    }
    flushFdb(sw, br);
    for (const e of row.statics ?? [])
      bridgeCmd(sw, 'fdb', 'replace', e.mac, 'dev', port(e.port), 'master', 'static', ...(e.sticky ? ['sticky'] : []));
    let clock = 0;
    const model = new BridgeLab({
      ports: PORTS.map((name) => ({ name, mac: parseMac(portMacs.get(name)!)!, ...(row.flags?.[name] ?? {}) })),
      bridgeMac: parseMac(BRIDGE_MAC)!,
      stationMacs: new Map(PORTS.map((p) => [p, parseMac(stationMacs.get(p)!)!])),
      ageingMs: ageing * 1000,
      now: () => clock,
      bridge: { groupFwdMask: row.groupFwdMask ?? 0 },
    });
    for (const e of row.statics ?? [])
      model.bridge.learn(parseMac(e.mac)!, e.port, { static: true, sticky: e.sticky === true });
    const mac = (who: string) =>
      who === HOST
        ? BRIDGE_MAC
        : who === 'broadcast'
          ? 'ff:ff:ff:ff:ff:ff'
          : who.startsWith('dev:')
            ? portMacs.get(who.slice(4))!
            : (stationMacs.get(who) ?? who);

    const seen: Record<string, number>[] = [];
    const predicted: Record<string, number>[] = [];
    for (const send of row.sends) {
      if (send.after !== undefined) {
        await new Promise((r) => setTimeout(r, send.after));
        clock += send.after;
      }
      const caseId = nextCase++;
      const frame = markedFrame(mac(send.to), mac(send.src ?? send.from), RUN_TAG, caseId);
      observers.get(send.from)!.send(frame);
      await settle([...observers.values()], caseId);
      seen.push(Object.fromEntries([...observers].map(([name, o]) => [name, o.count(caseId)])));
      const counts: Record<string, number> = Object.fromEntries([...observers.keys()].map((n) => [n, 0]));
      const journey = model.send(send.from, frame, false);
      for (const d of journey.deliveries) counts[d.station] = counts[d.station]! + 1;
      for (const hop of journey.hops)
        if (hop.drop === BridgeReason.LINK_LOCAL_PORT_STACK) counts[portStack(hop.ingress)]! += 1;
      predicted.push(counts);
    }
    // A static entry may have moved: delete it wherever the kernel has it now.
    for (const e of row.statics ?? [])
      for (const line of bridgeOut(sw, 'fdb', 'show', 'br', br).split('\n'))
        if (line.startsWith(`${e.mac} dev `)) bridgeCmd(sw, 'fdb', 'del', e.mac, 'dev', line.split(' ')[2]!, 'master');
    expect(seen).toEqual(predicted);
  });
});
