// How each receiving stack classifies its copy, for the bridge and macvlan labs: eth_type_trans
// against the station's MAC, with the bridge's and macvlan's own overrides (copy-kind.ts).

import { describe, expect, it } from 'vitest';
import { readTraceConfig } from '../../../src/config/trace.js';
import { buildTraceLab, traceFrame } from '../../../src/sim/trace-lab.js';

function kinds(argv: string[]): string[] {
  const config = readTraceConfig(argv)!;
  const lab = buildTraceLab(config);
  const { from, bytes } = traceFrame(lab, config.from, config.frame);
  return lab.send(from, bytes).deliveries.map((d) => `${d.station}:${d.kind}`);
}

describe('copy kinds', () => {
  it('bridge: unknown unicast is otherhost everywhere; broadcast and multicast say so', () => {
    expect(kinds(['bridge', '--from', 'p1', '--dst', '02:00:00:00:77:77'])).toEqual(['p2:otherhost', 'p3:otherhost']);
    expect(kinds(['bridge', '--from', 'p1', '--dst', 'broadcast'])).toEqual([
      'p2:broadcast',
      'p3:broadcast',
      'host:broadcast',
    ]);
    expect(kinds(['bridge', '--from', 'p1', '--dst', 'ipv4-mcast'])).toEqual([
      'p2:multicast',
      'p3:multicast',
      'host:multicast',
    ]);
  });

  it("bridge: the bridge's MAC is host to its stack; a port's own MAC only when it came in by that port", () => {
    expect(kinds(['bridge', '--from', 'p1', '--dst', 'host'])).toEqual(['host:host']);
    const p2Mac = ['--port', 'p1', '--port', 'p2,local-mac=02:00:00:00:aa:02'];
    expect(kinds(['bridge', ...p2Mac, '--from', 'p1', '--dst', '02:00:00:00:aa:02'])).toEqual(['host:otherhost']);
    expect(kinds(['bridge', ...p2Mac, '--from', 'p2', '--dst', '02:00:00:00:aa:02'])).toEqual(['host:host']);
  });

  it('macvlan: an endpoint gets its own unicast as host, flooded groups as broadcast/multicast', () => {
    expect(kinds(['macvlan', '--mode', 'bridge', '--from', 'ext', '--dst', 'a'])).toEqual(['a:host']);
    expect(kinds(['macvlan', '--mode', 'bridge', '--from', 'ext', '--dst', 'broadcast'])).toEqual([
      'a:broadcast',
      'b:broadcast',
      'host:broadcast',
    ]);
  });

  it('macvlan passthru: every unicast is host to the endpoint, whatever its destination', () => {
    expect(kinds(['macvlan', '--mode', 'passthru', '--from', 'ext', '--dst', '02:00:00:00:99:99'])).toEqual(['a:host']);
  });

  it("macvlan source mode: a clone keeps the lower's class, host only for the endpoint's own MAC", () => {
    const base = ['macvlan', '--endpoint', 's=source,sources=ext', '--endpoint', 'a=vepa', '--from', 'ext'];
    expect(kinds([...base, '--dst', 'a'])).toEqual(['s:otherhost', 'a:host']);
    expect(kinds([...base, '--dst', 'host'])).toEqual(['s:host', 'host:host']);
    // Source-mode endpoints are never matched by destination: the lower's own stack gets it, not for its MAC.
    expect(kinds([...base, '--dst', 's'])).toEqual(['s:host', 'host:otherhost']);
  });
});
