// The bridge's FDB on its own: learning and moving, ageing against an injected clock, static
// entries, flush, rows reused after deletion, growth, and the per-frame methods reading the
// address from a frame. Ageing follows br_fdb.c: has_expired is `updated + hold <= jiffies`.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type Mac, writeMac } from '../../../src/mac.js';
import { ABSENT, Fdb } from '../../../src/switch/fdb.js';

const A: Mac = 0x02_00_00_00_02_01;
const B: Mac = 0x02_00_00_00_02_02;
const AGEING = 1000;

function fdb(clock = { now: 0 }): Fdb {
  return new Fdb(() => clock.now, AGEING);
}

/** A frame-sized buffer with `mac` at offset `at`. */
function bytesWith(mac: Mac, at: number): Uint8Array {
  const bytes = new Uint8Array(at + 6);
  writeMac(bytes, at, mac);
  return bytes;
}

describe('Fdb', () => {
  it('learns a MAC on a port and moves it when it shows up on another', () => {
    const f = fdb();
    expect(f.port(A)).toBe(ABSENT);
    f.learn(A, 1);
    expect(f.port(A)).toBe(1);
    f.learn(A, 2);
    expect(f.port(A)).toBe(2);
    expect(f.size).toBe(1);
  });

  it('reads the address from the frame on the per-frame path', () => {
    const f = fdb();
    f.learnAt(bytesWith(A, 6), 6, 3);
    expect(f.port(A)).toBe(3);
    expect(f.portAt(bytesWith(A, 0), 0)).toBe(3);
    expect(f.portAt(bytesWith(B, 0), 0)).toBe(ABSENT);
  });

  it('forgets a learned entry ageing time after its last refresh, not before', () => {
    const clock = { now: 0 };
    const f = fdb(clock);
    f.learn(A, 1);
    clock.now = 600;
    f.learn(A, 1); // refreshed: now expires at 1600
    clock.now = 1599;
    expect(f.port(A)).toBe(1);
    clock.now = 1600;
    expect(f.port(A)).toBe(ABSENT);
    expect(f.has(A)).toBe(false);
  });

  it('keeps an expired entry until something looks at it, and age() sweeps them', () => {
    const clock = { now: 0 };
    const f = fdb(clock);
    f.learn(A, 1);
    f.learn(B, 2);
    clock.now = AGEING;
    expect(f.has(A)).toBe(true);
    expect(f.age()).toBe(2);
    expect([f.has(A), f.has(B), f.size]).toEqual([false, false, 0]);
  });

  it('never ages or flushes a static entry', () => {
    const clock = { now: 0 };
    const f = fdb(clock);
    f.learn(A, 1);
    f.addStatic(A, 4); // replaces the learned one
    f.learn(B, 2);
    clock.now = 100 * AGEING;
    expect(f.port(A)).toBe(4);
    f.flush();
    expect([f.port(A), f.has(B), f.isStaticEntry(A)]).toEqual([4, false, true]);
  });

  it('moves a static entry whose source appears on another port, and it stays static (br_fdb_update)', () => {
    const clock = { now: 0 };
    const f = fdb(clock);
    f.addStatic(A, 4);
    f.learn(A, 1);
    clock.now = 100 * AGEING;
    expect([f.port(A), f.isStaticEntry(A)]).toEqual([1, true]);
  });

  it('never moves a sticky static entry', () => {
    const f = fdb();
    f.addStatic(A, 4, true);
    f.learn(A, 1);
    expect(f.port(A)).toBe(4);
    f.addStatic(A, 2); // re-added without sticky: moves again
    f.learn(A, 1);
    expect(f.port(A)).toBe(1);
  });

  it('keeps every entry through rounds of learning and ageing, past its first 8 rows', () => {
    const clock = { now: 0 };
    const f = fdb(clock);
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 50; i++) f.learn(0x02_00_00_00_10_00 + i, i % 7);
      for (let i = 0; i < 50; i++) expect(f.port(0x02_00_00_00_10_00 + i)).toBe(i % 7);
      clock.now += AGEING;
      expect(f.age()).toBe(50);
    }
    expect(f.size).toBe(0);
  });

  it('refuses a port it could not give back', () => {
    expect(() => fdb().learn(A, -1)).toThrow(/non-negative integer/);
    expect(() => fdb().addStatic(A, 1.5)).toThrow(/non-negative integer/);
  });

  it('agrees with a plain model under random learning, time passing and lookups', () => {
    const mac = fc.integer({ min: 0, max: 30 }).map((i) => 0x02_00_00_00_00_00 + i);
    const op = fc.oneof(
      fc.record({ kind: fc.constant('learn' as const), mac, port: fc.integer({ min: 0, max: 5 }) }),
      fc.record({
        kind: fc.constant('static' as const),
        mac,
        port: fc.integer({ min: 0, max: 5 }),
        sticky: fc.boolean(),
      }),
      fc.record({ kind: fc.constant('wait' as const), ms: fc.integer({ min: 0, max: AGEING }) }),
      fc.record({ kind: fc.constant('lookup' as const), mac }),
      fc.record({ kind: fc.constant('flush' as const) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 200 }), (ops) => {
        const clock = { now: 0 };
        const f = fdb(clock);
        const model = new Map<Mac, { port: number; updated: number; isStatic: boolean; sticky: boolean }>();
        const live = (m: Mac) => {
          const e = model.get(m);
          if (e === undefined) return ABSENT;
          if (!e.isStatic && clock.now - e.updated >= AGEING) {
            model.delete(m);
            return ABSENT;
          }
          return e.port;
        };
        for (const o of ops) {
          if (o.kind === 'learn') {
            f.learn(o.mac, o.port);
            const e = model.get(o.mac);
            if (e === undefined) model.set(o.mac, { port: o.port, updated: clock.now, isStatic: false, sticky: false });
            else Object.assign(e, { port: e.sticky ? e.port : o.port, updated: clock.now });
          } else if (o.kind === 'static') {
            f.addStatic(o.mac, o.port, o.sticky);
            model.set(o.mac, { port: o.port, updated: clock.now, isStatic: true, sticky: o.sticky });
          } else if (o.kind === 'wait') {
            clock.now += o.ms;
          } else if (o.kind === 'lookup') {
            expect(f.portAt(bytesWith(o.mac, 2), 2)).toBe(live(o.mac));
          } else {
            f.flush();
            for (const [m, e] of model) if (!e.isStatic) model.delete(m);
          }
        }
        for (const m of [...model.keys()]) expect(f.port(m)).toBe(live(m));
      }),
      { numRuns: 200 },
    );
  });
});
