// The lab's promises, through `tapyard lab` (the builder in a child process, as a user runs it):
// names carry the run's id, `down` removes exactly what `up` made, and an
// `up` that fails half-way (or is interrupted) leaves nothing behind.

import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, test } from 'vitest';
import { CLI } from '../helpers/lab.js';

const ours = (id: string) =>
  execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })
    .split('\n')
    .map((l) => l.split(' ')[0]!)
    .filter((ns) => ns.startsWith(`ty-${id}-`));
const freshId = () => `t${Math.random().toString(36).slice(2, 7)}`;

const ids: string[] = [];
afterAll(() => {
  for (const id of ids) spawnSync(process.execPath, [CLI, 'lab', 'down', id], { stdio: 'ignore' });
});

test('up creates only ty-ID-* namespaces and links; down removes exactly them', () => {
  const id = freshId();
  ids.push(id);
  const before = execFileSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8' });
  const env = execFileSync(process.execPath, [CLI, 'lab', 'up', 'bridge', '--id', id], { encoding: 'utf8' });
  expect(env).toMatch(new RegExp(`^LAB_ID=${id}$`, 'm'));
  expect(ours(id).sort()).toEqual([`ty-${id}-ext`, `ty-${id}-gst`, `ty-${id}-hv`]);
  for (const ns of ours(id)) {
    const links = execFileSync('ip', ['-n', ns, '-o', 'link', 'show'], { encoding: 'utf8' })
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => l.split(': ')[1]!.split('@')[0]!);
    for (const link of links) expect(link === 'lo' || link.startsWith(`ty-${id}-`)).toBe(true);
  }
  // Nothing appeared in the caller's namespace.
  expect(execFileSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8' })).toBe(before);
  expect(execFileSync(process.execPath, [CLI, 'lab', 'status', id], { encoding: 'utf8' })).toMatch(/ready/);
  execFileSync(process.execPath, [CLI, 'lab', 'down', id]);
  expect(ours(id)).toEqual([]);
  expect(spawnSync(process.execPath, [CLI, 'lab', 'status', id]).status).not.toBe(0);
});

test.each([
  ['half-way (no taps)', '*tuntap*'],
  ['at its first namespace', '*netns\\ add*'],
])('an up that fails %s removes what it had made', (_, refused) => {
  const id = freshId();
  ids.push(id);
  // An `ip` that refuses to make taps: the lab fails after its namespaces and veths exist.
  const bin = mkdtempSync(join(tmpdir(), 'ty-fake-ip-'));
  try {
    const realIp = execFileSync('sh', ['-c', 'command -v ip'], { encoding: 'utf8' }).trim();
    writeFileSync(
      join(bin, 'ip'),
      `#!/bin/sh\ncase "$*" in ${refused}) echo "ip: refused by the test" >&2; exit 1;; esac\nexec ${realIp} "$@"\n`,
    );
    chmodSync(join(bin, 'ip'), 0o755);
    const r = spawnSync(process.execPath, [CLI, 'lab', 'up', 'macvtap', '--id', id], {
      encoding: 'utf8',
      env: { ...process.env, PATH: `${bin}:${process.env.PATH}` },
    });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/up failed, removed lab/);
  } finally {
    rmSync(bin, { recursive: true, force: true });
  }
  expect(ours(id)).toEqual([]);
  expect(spawnSync(process.execPath, [CLI, 'lab', 'status', id]).status).not.toBe(0);
  expect(existsSync(join(process.env.TAPYARD_RUN_DIR ?? '/run/tapyard', `lab-${id}.env`))).toBe(false);
});

test('an up interrupted by Ctrl-C removes what it had made', async () => {
  const id = freshId();
  ids.push(id);
  const child = spawn(process.execPath, [CLI, 'lab', 'up', 'macvtap', '--switch', '--id', id], { stdio: 'ignore' });
  // Interrupt once the first namespace exists, while the rest is still being built.
  while (ours(id).length === 0) await new Promise((r) => setTimeout(r, 5));
  child.kill('SIGINT');
  const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  expect(code).not.toBe(0);
  expect(ours(id)).toEqual([]);
});

test('bad usage is one line and a non-zero exit', () => {
  for (const args of [
    ['up'],
    ['up', 'router'],
    ['up', 'macvtap', '--mode', 'loud'],
    ['down'],
    ['down', 'nosuch'],
    ['frob'],
  ]) {
    const r = spawnSync(process.execPath, [CLI, 'lab', ...args], { encoding: 'utf8' });
    expect(r.status).not.toBe(0);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^tapyard: /);
  }
});
