// tapyard lab answers bad usage as every tapyard command does: one line, status 2, and nothing
// built.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
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

test('a lab file whose forwarder line lost its pid and log: status says so, down still removes the lab', () => {
  const runDir = mkdtempSync(join(tmpdir(), 'ty-labrun-'));
  const lab = (verb: string) =>
    spawnSync(process.execPath, [CLI, 'lab', verb, 'zz9'], {
      encoding: 'utf8',
      env: { ...process.env, TAPYARD_RUN_DIR: runDir },
    });
  try {
    const file = join(runDir, 'lab-zz9.env');
    writeFileSync(file, 'LAB_ID=zz9\nLAB_NAME=cut\nLAB_KIND=guests\nFORWARDER=fw\n');
    const status = lab('status');
    expect(status.status).toBe(0);
    expect(status.stdout).toMatch(/^ {2}forwarder fw: pid unknown, not running$/m);
    const down = lab('down');
    expect(down.stderr).toBe('');
    expect(down.status).toBe(0);
    expect(down.stdout).toMatch(/^lab cut \(zz9\) removed$/m);
    expect(existsSync(file)).toBe(false);
  } finally {
    rmSync(runDir, { recursive: true, force: true });
  }
});
