// trace's sequences and multicast flags, read and run the way `tapyard trace` runs them: earlier
// frames teach the bridge's FDB and mdb, --after lets time pass between frames, --mdb, --querier
// and --mcast-router set the bridge up, and every copy carries the receiving stack's class.

import { describe, expect, it } from 'vitest';
import { boundSwitch } from '../../../src/config/bound-switch.js';
import { readTraceConfig } from '../../../src/config/trace.js';
import { EthernetView } from '../../../src/frame/ethernet.js';
import { mcastMessageFrame } from '../../../src/frame/mcast-message.js';
import { parseIpv4 } from '../../../src/grammar/ip-address.js';
import type { Journey } from '../../../src/sim/network.js';
import type { TraceConfig } from '../../../src/sim/trace-config.js';
import { buildTraceLab, traceFrame } from '../../../src/sim/trace-lab.js';
import { Decision } from '../../../src/switch/decision.js';
import { SnoopReason } from '../../../src/switch/mcast-snooping.js';

function run(argv: string[]): Journey[] {
  const config = readTraceConfig(argv) as TraceConfig;
  const lab = buildTraceLab(config);
  const sends = [{ from: config.from, frame: config.frame, afterS: 0 }, ...config.then];
  return sends.map((s) => {
    const { from, bytes } = traceFrame(lab, s.from, s.frame);
    lab.advance(s.afterS);
    return lab.send(from, bytes);
  });
}

const copies = (j: Journey) => j.deliveries.map((d) => `${d.station}:${d.kind}`);

describe('trace sequences', () => {
  it('an earlier frame teaches the FDB: the reply goes to one port', () => {
    const [first, second] = run(['bridge', '--from', 'p2', '--dst', 'p1', '--then', '--from', 'p1', '--dst', 'p2']);
    expect(copies(first!)).toEqual(['p1:host', 'p3:otherhost']);
    expect(copies(second!)).toEqual(['p2:host']);
  });

  it('--after between frames ages what the first one taught', () => {
    const journeys = run([
      'bridge',
      '--ageing',
      '10',
      '--from',
      'p2',
      '--dst',
      'p1',
      '--then',
      '--from',
      'p1',
      '--dst',
      'p2',
      '--after',
      '11',
    ]);
    expect(copies(journeys[1]!)).toEqual(['p2:host', 'p3:otherhost']);
  });

  it('a report teaches the mdb; with --querier the data then reaches the member only', () => {
    const journeys = run([
      'bridge',
      '--querier',
      '--from',
      'p2',
      '--mcast',
      'report=239.1.1.1',
      '--then',
      '--from',
      'p1',
      '--mcast',
      'data=239.1.1.1',
    ]);
    expect(copies(journeys[1]!)).toEqual(['p2:multicast']);
  });

  it('a membership taught by a report ages out after 260 s', () => {
    const journeys = run([
      'bridge',
      '--querier',
      '--from',
      'p2',
      '--mcast',
      'report=239.1.1.1',
      '--then',
      '--from',
      'p1',
      '--mcast',
      'data=239.1.1.1',
      '--after',
      '260',
    ]);
    expect(journeys[1]!.hops[0]!.drop).toBe(SnoopReason.NOT_JOINED);
  });

  it('--mdb, --mcast-router and the host stack joining', () => {
    const [j] = run([
      'bridge',
      '--querier',
      '--mcast-router',
      'p3',
      '--mdb',
      '239.1.1.1=p2',
      '--mdb',
      '239.1.1.1=host',
      '--from',
      'p1',
      '--mcast',
      'data=239.1.1.1',
    ]);
    expect(copies(j!)).toEqual(['p2:multicast', 'p3:multicast', 'host:multicast']);
  });

  it('refuses what the kernel refuses or cannot mean', () => {
    expect(() => readTraceConfig(['bridge', '--mdb', '224.0.0.5=p1'])).not.toThrow();
    expect(() => buildTraceLab(readTraceConfig(['bridge', '--mdb', '224.0.0.5=p1'])!)).toThrow(/link-local/);
    expect(() => readTraceConfig(['bridge', '--mdb', '239.1.1.1=p9'])).toThrow(/no bridge port named p9/);
    expect(() => readTraceConfig(['bridge', '--mcast', 'join=239.1.1.1'])).toThrow(/say data, report/);
    expect(() => readTraceConfig(['bridge', '--mcast', 'data=10.0.0.1'])).toThrow(/not an IPv4 or IPv6 multicast/);
    expect(() => readTraceConfig(['bridge', '--mcast-router', 'p7'])).toThrow(/no bridge port named p7/);
    expect(() => readTraceConfig(['bridge', '--then'])).toThrow(/followed by no frame/);
    expect(() => readTraceConfig(['bridge', '--then', '--port', 'p1'])).toThrow();
  });

  it('--snooping off floods a joined group even with a querier', () => {
    const journeys = run([
      'bridge',
      '--querier',
      '--snooping',
      'off',
      '--from',
      'p2',
      '--mcast',
      'report=239.1.1.1',
      '--then',
      '--from',
      'p1',
      '--mcast',
      'data=239.1.1.1',
    ]);
    expect(journeys[1]!.deliveries.map((d) => d.station)).toEqual(['p2', 'p3', 'host']);
  });
});

describe('forward --switch bridge multicast keys', () => {
  it('querier on the switch and mcast-router / fastleave on ports reach the model', () => {
    const sw = boundSwitch(
      'bridge',
      [
        { name: 'a', mac: null },
        { name: 'b', mac: null, keys: 'fastleave' },
        { name: 'r', mac: null, keys: 'mcast-router=2' },
      ],
      'querier',
    );
    const send = (ingress: number, bytes: Uint8Array) => {
      const v = new EthernetView();
      v.parse(bytes, 0, bytes.length);
      const d = new Decision();
      sw.decide(ingress, v, d.reset());
      return d.outputs;
    };
    const g = parseIpv4('239.1.1.1')!;
    const b = 0x02_00_00_00_00_0b;
    expect(send(1, mcastMessageFrame({ kind: 'report', group: g }, b))).toEqual([2]);
    expect(send(0, mcastMessageFrame({ kind: 'data', group: g }, 0x02_00_00_00_00_0a))).toEqual([1, 2]);
    send(1, mcastMessageFrame({ kind: 'leave', group: g }, b));
    expect(send(0, mcastMessageFrame({ kind: 'data', group: g }, 0x02_00_00_00_00_0a))).toEqual([2]);
  });

  it('refuses an mcast-router that is not 0, 1 or 2', () => {
    expect(() => boundSwitch('bridge', [{ name: 'a', mac: null, keys: 'mcast-router=3' }])).toThrow(/mcast-router/);
  });
});
