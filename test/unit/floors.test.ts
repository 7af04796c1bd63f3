import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { EXCEPTIONS, FLOORS, floorProblems, importsOf, readModules, roomOf } from '../../scripts/floors.mjs';

const root = fileURLToPath(new URL('../..', import.meta.url));

describe('the floor rule', () => {
  it('holds for src/ today', () => {
    expect(floorProblems(readModules(root))).toEqual([]);
  });

  it('fails on a lower floor importing a higher one', () => {
    const modules = [{ file: 'src/frame/fake.ts', text: "import { main } from '../cli/main.js';\n" }];
    expect(floorProblems(modules, FLOORS, [])).toEqual([
      'src/frame/fake.ts imports src/cli/main.ts: cli/ is above frame/',
    ]);
  });

  it('fails on the back-arrows it must see: type-only, dynamic, re-export, and from a file directly in src/', () => {
    const modules = [
      { file: 'src/port/a.ts', text: "import type { ForwardConfig } from '../config/forward.js';" },
      { file: 'src/switch/b.ts', text: "const m = await import('../engine/forwarder.js');" },
      { file: 'src/frame/c.ts', text: "export { buildFrame } from '../spec/build.js';" },
      { file: 'src/mac.ts', text: "import { TapyardError } from './frame/error.js';" },
    ];
    expect(floorProblems(modules, FLOORS, [])).toEqual([
      'src/port/a.ts imports src/config/forward.ts: config/ is above port/',
      'src/switch/b.ts imports src/engine/forwarder.ts: engine/ is above switch/',
      'src/frame/c.ts imports src/spec/build.ts: spec/ is above frame/',
      'src/mac.ts imports src/frame/error.ts: frame/ is above mac/',
    ]);
  });

  it('fails on two rooms of one floor leaning on each other, and passes an arrow down', () => {
    const modules = [
      {
        file: 'src/port/a.ts',
        text: "import { Journey } from '../sim/network.js';\nimport { Frame } from '../frame/frame.js';",
      },
    ];
    expect(floorProblems(modules, FLOORS, [])).toEqual([
      'src/port/a.ts imports src/sim/network.ts: sim/ is on the same floor as port/',
    ]);
  });

  it('names a room that is on no floor', () => {
    const modules = [{ file: 'src/newroom/a.ts', text: "import { quote } from '../grammar/quote.js';" }];
    expect(floorProblems(modules, FLOORS, [])).toEqual([
      'src/newroom is on no floor: add it to FLOORS in scripts/floors.mjs',
    ]);
  });

  it('lets a named exception through, and fails once the exception no longer occurs', () => {
    const exception = { from: 'src/ui/send.ts', to: 'src/cli/inject-channel.ts', reason: 'moving' };
    const arrow = { file: 'src/ui/send.ts', text: "import { injectChannel } from '../cli/inject-channel.js';" };
    expect(floorProblems([arrow], FLOORS, [exception])).toEqual([]);
    expect(floorProblems([{ file: 'src/ui/send.ts', text: '' }], FLOORS, [exception])).toEqual([
      'src/ui/send.ts no longer imports src/cli/inject-channel.ts: delete its exception in scripts/floors.mjs',
    ]);
  });

  it('places every room on one floor only, and gives every exception a reason', () => {
    const rooms = FLOORS.flat();
    expect(new Set(rooms).size).toBe(rooms.length);
    for (const e of EXCEPTIONS) expect(e.reason.length).toBeGreaterThan(10);
  });

  it("keeps the house rule's spine in order: frame, switch, port, engine, config, cli", () => {
    const floor = (room: string) => FLOORS.findIndex((rooms) => rooms.includes(room));
    const spine = ['frame', 'switch', 'port', 'engine', 'config', 'cli'].map(floor);
    expect(spine.every((f, i) => f >= 0 && (i === 0 || f > (spine[i - 1] ?? Infinity)))).toBe(true);
  });

  it('reads rooms and imports as the rule means them', () => {
    expect(roomOf('src/config/trace.ts')).toBe('config');
    expect(roomOf('src/error.ts')).toBe('error');
    expect(roomOf('test/unit/a.ts')).toBeNull();
    expect(importsOf('src/ui/trace.ts', "import { toJson } from '../sim/trace-render.js';")).toEqual([
      'src/sim/trace-render.ts',
    ]);
  });
});
