// Networks of switches and the factory the CLI uses.

import { describe, expect, it } from 'vitest';
import { boundSwitch } from '../../../src/config/bound-switch.js';
import { emitEthernet } from '../../../src/frame/ethernet.js';
import { BROADCAST } from '../../../src/mac.js';
import { countDeliveries, Network } from '../../../src/sim/network.js';
import { Hub } from '../../../src/switch/hub.js';
import { LearningBridge, Macvlan, makeSwitch, Pairs, SWITCH_KINDS } from '../../../src/switch/index.js';

function broadcast(): Uint8Array {
  const bytes = new Uint8Array(60);
  emitEthernet({ dst: BROADCAST, src: 0x02_00_00_00_00_09, tags: [], etherType: 0x88b5 }, bytes, 0);
  return bytes;
}

describe('Network', () => {
  it('carries copies across cables and delivers at uncabled ports', () => {
    const net = new Network();
    const left = new Hub();
    left.bind([0, 1, 2].map((i) => ({ name: `l${i}`, mac: null, options: {} })));
    const right = new Hub();
    right.bind([0, 1, 2].map((i) => ({ name: `r${i}`, mac: null, options: {} })));
    net.add('left', left, ['x', 'y', 'uplink']);
    net.add('right', right, ['downlink', 'z', 'w']);
    net.cable('left/uplink', 'right/downlink');
    expect(net.stations().sort()).toEqual(['w', 'x', 'y', 'z']);
    const j = net.send('x', broadcast());
    expect(Object.fromEntries(countDeliveries(j))).toEqual({ y: 1, z: 1, w: 1 });
    expect(j.deliveries.find((d) => d.station === 'z')!.path).toEqual(['left', 'right']);
  });

  it('stops a forwarding loop with an error instead of spinning', () => {
    const net = new Network();
    for (const name of ['h1', 'h2']) {
      const hub = new Hub();
      hub.bind([0, 1, 2].map((i) => ({ name: `${name}${i}`, mac: null, options: {} })));
      net.add(name, hub, [`${name}-s`, `${name}-a`, `${name}-b`]);
    }
    net.cable('h1/h1-a', 'h2/h2-a');
    net.cable('h1/h1-b', 'h2/h2-b');
    expect(() => net.send('h1-s', broadcast())).toThrow(/loop/);
  });

  it('refuses unknown stations and ports', () => {
    const net = new Network();
    const hub = new Hub();
    hub.bind([{ name: 'a', mac: null }]);
    net.add('hub', hub, ['a']);
    expect(() => net.send('b', broadcast())).toThrow(/no station named b/);
    expect(() => net.cable('hub/a', 'hub/zz')).toThrow(/no switch port hub\/zz/);
  });
});

describe('makeSwitch', () => {
  it('builds every kind the CLI offers', () => {
    expect(SWITCH_KINDS).toEqual(['cross', 'pairs', 'hub', 'bridge', 'macvlan']);
    expect(makeSwitch({ kind: 'pairs' })).toBeInstanceOf(Pairs);
    expect(makeSwitch({ kind: 'bridge', ageingMs: 300_000, roles: [] })).toBeInstanceOf(LearningBridge);
    expect(makeSwitch({ kind: 'macvlan', roles: [] })).toBeInstanceOf(Macvlan);
    expect(makeSwitch({ kind: 'hub' })).toBeInstanceOf(Hub);
  });

  it('takes the bridge ageing time in seconds and an injected clock', () => {
    let now = 0;
    const ports = ['p1', 'p2'].map((name) => ({ name, mac: null }));
    const b = boundSwitch('bridge', ports, 'ageing=2', { now: () => now }) as LearningBridge;
    b.learn(0x02_00_00_00_00_05, 'p2');
    now = 1999;
    expect(b.lookup(0x02_00_00_00_00_05)).toBe('p2');
    now = 2000;
    expect(b.lookup(0x02_00_00_00_00_05)).toBeNull();
  });

  it.each([
    ['hub', 'ageing=3', /--switch hub: unknown option 'ageing': this takes no options/],
    ['bridge', 'ageing=-1', /ageing must be a number of seconds above 0/],
    ['bridge', 'ageng=3', /unknown option 'ageng' \(did you mean ageing\?\)/],
  ] as const)('refuses %s %s', (kind, own, message) => {
    expect(() => boundSwitch(kind, [{ name: 'a', mac: null }], own)).toThrow(message);
  });
});
