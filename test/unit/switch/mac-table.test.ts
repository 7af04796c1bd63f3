// The MAC table the switches look addresses up in: lookups through collisions and wrap-around,
// growth, backward-shift deletion, and random operation sequences checked against a Map.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BROADCAST, type Mac, writeMac } from '../../../src/mac.js';
import { ABSENT, MacTable, macSlot } from '../../../src/switch/mac-table.js';

/** A fresh table starts with 2^3 slots (it holds up to 4 MACs before it grows). */
const BITS = 3;

/** `count` locally administered MACs whose home slot in a 2^BITS table is `slot`. */
function collidingMacs(slot: number, count: number): Mac[] {
  const out: Mac[] = [];
  for (let mac = 0x02_00_00_00_00_00; out.length < count; mac++) if (macSlot(mac, BITS) === slot) out.push(mac);
  return out;
}

describe('MacTable', () => {
  it('answers ABSENT for a MAC it does not hold, and the value for one it does', () => {
    const t = new MacTable();
    expect(t.get(0x02_00_00_00_00_01)).toBe(ABSENT);
    t.set(0x02_00_00_00_00_01, 7);
    t.set(BROADCAST, 0);
    t.set(0, 3);
    expect(t.get(0x02_00_00_00_00_01)).toBe(7);
    expect(t.get(BROADCAST)).toBe(0);
    expect(t.get(0)).toBe(3);
    expect(t.has(0x02_00_00_00_00_02)).toBe(false);
    expect(t.size).toBe(3);
  });

  it('looks up the address at an offset in a frame as get looks up the number', () => {
    const t = new MacTable();
    t.set(0x02_00_00_00_00_01, 5);
    t.set(0x33_33_ff_00_00_01, 6);
    const bytes = Uint8Array.from([0xaa, 0x02, 0, 0, 0, 0, 0x01, 0x33, 0x33, 0xff, 0, 0, 0x01, 0x02, 0, 0, 0, 0, 0x02]);
    expect([t.getAt(bytes, 1), t.getAt(bytes, 7), t.getAt(bytes, 13)]).toEqual([5, 6, ABSENT]);
    expect([t.hasAt(bytes, 1), t.hasAt(bytes, 13)]).toEqual([true, false]);
  });

  it('replaces the value of a MAC it already holds without counting it twice', () => {
    const t = new MacTable();
    t.set(0x02_00_00_00_00_01, 1);
    t.set(0x02_00_00_00_00_01, 2);
    expect(t.get(0x02_00_00_00_00_01)).toBe(2);
    expect(t.size).toBe(1);
  });

  it('hashes all six bytes: MACs differing only in byte 0 or only in byte 5 spread over the slots', () => {
    const byFirst = new Set([0, 1, 2, 3, 4, 5, 6, 7].map((b) => macSlot(b * 2 ** 40 + 0x11_22_33_44_55, 8)));
    const byLast = new Set([0, 1, 2, 3, 4, 5, 6, 7].map((b) => macSlot(0x02_11_22_33_44_00 + b, 8)));
    expect(byFirst.size).toBeGreaterThan(4);
    expect(byLast.size).toBeGreaterThan(4);
  });

  it('finds every MAC of a collision chain, and keeps finding the rest as they are deleted', () => {
    const chain = collidingMacs(2, 4);
    const t = new MacTable();
    chain.forEach((mac, i) => {
      t.set(mac, i);
    });
    chain.forEach((mac, i) => {
      expect(t.get(mac)).toBe(i);
    });
    expect(t.delete(chain[0]!)).toBe(true);
    expect(t.get(chain[0]!)).toBe(ABSENT);
    expect(chain.slice(1).map((mac) => t.get(mac))).toEqual([1, 2, 3]);
    expect(t.delete(chain[2]!)).toBe(true);
    expect([t.get(chain[1]!), t.get(chain[3]!)]).toEqual([1, 3]);
    expect(t.delete(chain[2]!)).toBe(false);
    expect(t.size).toBe(2);
  });

  it('wraps a probe run past the last slot, and deletes across the wrap', () => {
    const last = collidingMacs((1 << BITS) - 1, 3);
    const first = collidingMacs(0, 1)[0]!;
    const t = new MacTable();
    // last[0] sits in slot 7, last[1] and last[2] wrap to 0 and 1, and `first` lands behind them.
    [...last, first].forEach((mac, i) => {
      t.set(mac, i);
    });
    expect([...last, first].map((mac) => t.get(mac))).toEqual([0, 1, 2, 3]);
    t.delete(last[0]!);
    expect([last[1], last[2], first].map((mac) => t.get(mac!))).toEqual([1, 2, 3]);
    t.delete(last[1]!);
    expect([t.get(last[2]!), t.get(first)]).toEqual([2, 3]);
  });

  it('grows past half full and keeps every entry', () => {
    const t = new MacTable();
    const macs = Array.from({ length: 5000 }, (_, i) => 0x02_00_00_00_00_00 + i * 0x1_0001);
    macs.forEach((mac, i) => {
      t.set(mac, i);
    });
    expect(t.size).toBe(5000);
    expect(macs.every((mac, i) => t.get(mac) === i)).toBe(true);
    expect(t.get(0x02_00_00_00_00_00 + 5000 * 0x1_0001)).toBe(ABSENT);
    expect(t.macs().sort((a, b) => a - b)).toEqual(macs);
  });

  it('forgets everything on clear', () => {
    const t = new MacTable();
    for (let i = 0; i < 20; i++) t.set(0x02_00_00_00_00_00 + i, i);
    t.clear();
    expect(t.size).toBe(0);
    expect(t.get(0x02_00_00_00_00_05)).toBe(ABSENT);
    expect(t.macs()).toEqual([]);
  });

  it('refuses values it could not give back and keys that are not MACs', () => {
    const t = new MacTable();
    expect(() => t.set(1, -1)).toThrow(/non-negative int32/);
    expect(() => t.set(1, 1.5)).toThrow(/non-negative int32/);
    expect(() => t.set(1, 2 ** 31)).toThrow(/non-negative int32/);
    expect(() => t.set(-1, 0)).toThrow(/48-bit MAC/);
    expect(() => t.set(2 ** 48, 0)).toThrow(/48-bit MAC/);
    expect(() => t.set(0.5, 0)).toThrow(/48-bit MAC/);
  });

  it('behaves like a Map under any sequence of sets, deletes and clears', () => {
    // A small pool of MACs (some of them extreme) makes collisions, re-inserts and deletes of
    // absent keys common.
    const mac = fc.oneof(
      fc.integer({ min: 0, max: 40 }).map((i) => 0x02_00_00_00_00_00 + i),
      fc.constantFrom(0, BROADCAST, 2 ** 32 - 1, 2 ** 32),
      fc.integer({ min: 0, max: 2 ** 48 - 1 }),
    );
    const op = fc.oneof(
      fc.record({ kind: fc.constant('set' as const), mac, value: fc.integer({ min: 0, max: 2 ** 31 - 1 }) }),
      fc.record({ kind: fc.constant('delete' as const), mac }),
      fc.record({ kind: fc.constant('clear' as const) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 300 }), fc.array(mac, { maxLength: 20 }), (ops, probes) => {
        const t = new MacTable();
        const model = new Map<Mac, number>();
        for (const o of ops) {
          if (o.kind === 'set') {
            t.set(o.mac, o.value);
            model.set(o.mac, o.value);
          } else if (o.kind === 'delete') {
            expect(t.delete(o.mac)).toBe(model.delete(o.mac));
          } else {
            t.clear();
            model.clear();
          }
        }
        expect(t.size).toBe(model.size);
        for (const [m, v] of model) expect(t.get(m)).toBe(v);
        const frame = new Uint8Array(20);
        for (const m of probes) {
          expect(t.get(m)).toBe(model.get(m) ?? ABSENT);
          // The per-frame lookup reads the address where it lies, at any offset.
          writeMac(frame, 7, m);
          expect(t.getAt(frame, 7)).toBe(model.get(m) ?? ABSENT);
        }
        expect(t.macs().sort((a, b) => a - b)).toEqual([...model.keys()].sort((a, b) => a - b));
      }),
      { numRuns: 300 },
    );
  });
});
