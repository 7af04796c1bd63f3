// scripts/netns/lab answers bad usage as every tapyard command does: one line, status 2, and
// nothing built.

import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { ROOT } from '../helpers/lab.js';

const LAB = join(ROOT, 'scripts', 'netns', 'lab');

test.each([
  [['up', 'macvtab'], /^lab: unknown lab kind 'macvtab' \(macvtap, bridge,/],
  [['up', 'macvtap', '--mode', 'vepx'], /^lab: unknown macvlan mode 'vepx'/],
  [['up', 'macvtap', '--frob'], /^lab: unknown option '--frob'/],
  [['frob'], /^lab: unknown command 'frob'/],
  [['exec', 'abc'], /^lab: usage: lab exec ID ROLE CMD/],
])('lab %j: one line, status 2', (args, message) => {
  const r = spawnSync(LAB, args, { encoding: 'utf8' });
  expect(r.status).toBe(2);
  expect(r.stdout).toBe('');
  expect(r.stderr.trim().split('\n')).toHaveLength(1);
  expect(r.stderr).toMatch(message);
});
