// When the loop lets ports splice (write plain frames to their peer below JavaScript): only for a
// cross-connect whose frames nobody watches, impairs or tags; a receive filter goes with it. The splice itself is
// native and is tested against the kernel (test/integration/splice.test.ts).

import { describe, expect, test } from 'vitest';
import { parsePortSpec } from '../../../src/config/port.js';
import { vlanConfig } from '../../../src/config/vlan.js';
import { Forwarder, type ForwarderOptions } from '../../../src/engine/forwarder.js';
import { buildRxFilter } from '../../../src/filter/guest-filter.js';
import { MemoryPort } from '../../../src/port/memory.js';
import type { Port } from '../../../src/port/port.js';
import { CrossConnect } from '../../../src/switch/cross-connect.js';
import type { Switch } from '../../../src/switch/decision.js';
import { Hub } from '../../../src/switch/hub.js';

/** A memory port that says yes to a splice and remembers its peer. */
class SplicingPort extends MemoryPort {
  peer: Port | null = null;
  peerFilter: Uint8Array | null = null;

  spliceTo(peer: Port | null, peerFilter: Uint8Array | null = null): boolean {
    this.peer = peer;
    this.peerFilter = peerFilter;
    return true;
  }
}

const spec = (keys: string) => parsePortSpec(`b=pcap:lo${keys === '' ? '' : `,${keys}`}`, 'cross');

function splicing(options: ForwarderOptions = {}, sw: Switch = new CrossConnect()): [SplicingPort, SplicingPort] {
  const a = new SplicingPort('a');
  const b = new SplicingPort('b');
  const fwd = new Forwarder([a, b], sw, options);
  fwd.start();
  fwd.stop();
  return [a, b];
}

function spliced(options: ForwarderOptions = {}, sw: Switch = new CrossConnect()): [boolean, boolean] {
  const [a, b] = splicing(options, sw);
  return [a.peer === b, b.peer === a];
}

describe('Forwarder splices a plain cross-connect', () => {
  test('both directions, when nothing needs the loop', () => {
    expect(spliced()).toEqual([true, true]);
    expect(spliced({ rxFilters: [null, null], impairments: [null, null], vlan: null })).toEqual([true, true]);
  });

  test("a port's receive filter goes with the splice into it (the splice takes what it surely accepts)", () => {
    const filter = buildRxFilter('b', spec('rx-filter=on').rxFilter!, 0x02_00_00_00_00_02);
    const [a, b] = splicing({ rxFilters: [null, filter] });
    expect([a.peer === b, b.peer === a]).toEqual([true, true]);
    expect({ intoB: a.peerFilter, intoA: b.peerFilter }).toEqual({ intoB: filter.spliceCell, intoA: null });
  });

  test('never when frames need it: observed, impaired, tagged, busy-polled, or switched', () => {
    const observer = { frame: () => {} };
    const impair = spec('loss=10%').impair!;
    const vlan = vlanConfig([spec('vlan=15'), spec('trunk=15')], '802.1q');
    expect(vlan).not.toBeNull();
    expect(spliced({ observer })).toEqual([false, false]);
    expect(spliced({ impairments: [impair, null] })).toEqual([false, false]);
    expect(spliced({ vlan })).toEqual([false, false]);
    expect(spliced({ busyPoll: true })).toEqual([false, false]);
    expect(spliced({}, new Hub())).toEqual([false, false]);
  });
});
