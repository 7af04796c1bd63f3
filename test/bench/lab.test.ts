// The benchmark's labs (bench/datapath/lab.ts) are the one lab builder's, run in the benchmark's
// own process under an id it picked first: up gives the lab's variables, down removes exactly its
// namespaces, and a Ctrl-C or a failure half-way through up leaves nothing behind.

import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, test } from 'vitest';
import { labDown, labUp } from '../../bench/datapath/lab.js';
import { ROOT } from '../helpers/lab.js';

const namespacesOf = (id: string) =>
  execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })
    .split('\n')
    .map((l) => l.split(' ')[0]!)
    .filter((ns) => ns.startsWith(`ty-${id}-`));

const runDir = mkdtempSync(join(tmpdir(), 'ty-bench-lab-'));
afterAll(() => rmSync(runDir, { recursive: true, force: true }));

/** A process that does what the benchmark does: bench/datapath/lab.ts's labUp, then labDown. */
const BENCH_STYLE = `
import { labDown, labUp } from ${JSON.stringify(join(ROOT, 'dist', 'bench', 'datapath', 'lab.js'))};
try {
  const lab = await labUp('macvtap', ['--switch']);
  await labDown(lab);
  process.exitCode = 0;
} catch (err) {
  process.stderr.write(String(err.message) + '\\n');
  process.exitCode = 1;
}
`;

function benchStyle(env: NodeJS.ProcessEnv = {}) {
  let stderr = '';
  const child = spawn(process.execPath, ['--input-type=module', '-e', BENCH_STYLE], {
    env: { ...process.env, TAPYARD_RUN_DIR: runDir, ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const exit = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return { child, exit, stderr: () => stderr };
}

/** The id of the lab being built under runDir, once its state file exists. */
async function idBeingBuilt(): Promise<string> {
  for (let waited = 0; waited < 20_000; waited += 5) {
    const id = readdirSync(runDir)
      .map((f) => /^lab-([0-9a-z]+)\.env$/.exec(f)?.[1])
      .find((x) => x !== undefined);
    if (id !== undefined && namespacesOf(id).length > 0) return id;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error('no lab was being built');
}

test('the benchmark brings a lab up and down in its own process', async () => {
  const lab = await labUp('bridge');
  try {
    expect(lab.env.LAB_ID).toBe(lab.id);
    expect(lab.env.LAB_READY).toBe('1');
    expect(namespacesOf(lab.id).sort()).toEqual([`ty-${lab.id}-ext`, `ty-${lab.id}-gst`, `ty-${lab.id}-hv`]);
    expect(
      execFileSync('ip', ['-n', lab.env.NS_HV!, '-o', 'link', 'show', lab.env.WIRE_IF!], { encoding: 'utf8' }),
    ).toMatch(/master/);
  } finally {
    await labDown(lab);
  }
  expect(namespacesOf(lab.id)).toEqual([]);
});

test('a bench-style lab up interrupted by Ctrl-C half-way leaves nothing', async () => {
  const run = benchStyle();
  // Interrupt once the first namespace exists, while the rest is still being built.
  const id = await idBeingBuilt();
  run.child.kill('SIGINT');
  expect(await run.exit).toBe(1);
  expect(run.stderr()).toMatch(new RegExp(`lab up interrupted by SIGINT, removed lab ${id}`));
  expect(namespacesOf(id)).toEqual([]);
  expect(readdirSync(runDir).filter((f) => f.includes(id))).toEqual([]);
});

test('a bench-style lab up that fails half-way leaves nothing', async () => {
  // An `ip` that refuses to make the macvtap: the lab fails after its namespaces and veths exist.
  const bin = mkdtempSync(join(tmpdir(), 'ty-fake-ip-'));
  try {
    const realIp = spawnSync('sh', ['-c', 'command -v ip'], { encoding: 'utf8' }).stdout.trim();
    writeFileSync(
      join(bin, 'ip'),
      '#!/bin/sh\ncase "$*" in *type\\ macvtap*) echo "ip: refused by the test" >&2; exit 1;; esac\n' +
        `exec ${realIp} "$@"\n`,
    );
    chmodSync(join(bin, 'ip'), 0o755);
    const run = benchStyle({ PATH: `${bin}:${process.env.PATH}` });
    expect(await run.exit).toBe(1);
    const id = /removed lab ([0-9a-z]+)/.exec(run.stderr())?.[1];
    expect(run.stderr()).toMatch(/lab up failed, removed lab [0-9a-z]+: .*refused by the test/);
    expect(id).toBeDefined();
    expect(namespacesOf(id!)).toEqual([]);
  } finally {
    rmSync(bin, { recursive: true, force: true });
  }
  expect(readdirSync(runDir)).toEqual([]);
});
