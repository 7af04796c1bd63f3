// The pcap port's capture process runs as root too: SIGUSR1 to it opens no debugger, and the run
// goes on.

import { execFileSync, spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterEach, expect, test } from 'vitest';
import { type Lab, labUp, ROOT } from '../helpers/lab.js';

let lab: Lab | null = null;
afterEach(() => {
  lab?.down();
  lab = null;
});

test("SIGUSR1 to the pcap port's worker opens nothing, and the worker lives on", async () => {
  lab = await labUp('macvtap');
  const e = lab.env;
  const launcher = join(ROOT, 'bin', 'tapyard');
  const args = ['forward', '--port', `x=pcap:${e.EXT_IF}`, '--port', 'g=guest:10.77.0.9/24'];
  const t = spawn('ip', ['netns', 'exec', lab.ns('ext'), launcher, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  t.stdout.on('data', (d: Buffer) => {
    out += d.toString();
  });
  t.stderr.on('data', (d: Buffer) => {
    err += d.toString();
  });
  const done = new Promise<number | null>((resolve) => t.once('close', (code) => resolve(code)));
  for (let i = 0; i < 200 && !/forwarding/.test(err); i++) await new Promise((r) => setTimeout(r, 50));
  const worker = Number(
    execFileSync('pgrep', ['-P', String(t.pid)], { encoding: 'utf8' })
      .trim()
      .split('\n')[0],
  );
  expect(worker).toBeGreaterThan(0);
  process.kill(worker, 'SIGUSR1');
  await new Promise((r) => setTimeout(r, 700));
  const listening = execFileSync('ip', ['netns', 'exec', lab.ns('ext'), 'ss', '-Hltnp'], { encoding: 'utf8' });
  expect(listening).toBe('');
  // The worker lives on (an ended worker ends the run with a sentence).
  expect(() => process.kill(worker, 0)).not.toThrow();
  expect(t.exitCode).toBeNull();
  t.kill('SIGINT');
  expect(await done).toBe(0);
  expect(out).toMatch(/ledger: .*\(balanced\)/);
});
