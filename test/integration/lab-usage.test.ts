// tapyard lab answers bad usage as every tapyard command does: one line, status 2, and nothing
// built.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { CLI } from '../helpers/lab.js';

test.each([
  [['up', 'macvtab'], /^tapyard: no topology file 'macvtab' and no lab kind of that name \(macvtap, bridge,/],
  [['up', 'macvtap', '--mode', 'vepx'], /^tapyard: --mode must be one of .*, not 'vepx'$/m],
  [['up', 'macvtap', '--frob'], /^tapyard: unknown option '--frob'/],
  [['frob'], /^tapyard: unknown lab command 'frob'/],
  [['exec', 'abc'], /^tapyard: usage: tapyard lab exec NAME\|ID ROLE CMD/],
])('lab %j: one line, status 2', (args, message) => {
  const r = spawnSync(process.execPath, [CLI, 'lab', ...args], { encoding: 'utf8' });
  expect(r.status).toBe(2);
  expect(r.stdout).toBe('');
  expect(r.stderr.trim().split('\n')).toHaveLength(1);
  expect(r.stderr).toMatch(message);
});

test('lab status reads a lab file whose forwarder line lost its pid as not running, pid unknown', () => {
  const runDir = mkdtempSync(join(tmpdir(), 'ty-labrun-'));
  try {
    writeFileSync(join(runDir, 'lab-zz9.env'), 'LAB_ID=zz9\nLAB_NAME=cut\nLAB_KIND=guests\nFORWARDER=fw\n');
    const r = spawnSync(process.execPath, [CLI, 'lab', 'status', 'zz9'], {
      encoding: 'utf8',
      env: { ...process.env, TAPYARD_RUN_DIR: runDir },
    });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^ {2}forwarder fw: pid unknown, not running$/m);
  } finally {
    rmSync(runDir, { recursive: true, force: true });
  }
});
