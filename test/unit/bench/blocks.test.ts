import { describe, expect, it } from 'vitest';
import { latencyBlocksOf, stepsOf } from '../../../bench/datapath/blocks.js';
import type { LatencyResult } from '../../../bench/datapath/report-schema.js';

const slot = (path: string, loadFraction: number | null): LatencyResult => ({
  path,
  loadFraction,
  samples: [],
  pooled: null,
  p50Ns: null,
  p99Ns: null,
  p999Ns: null,
});

const ORDER = ['ref-veth', 'macvtap/c', 'macvtap/tapyard', 'bridge/c', 'bridge/tapyard'];
const GROUP = ['macvtap/c', 'macvtap/tapyard', 'bridge/c', 'bridge/tapyard'];

const plan = (slots: LatencyResult[], calls: string[]) =>
  latencyBlocksOf(slots, GROUP, (id) => (id.startsWith('ref') ? 2 : 3), {
    single: async (l, round) => {
      calls.push(`${l.path}@${l.loadFraction}#${round}`);
    },
    group: async (ls, round) => {
      calls.push(`${ls.map((l) => l.path).join('|')}@${ls[0]?.loadFraction}#${round}`);
    },
  });

describe('latency blocks', () => {
  it('measures the forwarder paths side by side in one step, a kernel-only path alone', async () => {
    const calls: string[] = [];
    const slots = [
      ...ORDER.map((p) => slot(p, null)),
      ...ORDER.filter((p) => p !== 'ref-veth').map((p) => slot(p, 0.5)),
    ];
    const blocks = plan(slots, calls);
    expect(blocks.map((b) => b.label)).toEqual(['latency idle', 'latency at 50% load']);
    const steps = stepsOf(blocks, ORDER);
    const together = GROUP.join('+');
    expect(steps.filter((s) => s.label.startsWith('latency idle')).map((s) => s.paths.join('+'))).toEqual([
      'ref-veth',
      together,
      together,
      'ref-veth',
      together,
    ]);
    expect(steps.filter((s) => s.label.startsWith('latency at 50%'))).toHaveLength(3);
    for (const s of steps) await s.run();
    expect(calls).toContain('macvtap/c|macvtap/tapyard|bridge/c|bridge/tapyard@null#3');
    expect(calls).toContain('macvtap/c|macvtap/tapyard|bridge/c|bridge/tapyard@0.5#2');
    expect(calls).toContain('ref-veth@null#2');
    expect(calls).not.toContain('ref-veth@null#3');
    expect(calls.some((c) => c.startsWith('macvtap/tapyard@'))).toBe(false);
  });

  it('a path with no partner in the block runs alone', () => {
    const only = plan([slot('macvtap/tapyard', null), slot('ref-veth', null)], []);
    expect([...(only[0]?.rounds.keys() ?? [])]).toEqual(['macvtap/tapyard', 'ref-veth']);
  });
});
