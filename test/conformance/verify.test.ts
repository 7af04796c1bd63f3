// `tapyard why --verify` against the kernel: for each macvlan mode × hairpin × (a→b, host→a,
// ext→a) and each bridge port flag case, the model's frames are sent again through the same
// topology built in namespaces, and the kernel's own skb:kfree_skb account (its deliveries as
// UNHANDLED_PROTO on each station's device, its drops with reason and function) must agree with
// the model's. A planted wrong prediction must be reported as a disagreement, so the comparison
// can fail. The frames each table row of docs/drop-reasons.md maps are triggered too, and the
// kernel must name them as the table says.

import { describe, expect, it } from 'vitest';
import { readTraceConfig } from '../../src/config/trace.js';
import { KERNEL_COUNTERPARTS } from '../../src/kernel/counterparts.js';
import { dropWatchUnavailable } from '../../src/kernel/drop-watch.js';
import { LINUX_DEFAULT_GROUPS, type Wire } from '../../src/sim/topology.js';
import { buildTraceLab, traceFrame } from '../../src/sim/trace-lab.js';
import type { BridgeSetup, MacvtapSetup, Question, Setup } from '../../src/sim/why.js';
import type { BridgePortConfig } from '../../src/switch/learning-bridge.js';
import type { MacvlanMode } from '../../src/switch/macvlan.js';
import { traceForLab, whyForLab } from '../../src/verify/model-frames.js';
import { type Verification, verifyFrames } from '../../src/verify/verify.js';

const unavailable = dropWatchUnavailable();
if (unavailable !== null) throw new Error(`these tests need the kernel's drops: ${unavailable}`);

function macvtap(mode: MacvlanMode, wire: Wire): MacvtapSetup {
  return {
    path: 'macvtap',
    endpoints: (mode === 'passthru' ? ['a'] : ['a', 'b']).map((name) => ({ name, mode, groups: LINUX_DEFAULT_GROUPS })),
    wire,
    guests: new Map(),
    trusted: new Set(),
  };
}

function bridge(ports: BridgePortConfig[]): BridgeSetup {
  return { path: 'bridge', ports, guests: new Map() };
}

/** One line per frame: what the model and the kernel did, for the report and for a failing test. */
function table(v: Verification): string {
  return v.frames
    .map(
      (f) =>
        `${f.agree ? 'agree' : 'DISAGREE'} ${f.name}: model ${JSON.stringify(f.model.copies)} ` +
        `${f.model.drops.map((d) => d.reason).join(',')}; kernel ${JSON.stringify(f.kernel.copies)} ` +
        `${f.kernel.drops.map((d) => `${d.reason}@${d.fn}`).join(',')} ${f.differences.join(' | ')}`,
    )
    .join('\n');
}

async function check(setup: Setup, question: Question): Promise<Verification> {
  const forLab = whyForLab(setup, question);
  const v = await verifyFrames(forLab.topology, forLab.frames, forLab.cannot);
  expect(v.unavailable).toBeNull();
  expect(v.cannot).toEqual([]);
  expect(v.frames).toHaveLength(forLab.frames.length);
  console.log(`${JSON.stringify(question)}\n${table(v)}`);
  return v;
}

const MODES: MacvlanMode[] = ['private', 'vepa', 'bridge', 'passthru', 'source'];
const CASES: { mode: MacvlanMode; wire: Wire; q: Question }[] = [];
for (const mode of MODES)
  for (const wire of ['switch', 'hairpin'] as const)
    for (const [from, to] of [
      ['a', 'b'],
      ['host', 'a'],
      ['ext', 'a'],
    ] as const) {
      // Passthru takes the NIC alone: there is no b beside it.
      if (mode === 'passthru' && to === 'b') continue;
      CASES.push({ mode, wire, q: { from, to, dst: null } });
    }

describe('why --verify on macvlan', () => {
  it.each(
    CASES.map((c) => [`${c.mode}, ${c.wire === 'hairpin' ? 'hairpin' : 'no hairpin'}, ${c.q.from} → ${c.q.to}`, c]),
  )('%s: the kernel agrees with the model on every frame of the ping', async (_name, c) => {
    const v = await check(macvtap(c.mode, c.wire), c.q);
    expect(v.frames.filter((f) => !f.agree).map((f) => f.differences)).toEqual([]);
  });
});

const PORT_CASES: { name: string; ports: BridgePortConfig[]; q: Question }[] = [
  { name: 'plain ports', ports: [{ name: 'a' }, { name: 'b' }, { name: 'ext' }], q: { from: 'a', to: 'b', dst: null } },
  {
    name: 'hairpin on a',
    ports: [{ name: 'a', hairpin: true }, { name: 'b' }, { name: 'ext' }],
    q: { from: 'a', to: 'b', dst: null },
  },
  {
    name: 'flood off on b',
    ports: [{ name: 'a' }, { name: 'b', flood: false }, { name: 'ext' }],
    q: { from: 'a', to: 'b', dst: null },
  },
  {
    name: 'bcast_flood off on b',
    ports: [{ name: 'a' }, { name: 'b', bcastFlood: false }, { name: 'ext' }],
    q: { from: 'a', to: 'b', dst: null },
  },
  {
    name: 'mcast_flood off on b, a frame to a group',
    ports: [{ name: 'a' }, { name: 'b', mcastFlood: false }, { name: 'ext' }],
    q: { from: 'a', to: 'b', dst: 0x01_00_5e_00_00_01 },
  },
  {
    name: 'learning off on a',
    ports: [{ name: 'a', learning: false }, { name: 'b' }, { name: 'ext' }],
    q: { from: 'a', to: 'b', dst: null },
  },
  {
    name: 'bcast_flood off on b, from the host',
    ports: [{ name: 'a' }, { name: 'b', bcastFlood: false }, { name: 'ext' }],
    q: { from: 'host', to: 'b', dst: null },
  },
];

describe('why --verify on a bridge', () => {
  it.each(PORT_CASES.map((c) => [c.name, c]))('%s: the kernel agrees with the model', async (_name, c) => {
    const v = await check(bridge(c.ports), c.q);
    expect(v.frames.filter((f) => !f.agree).map((f) => f.differences)).toEqual([]);
  });
});

describe('why --verify can disagree', () => {
  it('reports a planted wrong prediction (b said to get the ARP request vepa loses at the switch)', async () => {
    const forLab = whyForLab(macvtap('vepa', 'switch'), { from: 'a', to: 'b', dst: null });
    const planted = forLab.frames.map((f, i) => (i === 0 ? { ...f, copies: { ...f.copies, b: 1 } } : f));
    const v = await verifyFrames(forLab.topology, planted, forLab.cannot);
    expect(v.frames[0]!.agree).toBe(false);
    expect(v.frames[0]!.differences).toEqual(['b: the model delivers 1 copy, the kernel 0']);
    expect(v.frames.slice(1).every((f) => f.agree)).toBe(true);
  });

  it('reports a planted drop the kernel does not make (the switch said to drop a delivered frame)', async () => {
    const forLab = whyForLab(macvtap('vepa', 'hairpin'), { from: 'a', to: 'b', dst: null });
    const planted = forLab.frames.map((f, i) =>
      i === 2 ? { ...f, drops: [{ hop: '[2] switch', reason: 'bridge-same-port' }] } : f,
    );
    const v = await verifyFrames(forLab.topology, planted, forLab.cannot);
    expect(v.frames[2]!.agree).toBe(false);
    expect(v.frames[2]!.differences.join(' ')).toMatch(/no NOT_SPECIFIED in br_handle_frame_finish/);
  });
});

/** A trace that ends in each mapped reason, as `tapyard trace` words it. */
const TRIGGERS: Record<string, string[]> = {
  'bridge-same-port': [
    'macvlan',
    '--mode',
    'vepa',
    '--from',
    'a',
    '--dst',
    'broadcast',
    '--then',
    '--from',
    'b',
    '--dst',
    'a',
  ],
  'bridge-flood-nobody': [
    'bridge',
    '--port',
    'p1',
    '--port',
    'p2,flood=off',
    '--from',
    'p1',
    '--dst',
    '02:00:00:00:77:77',
  ],
  'bridge-invalid-source': ['bridge', '--from', 'p1', '--src', '01:00:00:00:00:01', '--dst', 'p2'],
  'bridge-pause': ['bridge', '--from', 'p1', '--dst', '01:80:c2:00:00:01'],
  'macvlan-endpoint-down': [
    'macvlan',
    '--mode',
    'passthru',
    '--endpoint',
    'p=passthru,down',
    '--from',
    'ext',
    '--dst',
    'p',
  ],
};

describe('the table of kernel counterparts (docs/drop-reasons.md)', () => {
  it('has a trigger for every mapped reason', () => {
    expect(Object.keys(TRIGGERS).sort()).toEqual(Object.keys(KERNEL_COUNTERPARTS).sort());
  });

  it.each(Object.entries(TRIGGERS))('%s: the model drops with it and the kernel names it so', async (key, argv) => {
    const config = readTraceConfig(argv)!;
    const lab = buildTraceLab(config);
    const sends = [{ from: config.from, frame: config.frame, afterS: 0 }, ...config.then];
    const traced = sends.map((s) => {
      const { from, bytes } = traceFrame(lab, s.from, s.frame);
      return { from, bytes, afterS: 0, journey: lab.send(from, bytes) };
    });
    const forLab = traceForLab(config, lab.macs, traced);
    const v = await verifyFrames(forLab.topology!, forLab.frames, forLab.cannot);
    const last = v.frames.at(-1)!;
    expect(last.model.drops.map((d) => d.reason)).toContain(key);
    const c = KERNEL_COUNTERPARTS[key]!;
    expect(last.kernel.drops.map((d) => `${d.reason} in ${d.fn}`)).toContain(`${c.reason} in ${c.fn}`);
    expect(v.frames.every((f) => f.agree)).toBe(true);
  });
});
