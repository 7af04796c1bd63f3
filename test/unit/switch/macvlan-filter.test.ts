// macvlan's mc_hash, checked against the kernel's formula computed independently here (BigInt
// arithmetic over the address bytes), and the collision facts the model relies on.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BROADCAST, type Mac, parseMac } from '../../../src/mac.js';
import { MC_FILTER_SIZE, McFilter, mcHash } from '../../../src/switch/macvlan-filter.js';

/** hash_32(get_unaligned_le32(addr + 2) ^ mix, 8), straight from include/linux/hash.h. */
function kernelHash(mac: string, mix: number): number {
  const bytes = mac.split(':').map((b) => parseInt(b, 16));
  const val = BigInt(new DataView(Uint8Array.from(bytes).buffer).getUint32(2, true) ^ mix) & 0xffffffffn;
  return Number(((val * 0x61c88647n) & 0xffffffffn) >> 24n);
}

const macText = fc
  .array(fc.integer({ min: 0, max: 255 }), { minLength: 6, maxLength: 6 })
  .map((b) => b.map((x) => x.toString(16).padStart(2, '0')).join(':'));
const mix = fc.integer({ min: 0, max: 0xffff_ffff });

describe('mcHash', () => {
  it('is the kernel formula for any address and mix', () => {
    fc.assert(fc.property(macText, mix, (m, x) => mcHash(parseMac(m)!, x) === kernelHash(m, x >>> 0)));
  });

  it('stays within the 256-bit filter', () => {
    fc.assert(
      fc.property(macText, mix, (m, x) => {
        const h = mcHash(parseMac(m)!, x);
        return h >= 0 && h < MC_FILTER_SIZE;
      }),
    );
  });

  it('never reads bytes 0 and 1: 33:33:5e:00:00:01 shares the bit of 224.0.0.1 under every mix', () => {
    fc.assert(
      fc.property(mix, (x) => mcHash(parseMac('33:33:5e:00:00:01')!, x) === mcHash(parseMac('01:00:5e:00:00:01')!, x)),
    );
  });

  it('never maps two addresses that differ only in byte 5 to one bit, whatever the mix', () => {
    fc.assert(
      fc.property(macText, fc.integer({ min: 1, max: 255 }), mix, (m, flip, x) => {
        const a = parseMac(m)!;
        const bytes = m.split(':');
        bytes[5] = (parseInt(bytes[5]!, 16) ^ flip).toString(16).padStart(2, '0');
        return mcHash(a, x) !== mcHash(parseMac(bytes.join(':'))!, x);
      }),
    );
  });

  it('lets other pairs collide for some mixes (so per-endpoint false positives exist)', () => {
    const a = parseMac('01:00:5e:00:00:01')!;
    const b = parseMac('33:33:00:00:00:fb')!;
    let collisions = 0;
    for (let x = 0; x < 1 << 16; x++) if (mcHash(a, x * 0x10001) === mcHash(b, x * 0x10001)) collisions++;
    // About one mix in 256.
    expect(collisions).toBeGreaterThan(65536 / 256 / 4);
    expect(collisions).toBeLessThan((65536 / 256) * 4);
  });
});

describe('McFilter', () => {
  it('holds its groups and broadcast after compute, and a group on another bit is out', () => {
    const f = new McFilter(0);
    const joined: Mac = parseMac('01:00:5e:00:00:01')!;
    f.compute([joined]);
    expect(f.has(joined)).toBe(true);
    expect(f.has(BROADCAST)).toBe(true);
    const other = parseMac('33:33:00:00:00:fb')!;
    expect(mcHash(other, 0)).not.toBe(mcHash(joined, 0));
    expect(mcHash(other, 0)).not.toBe(mcHash(BROADCAST, 0));
    expect(f.has(other)).toBe(false);
  });

  it('answers for the address where it lies in a frame (hasAt) as it does for the number', () => {
    fc.assert(
      fc.property(
        fc.array(macText, { maxLength: 8 }),
        macText,
        mix,
        fc.integer({ min: 0, max: 10 }),
        (groups, probe, x, at) => {
          const f = new McFilter(x);
          f.compute(groups.map((g) => parseMac(g)!));
          const frame = new Uint8Array(16);
          frame.set(
            probe.split(':').map((b) => parseInt(b, 16)),
            at,
          );
          // Against the kernel's formula directly, not through mcHash.
          const bit = kernelHash(probe, x >>> 0);
          expect(f.hasAt(frame, at)).toBe((f.bits[bit >>> 5]! & (1 << (bit & 31))) !== 0);
          expect(f.hasAt(frame, at)).toBe(f.has(parseMac(probe)!));
        },
      ),
    );
  });

  it('is all ones when filled (IFF_PROMISC or IFF_ALLMULTI)', () => {
    const f = new McFilter(1234);
    f.fill();
    fc.assert(fc.property(macText, (m) => f.has(parseMac(m)!)));
  });
});
