// A macvtap port's check of the source MAC of what it sends (spoof=): what it reads, what it
// never reads, and how a frame's fate says it. The datapath itself is tested against the kernel
// (test/integration/macvtap-spoof.test.ts).

import { describe, expect, test } from 'vitest';
import { fateComment } from '../../../src/capture/fate-comment.js';
import { forwardHelp } from '../../../src/config/forward.js';
import { parsePortSpec } from '../../../src/config/port.js';
import type { FrameFate } from '../../../src/engine/forwarder.js';
import { emitEthernet } from '../../../src/frame/ethernet.js';
import { Counters } from '../../../src/port/counters.js';
import { SourceGuard } from '../../../src/port/source-guard.js';

const OWN = 0x02_00_00_00_00_0a;
const OTHER = 0x02_00_00_00_00_0b;

function frameFrom(src: number): Uint8Array {
  const bytes = new Uint8Array(64);
  emitEthernet({ dst: 0x02_00_00_00_00_01, src, tags: [], etherType: 0x88b5 }, bytes, 0);
  return bytes;
}

describe('SourceGuard', () => {
  test("tells another source MAC from the port's own, and follows the port's MAC", () => {
    const guard = new SourceGuard('count', OWN);
    expect(guard.isForeign(frameFrom(OWN), 0, 64)).toBe(false);
    expect(guard.isForeign(frameFrom(OTHER), 0, 64)).toBe(true);
    guard.setMac(OTHER);
    expect(guard.isForeign(frameFrom(OTHER), 0, 64)).toBe(false);
    expect(guard.isForeign(frameFrom(OWN), 0, 64)).toBe(true);
    // The addon reads the same MAC and the mode from the cell.
    expect([...guard.cell.subarray(0, 7)]).toEqual([2, 0, 0, 0, 0, 0x0b, 1]);
    expect(new SourceGuard('drop', OWN).cell[6]).toBe(2);
  });

  test('never reads past a frame too short to hold a source MAC, nor past the buffer', () => {
    const guard = new SourceGuard('drop', OWN);
    const bytes = frameFrom(OTHER);
    expect(guard.isForeign(bytes, 0, 11)).toBe(false);
    expect(guard.isForeign(bytes, 0, -10)).toBe(false);
    expect(guard.isForeign(bytes.subarray(0, 11), 0, 64)).toBe(false);
    expect(guard.isForeign(bytes, 60, 64)).toBe(false);
  });
});

test('the counters add what the splice counted below JavaScript to their own', () => {
  const c = new Counters();
  c.spoofed();
  c.spliced[4] = 3;
  expect(c.spoofedSource).toBe(4);
  expect(c.snapshot().spoofedSource).toBe(4);
});

describe('a frame with a spoofed source in its fate', () => {
  const fate = (outcomes: (string | null)[]): FrameFate => ({
    drop: null,
    outputs: [1],
    reasons: ['cross-peer'],
    outcomes,
  });
  const names = ['guest', 'wire'];

  test('counted, dropped, or left as it was when something else dropped it first', () => {
    expect(fateComment(fate([null]), names, () => 'count')).toBe(
      'to wire (cross-peer) with a spoofed source (counted)',
    );
    expect(fateComment(fate([null]), names, () => 'drop')).toBe('to wire (cross-peer) dropped: spoofed-source');
    expect(fateComment(fate(['oversize']), names, () => 'drop')).toBe('to wire (cross-peer) dropped: oversize');
    expect(fateComment(fate(['queued: the egress is full']), names, () => 'count')).toBe(
      'to wire (cross-peer) queued: the egress is full, with a spoofed source (counted)',
    );
    expect(fateComment(fate([null]), names, () => null)).toBe('to wire (cross-peer)');
  });
});

describe('spoof= on a macvtap port', () => {
  test('count by default, drop when asked; anything else and other kinds are refused', () => {
    const device = (spec: string) => parsePortSpec(spec, 'cross').device;
    expect(device('wire=macvtap:mvt0')).toMatchObject({ kind: 'macvtap', spoof: 'count' });
    expect(device('wire=macvtap:mvt0,spoof=drop')).toMatchObject({ kind: 'macvtap', spoof: 'drop' });
    expect(() => device('wire=macvtap:mvt0,spoof=maybe')).toThrow(/spoof/);
    expect(() => device('guest=tap:tap0,spoof=drop')).toThrow(/spoof is a macvtap option/);
  });

  test('--help shows it', () => {
    expect(forwardHelp()).toMatch(/spoof=count\|drop/);
  });
});
