// tapyard lab answers bad usage as every tapyard command does: one line, status 2, and nothing
// built.

import { spawnSync } from 'node:child_process';
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
