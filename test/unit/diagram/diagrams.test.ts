// The committed diagrams are what the models draw now, and every panel says what `tapyard
// trace` says for the same frame in the same lab.

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { traceCommand } from '../../../src/cli/trace.js';
import { renderAll } from '../../../src/diagram/generate.js';
import { modeDiagram, SENDER_KINDS } from '../../../src/diagram/scenarios.js';
import { packageRoot } from '../../../src/package-root.js';
import { MACVLAN_MODE_NAMES } from '../../../src/switch/macvlan.js';

const DIR = join(packageRoot(), 'docs', 'diagrams');

describe('docs/diagrams', () => {
  it('holds exactly what the models draw now (run scripts/diagrams after changing a model)', () => {
    const drawn = renderAll();
    const committed = readdirSync(DIR).filter((f) => f.endsWith('.svg'));
    expect(committed.sort()).toEqual([...drawn.keys()].sort());
    for (const [name, svg] of drawn) expect(readFileSync(join(DIR, name), 'utf8'), name).toBe(svg);
  });

  it('draws one picture per mode and sender kind, and the two labs', () => {
    const names = [...renderAll().keys()];
    expect(names).toHaveLength(MACVLAN_MODE_NAMES.length * SENDER_KINDS.length + 2);
    expect(names).toContain('macvlan-vepa-from-host.svg');
    expect(names).toContain('lab-macvtap.svg');
    expect(names).toContain('lab-bridge.svg');
  });
});

describe('every panel agrees with tapyard trace', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  async function traceCopies(args: string[]): Promise<Record<string, number>> {
    let printed = '';
    vi.spyOn(console, 'log').mockImplementation((s: string) => {
      printed += s;
    });
    const code = await traceCommand([...args, '--json']);
    vi.restoreAllMocks();
    expect(code, args.join(' ')).toBe(0);
    return JSON.parse(printed).copies;
  }

  for (const mode of MACVLAN_MODE_NAMES)
    for (const sender of SENDER_KINDS)
      it(`${mode}, sent by ${sender}`, async () => {
        for (const panel of modeDiagram(mode, sender).panels) {
          const drawn = Object.fromEntries(panel.stations.map((s) => [s, panel.copies.get(s) ?? 0]));
          expect(await traceCopies(panel.traceArgs), panel.traceArgs.join(' ')).toEqual(drawn);
        }
      });

  it('shows the textbook cases the way the kernel does them', () => {
    const copies = (mode: 'vepa' | 'private' | 'bridge', path: string, frame: string) => {
      const p = modeDiagram(mode, 'endpoint').panels.find((x) => x.path === path && x.frame === frame)!;
      return Object.fromEntries(p.copies);
    };
    // VEPA: a sibling only through a hairpin switch; bridge mode: directly, never on the wire.
    expect(copies('vepa', 'switch', 'unicast')).toEqual({ ext: 1 });
    expect(copies('vepa', 'hairpin', 'unicast')).toEqual({ b: 1, ext: 1 });
    expect(copies('bridge', 'switch', 'unicast')).toEqual({ b: 1 });
    // Private: a broadcast comes back to its sender only.
    expect(copies('private', 'hairpin', 'broadcast')).toEqual({ a: 1, ext: 1 });
  });
});
