// The addon's walk of a guest's rings under AddressSanitizer: the same source built with
// -fsanitize=address, loaded in place of the addon (TAPYARD_ADDON) by a child run of
// vring-walk.test.ts, whose hostile rings and random differential rounds must pass without one
// report. The guest memory there is a JavaScript array whose backing store ASan guards, so a
// read or write past it is reported, not only the writes the margins catch.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { packageRoot } from '../../src/package-root.js';

const root = packageRoot();
const libasan = spawnSync('gcc', ['-print-file-name=libasan.so'], { encoding: 'utf8' }).stdout?.trim() ?? '';
const dir = mkdtempSync(join(tmpdir(), 'ty-asan-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.skipIf(!existsSync(libasan))('the rings walk under AddressSanitizer', () => {
  it('vring-walk.test.ts passes with the addon built with -fsanitize=address, and ASan reports nothing', () => {
    const addon = join(dir, 'tapio.node');
    const cc = spawnSync(
      'gcc',
      ['-shared', '-fPIC', '-std=gnu11', '-fsanitize=address', '-fno-omit-frame-pointer', '-g', '-O1'].concat([
        '-I/usr/include/node',
        join(root, 'native', 'tapio.c'),
        '-o',
        addon,
      ]),
      { encoding: 'utf8' },
    );
    expect(cc.stderr).toBe('');
    const run = spawnSync(
      process.execPath,
      [
        join(root, 'node_modules', 'vitest', 'vitest.mjs'),
        'run',
        '--project',
        'root',
        'test/integration/vring-walk.test.ts',
      ],
      {
        cwd: root,
        encoding: 'utf8',
        env: {
          ...process.env,
          TAPYARD_ADDON: addon,
          NO_COLOR: '1',
          LD_PRELOAD: libasan,
          // Node itself is not built with ASan: its allocations are not leaks of ours.
          ASAN_OPTIONS: 'detect_leaks=0:abort_on_error=1',
        },
        timeout: 240_000,
      },
    );
    const out = `${run.stdout}${run.stderr}`;
    expect(out).not.toMatch(/AddressSanitizer/);
    // Every test of that file passed (vitest's summary line: "Tests  N passed (N)").
    expect(out).toMatch(/Tests\s+(\d+) passed \(\1\)/);
    expect(run.status).toBe(0);
  }, 300_000);
});
