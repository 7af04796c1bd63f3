// The package's entry point, as a script that imports 'tapyard' gets it (package.json exports).

import { expect, test } from 'vitest';

test("import 'tapyard' gives the library: ports, the forwarder, switches, frames, the lab", async () => {
  // A name in a variable: the type checker must not need the build to resolve it.
  const name = 'tapyard';
  const lib = (await import(name)) as Record<string, unknown>;
  for (const piece of [
    'Forwarder',
    'MemoryPort',
    'openPort',
    'parsePortSpec',
    'boundSwitch',
    'buildFrame',
    'describe',
    'labUp',
    'Decision',
  ]) {
    expect(typeof lib[piece], piece).toBe('function');
  }
});
