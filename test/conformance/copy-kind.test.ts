// The kind of each copy (how the receiving stack classifies it: skb->pkt_type) in the bridge
// model against a Linux bridge. tcpdump -i any prints a packet's pkt_type beside the device it
// came in on (In host, B broadcast, M multicast, P otherhost); one tcpdump in the stations'
// namespace and one in the bridge's (for the bridge device, its own stack) see every marked
// frame, and the kinds per station must be the model's, frame by frame. A second lab does the same
// for macvlan endpoints on a veth lower, cabled straight to the external host: passthru (every
// unicast is host) and source mode (a clone keeps the lower's classification).

import { type ChildProcess, spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatMac, parseMac } from '../../src/mac.js';
import type { CopyKind } from '../../src/sim/copy-kind.js';
import {
  BridgeLab,
  DEFAULT_EXT_MAC,
  DEFAULT_HOST_MAC,
  defaultEndpointMac,
  defaultStationMac,
  EXT,
  HOST,
  MacvlanLab,
} from '../../src/sim/topology.js';
import type { BridgePortConfig } from '../../src/switch/learning-bridge.js';
import type { EndpointConfig } from '../../src/switch/macvlan.js';
import {
  addBridge,
  addNamespace,
  addVeth,
  deleteNamespace,
  flushFdb,
  ip,
  macOf,
  newRunId,
  waitForwarding,
} from '../helpers/kernel-lab.js';
import { markedFrame, Observer } from '../helpers/kernel-observer.js';

type PortName = 'p1' | 'p2' | 'p3';
const PORTS: PortName[] = ['p1', 'p2', 'p3'];
const UNKNOWN = '02:00:00:00:ee:ee';
const ROVING = '02:00:00:00:0a:0a';
const GROUP = '01:00:5e:00:00:fb';
const BRIDGE_MAC = '02:00:00:00:00:01';

interface Row {
  covers: string;
  flags?: Partial<Record<PortName, Omit<BridgePortConfig, 'name' | 'mac'>>>;
  sends: { from: PortName | typeof HOST; to: string; src?: string }[];
}

const ROWS: Row[] = [
  { covers: 'unknown unicast is otherhost to every station it floods to', sends: [{ from: 'p1', to: UNKNOWN }] },
  {
    covers: 'broadcast is broadcast, to the stations and to the bridge stack',
    sends: [{ from: 'p1', to: 'broadcast' }],
  },
  { covers: 'a group is multicast, to the stations and to the bridge stack', sends: [{ from: 'p1', to: GROUP }] },
  { covers: "a frame for the bridge's MAC is host to its stack", sends: [{ from: 'p1', to: HOST }] },
  {
    covers: "a port's own MAC is host to the bridge stack only by that port: by another it is otherhost",
    sends: [
      { from: 'p1', to: 'dev:p2' },
      { from: 'p2', to: 'dev:p2' },
    ],
  },
  {
    covers: 'known unicast is host to its station; the bridge stack sends it there as host too',
    sends: [
      { from: 'p2', to: 'broadcast' },
      { from: 'p1', to: 'p2' },
      { from: HOST, to: 'p2' },
    ],
  },
  {
    covers: 'a hairpinned copy is otherhost to the station behind the ingress port',
    flags: { p1: { hairpin: true } },
    sends: [
      { from: 'p1', to: UNKNOWN, src: ROVING },
      { from: 'p1', to: ROVING },
    ],
  },
];

const RUN = newRunId();
const RUN_TAG = parseInt(RUN, 16) + 0x3000_0000;
const TYPES: Record<string, CopyKind> = { In: 'host', B: 'broadcast', M: 'multicast', P: 'otherhost' };

/** tcpdump -i any in a namespace: marked frames by case, as "device kind" words. */
class Dump {
  private readonly proc: ChildProcess;
  private text = '';
  readonly ready: Promise<void>;

  constructor(ns: string) {
    this.proc = spawn('ip', ['netns', 'exec', ns, 'tcpdump', '-i', 'any', '-nn', '-l', '-x', 'ether proto 0x88b5'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    // Never outlive the run (an interrupted one too): a live tcpdump would keep its namespace.
    const stop = () => this.proc.kill('SIGKILL');
    process.once('exit', stop);
    this.proc.once('exit', () => process.off('exit', stop));
    this.proc.stdout!.on('data', (b: Buffer) => {
      this.text += b.toString();
    });
    this.ready = new Promise((resolve, reject) => {
      let err = '';
      this.proc.stderr!.on('data', (b: Buffer) => {
        err += b.toString();
        if (/listening on/.test(err)) resolve();
      });
      this.proc.once('exit', () => reject(new Error(`tcpdump in ${ns} ended: ${err}`)));
    });
  }

  /** Every marked frame of case `id` seen: [device, kind]. */
  seen(id: number): [string, CopyKind][] {
    const out: [string, CopyKind][] = [];
    const packets = this.text.split(/\n(?=\S)/);
    const mark = `5459 4346 ${hex4(RUN_TAG >>> 16)} ${hex4(RUN_TAG & 0xffff)} ${hex4(id >>> 16)} ${hex4(id & 0xffff)}`;
    for (const p of packets) {
      const m = /^\S+ (\S+) (In|B|M|P|Out) /.exec(p);
      if (m === null || m[2] === 'Out' || !p.replace(/\s+/g, ' ').includes(mark)) continue;
      out.push([m[1]!, TYPES[m[2]!]!]);
    }
    return out;
  }

  stop(): void {
    this.proc.kill('SIGINT');
  }
}

const hex4 = (n: number) => n.toString(16).padStart(4, '0');

describe('copy kinds: bridge model vs skb->pkt_type on a Linux bridge', () => {
  const id = `${RUN}k`;
  const sw = `ty-${id}-sw`;
  const st = `ty-${id}-st`;
  const br = `ty-${id}-br`;
  const port = (p: string) => `ty-${id}-s${p}`;
  const stationDev = (p: string) => `ty-${id}-h${p}`;
  const stationMacs = new Map<string, string>(PORTS.map((p, i) => [p, formatMac(defaultStationMac(i))]));
  const portMacs = new Map<string, string>();
  const senders = new Map<string, Observer>();
  let dumps: Dump[] = [];
  let nextCase = 1;

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
    for (const p of PORTS) senders.set(p, new Observer(p, st, stationDev(p), RUN_TAG));
    senders.set(HOST, new Observer(HOST, sw, br, RUN_TAG));
    dumps = [new Dump(st), new Dump(sw)];
    await Promise.all(dumps.map((d) => d.ready));
  });

  afterAll(() => {
    for (const d of dumps) d.stop();
    for (const o of senders.values()) o.close();
    deleteNamespace(sw);
    deleteNamespace(st);
  });

  it.each(ROWS.map((r) => [r.covers, r] as const))('%s', async (_title, row) => {
    for (const p of PORTS) {
      const hairpin = row.flags?.[p]?.hairpin === true ? 'on' : 'off';
      ip('-n', sw, 'link', 'set', port(p), 'type', 'bridge_slave', 'hairpin', hairpin);
    }
    flushFdb(sw, br);
    const model = new BridgeLab({
      ports: PORTS.map((name) => ({ name, mac: parseMac(portMacs.get(name)!)!, ...(row.flags?.[name] ?? {}) })),
      bridgeMac: parseMac(BRIDGE_MAC)!,
      stationMacs: new Map(PORTS.map((p) => [p, parseMac(stationMacs.get(p)!)!])),
      bridge: { snooping: false },
    });
    const mac = (who: string) =>
      who === HOST
        ? BRIDGE_MAC
        : who === 'broadcast'
          ? 'ff:ff:ff:ff:ff:ff'
          : who.startsWith('dev:')
            ? portMacs.get(who.slice(4))!
            : (stationMacs.get(who) ?? who);
    const device = new Map<string, string>([[br, HOST], ...PORTS.map((p) => [stationDev(p), p] as const)]);
    const seen: string[][] = [];
    const predicted: string[][] = [];
    for (const send of row.sends) {
      const caseId = nextCase++;
      const frame = markedFrame(mac(send.to), mac(send.src ?? send.from), RUN_TAG, caseId);
      senders.get(send.from)!.send(frame);
      const expected = model
        .send(send.from, frame, false)
        .deliveries.map((d) => `${d.station}:${d.kind}`)
        .sort();
      predicted.push(expected);
      // Wait for the copies the model expects, then a little longer for any extra.
      const deadline = Date.now() + 3000;
      const got = () =>
        dumps
          .flatMap((d) => d.seen(caseId))
          .filter(([dev]) => device.has(dev))
          .map(([dev, kind]) => `${device.get(dev)}:${kind}`)
          .sort();
      while (got().length < expected.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      await new Promise((r) => setTimeout(r, 200));
      seen.push(got());
    }
    expect(seen).toEqual(predicted);
  });
});

interface MacvlanRow {
  covers: string;
  endpoints: (Pick<EndpointConfig, 'name' | 'mode'> & { sources?: string[] })[];
  /** From ext, to a station name or a MAC. */
  sends: string[];
}

const MACVLAN_ROWS: MacvlanRow[] = [
  {
    covers: 'passthru: unicast for any MAC is host to the endpoint; broadcast is broadcast',
    endpoints: [{ name: 'a', mode: 'passthru' }],
    sends: ['02:00:00:00:99:99', 'broadcast', HOST],
  },
  {
    covers: "source mode: a clone keeps the lower's class, host for the endpoint's own MAC",
    endpoints: [
      { name: 's', mode: 'source', sources: [EXT] },
      { name: 'v', mode: 'vepa' },
    ],
    sends: ['v', HOST, 's', 'broadcast'],
  },
];

describe('copy kinds: macvlan model vs skb->pkt_type on a veth lower', () => {
  const id = `${RUN}q`;
  const hv = `ty-${id}-hv`;
  const ext = `ty-${id}-ex`;
  const lower = `ty-${id}-lw`;
  const extDev = `ty-${id}-x`;
  let dump: Dump | null = null;
  let sender: Observer | null = null;
  let nextCase = 10_000;

  beforeAll(async () => {
    addNamespace(hv);
    addNamespace(ext);
    addVeth(hv, lower, ext, extDev);
    ip('-n', hv, 'link', 'set', lower, 'address', formatMac(DEFAULT_HOST_MAC));
    ip('-n', ext, 'link', 'set', extDev, 'address', formatMac(DEFAULT_EXT_MAC));
    sender = new Observer(EXT, ext, extDev, RUN_TAG);
    dump = new Dump(hv);
    await dump.ready;
  });

  afterAll(() => {
    dump?.stop();
    sender?.close();
    deleteNamespace(hv);
    deleteNamespace(ext);
  });

  it.each(MACVLAN_ROWS.map((r) => [r.covers, r] as const))('%s', async (_title, row) => {
    const model = new MacvlanLab({
      wire: 'direct',
      endpoints: row.endpoints.map((e) => ({
        name: e.name,
        mode: e.mode,
        sources: (e.sources ?? []).map(() => DEFAULT_EXT_MAC),
      })),
    });
    // Endpoints only: tcpdump on the lower sees every frame that arrives there, before macvlan's
    // rx_handler, not just what the lower's own stack is handed.
    const devices = new Map<string, string>();
    row.endpoints.forEach((e, i) => {
      const dev = `ty-${id}-e${i}`;
      const args = ['-n', hv, 'link', 'add', 'link', lower, 'name', dev];
      if (e.mode !== 'passthru') args.push('address', formatMac(defaultEndpointMac(i)));
      args.push('type', 'macvlan', 'mode', e.mode!);
      if (e.sources !== undefined) args.push('macaddr', 'set', formatMac(DEFAULT_EXT_MAC));
      ip(...args);
      ip('-n', hv, 'link', 'set', dev, 'up');
      devices.set(dev, e.name);
    });
    try {
      const seen: string[][] = [];
      const predicted: string[][] = [];
      for (const to of row.sends) {
        const caseId = nextCase++;
        const dst = to === 'broadcast' ? 'ff:ff:ff:ff:ff:ff' : formatMac(model.macs.get(to) ?? parseMac(to)!);
        const frame = markedFrame(dst, formatMac(DEFAULT_EXT_MAC), RUN_TAG, caseId);
        sender!.send(frame);
        const expected = model
          .send(EXT, frame, false)
          .deliveries.filter((d) => d.station !== HOST)
          .map((d) => `${d.station}:${d.kind}`)
          .sort();
        predicted.push(expected);
        const got = () =>
          dump!
            .seen(caseId)
            .filter(([dev]) => devices.has(dev))
            .map(([dev, kind]) => `${devices.get(dev)}:${kind}`)
            .sort();
        const deadline = Date.now() + 3000;
        while (got().length < expected.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
        await new Promise((r) => setTimeout(r, 200));
        seen.push(got());
      }
      expect(seen).toEqual(predicted);
    } finally {
      row.endpoints.forEach((_e, i) => {
        ip('-n', hv, 'link', 'del', `ty-${id}-e${i}`);
      });
    }
  });
});
