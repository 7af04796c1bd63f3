import { describe, expect, it } from 'vitest';
import { readForwardConfig } from '../../../src/config/forward.js';
import { Decision } from '../../../src/switch/decision.js';
import { Pairs, PairsReason, pairedPort } from '../../../src/switch/pairs.js';

describe('the pairs switch', () => {
  it('sends every frame to the other port of its pair, and only there', () => {
    const sw = new Pairs();
    sw.bind(['w1', 'g1', 'w2', 'g2', 'w3', 'g3'].map((name) => ({ name, mac: null })));
    const d = new Decision();
    const to = [0, 1, 2, 3, 4, 5].map((p) => {
      sw.decide(p, null as never, d.reset());
      expect(d.reasons).toEqual([PairsReason.PEER]);
      return d.outputs[0];
    });
    expect(to).toEqual([1, 0, 3, 2, 5, 4]);
    expect(pairedPort(7)).toBe(6);
  });

  it('refuses an odd number of ports, before any device is opened', () => {
    expect(() => new Pairs().bind([{ name: 'a', mac: null }])).toThrow(/two by two/);
    const three = ['--switch', 'pairs', '--port', 'a=tap:x', '--port', 'b=tap:y', '--port', 'c=tap:z'];
    expect(() => readForwardConfig(three)).toThrow(/--switch pairs joins ports two by two .*3 is odd/);
    const four = ['--switch', 'pairs', ...['a', 'b', 'c', 'd'].flatMap((n) => ['--port', `${n}=tap:ty-${n}`])];
    expect(readForwardConfig(four)!.switch).toEqual({ kind: 'pairs' });
  });
});
