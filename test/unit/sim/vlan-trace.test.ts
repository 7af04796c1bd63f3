// tapyard trace with VLANs: a tapyard access port in front of an endpoint, a VLAN-aware external
// switch, and the tags each hop saw.

import { describe, expect, test } from 'vitest';
import { readTraceConfig } from '../../../src/config/trace.js';
import { countDeliveries } from '../../../src/sim/network.js';
import { buildTraceLab, traceFrame } from '../../../src/sim/trace-lab.js';

function trace(...argv: string[]) {
  const config = readTraceConfig(['macvlan', ...argv])!;
  const lab = buildTraceLab(config);
  const { from, bytes } = traceFrame(lab, config.from, config.frame);
  const journey = lab.send(from, bytes);
  return { journey, counts: countDeliveries(journey) };
}

describe('trace with VLANs', () => {
  test("a guest's untagged frame is tagged 15 by its tapyard and reaches ext tagged", () => {
    const { journey, counts } = trace(
      '--endpoint',
      'a=bridge,vlan=15',
      '--endpoint',
      'b=bridge',
      '--from',
      'a',
      '--dst',
      'ext',
    );
    expect(journey.hops.map((h) => [h.at, h.tags])).toEqual([
      ['tapyard-a', []],
      ['macvlan', ['vlan 15']],
      ['switch', ['vlan 15']],
    ]);
    expect(journey.deliveries.map((d) => [d.station, d.tags])).toEqual([['ext', ['vlan 15']]]);
    expect(counts.get('ext')).toBe(1);
  });

  test('a VLAN-aware external switch untags toward ext, and a reply comes back untagged to the guest', () => {
    const out = trace('--endpoint', 'a=bridge,vlan=15', '--ext-vlan', '15', '--from', 'a', '--dst', 'ext');
    expect(out.journey.deliveries.map((d) => [d.station, d.tags])).toEqual([['ext', []]]);
    const back = trace('--endpoint', 'a=bridge,vlan=15', '--ext-vlan', '15', '--from', 'ext', '--dst', 'a');
    expect(back.journey.deliveries.map((d) => [d.station, d.tags])).toEqual([['a', []]]);
    // The macvlan's reason is the delivery's: the tapyard in front of the guest only passes it on.
    expect(back.journey.deliveries[0]!.reason).toMatch(/^macvlan/);
  });

  test('a flood reaches a sibling in another VLAN only as far as its tapyard, which refuses it by name', () => {
    const { journey, counts } = trace(
      '--endpoint',
      'a=bridge,vlan=15',
      '--endpoint',
      'b=bridge,vlan=20',
      '--from',
      'a',
      '--dst',
      'broadcast',
    );
    const atB = journey.hops.find((h) => h.at === 'tapyard-b')!;
    expect(atB.tags).toEqual(['vlan 15']);
    expect(atB.drop).toBe('vlan-not-member');
    expect(counts.get('b') ?? 0).toBe(0);
    expect(counts.get('ext')).toBe(1);
  });

  test('ext on a VLAN-aware switch port of another VLAN gets nothing: the switch prunes it', () => {
    const { journey, counts } = trace(
      '--endpoint',
      'a=bridge,vlan=15',
      '--ext-vlan',
      '20',
      '--from',
      'a',
      '--dst',
      'ext',
    );
    const sw = journey.hops.find((h) => h.at === 'switch')!;
    expect(sw.drop).toBe('vlan-not-member');
    expect(counts.get('ext') ?? 0).toBe(0);
  });

  test('--ext-vlan needs a switch on the wire', () => {
    expect(() => trace('--wire', 'direct', '--ext-vlan', '15', '--from', 'a', '--dst', 'ext')).toThrow(
      /needs a switch/,
    );
  });
});
