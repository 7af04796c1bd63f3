// `trace` and `forward --switch` read a topology through the same declarations: the same ports
// or endpoints written for either command become the same typed configuration.

import { describe, expect, it } from 'vitest';
import { readForwardConfig } from '../../../src/config/forward.js';
import { readTraceConfig } from '../../../src/config/trace.js';
import { quote } from '../../../src/grammar/quote.js';

describe('one topology, two commands', () => {
  it('bridge ports', () => {
    const keys = ['hairpin', 'flood=off,local-mac=02:00:00:00:0f:01', 'bcast-flood=off,mcast-flood=off,learning=off'];
    const trace = readTraceConfig(['bridge', ...keys.flatMap((k, i) => ['--port', `p${i},${k}`])]);
    const forward = readForwardConfig([
      '--switch',
      'bridge',
      ...keys.flatMap((k, i) => ['--port', `p${i}=tap:t${i},${k}`]),
    ]);
    if (trace?.topology.kind !== 'bridge' || forward?.switch.kind !== 'bridge') throw new Error('not a bridge');
    const fromForward = forward.switch.roles.map((r, i) => (r.role === 'port' ? { name: `p${i}`, ...r.port } : null));
    expect(fromForward).toEqual(trace.topology.ports);
    expect(trace.topology.ports[1]).toMatchObject({ flood: false, mac: 0x02_00_00_00_0f_01, hairpin: false });
  });

  it('macvlan endpoints', () => {
    const trace = readTraceConfig([
      'macvlan',
      '--endpoint',
      'a=bridge,mac=02:00:00:00:01:01,groups=01:00:5e:00:00:fb,allmulti',
      '--endpoint',
      'b=vepa,hash-mix=7,down',
    ]);
    const forward = readForwardConfig([
      '--switch',
      'macvlan',
      '--port',
      'w=tap:t0,role=lower',
      '--port',
      'a=tap:t1,mode=bridge,mac=02:00:00:00:01:01,groups=01:00:5e:00:00:fb,allmulti',
      '--port',
      'b=tap:t2,role=endpoint,mode=vepa,hash-mix=7,down',
    ]);
    if (trace?.topology.kind !== 'macvlan' || forward?.switch.kind !== 'macvlan') throw new Error('not macvlan');
    const fromForward = forward.switch.roles.flatMap((r) => (r.role === 'endpoint' ? [r.endpoint] : []));
    expect(fromForward).toEqual(trace.topology.endpoints!.map((e) => e.config));
    expect(fromForward[1]).toMatchObject({ mode: 'vepa', up: false, hashMix: 7 });
  });
});

describe('names in messages', () => {
  it('are quoted, cut and escaped', () => {
    expect(quote('a\u001b[31mb')).toBe("'a\\x1b[31mb'");
    expect(quote('x'.repeat(10_000))).toHaveLength(64 + 3);
    expect(quote("it's")).toBe("'it\\'s'");
  });
});
