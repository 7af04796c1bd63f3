// Passthru in the teaching view: a change the kernel itself refuses is reported as refused, with
// the kernel's reason, and the answer still prints; asking about a second endpoint says passthru
// has only one.

import { describe, expect, it } from 'vitest';
import { LINUX_DEFAULT_GROUPS } from '../../../src/sim/topology.js';
import { type MacvtapSetup, why } from '../../../src/sim/why.js';

const passthru: MacvtapSetup = {
  path: 'macvtap',
  endpoints: [{ name: 'a', mode: 'passthru', groups: LINUX_DEFAULT_GROUPS }],
  wire: 'switch',
  guests: new Map(),
  trusted: new Set(),
};

describe('why: passthru', () => {
  it('answers host → a and reports the on-host macvlan fix as refused by the kernel (EINVAL)', () => {
    const a = why(passthru, { from: 'host', to: 'a', dst: null });
    expect(a.reached).toBe(false);
    const onHost = a.tried.find((f) => /on-host macvlan/.test(f.change))!;
    expect(onHost.helps).toBe(false);
    expect(onHost.refused).toMatch(/a is in passthru mode and must be alone on its lower \(EINVAL\)/);
    expect(a.fixes.some((f) => /on-host macvlan/.test(f.change))).toBe(false);
  });

  it('says passthru allows one endpoint when asked about a second one', () => {
    expect(() => why(passthru, { from: 'a', to: 'b', dst: null })).toThrow(
      /passthru allows one endpoint on a lower \(a takes the NIC alone\), so there is no b/,
    );
  });
});
