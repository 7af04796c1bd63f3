// The pcap port's capture process runs as root too: SIGUSR1 to it opens no debugger, and the run
// goes on.

import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, expect, test } from 'vitest';
import { type Lab, labUp, ROOT } from '../helpers/lab.js';

let lab: Lab | null = null;
afterEach(() => {
  lab?.down();
  lab = null;
});

/** Every process under PID: its children, theirs, and so on (the kernel lists them per thread). */
function descendantsOf(pid: number): number[] {
  const children = readdirSync(`/proc/${pid}/task`).flatMap((tid) =>
    readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8')
      .split(' ')
      .filter((p) => p.trim() !== '')
      .map(Number),
  );
  return children.flatMap((child) => [child, ...descendantsOf(child)]);
}

const cmdline = (pid: number) => readFileSync(`/proc/${pid}/cmdline`, 'utf8');
const WORKER = /\/pcap-worker\.js\0/;

/** When PID started (field 22 of its stat, counted after the command's name): a reused pid differs. */
const startTime = (pid: number) => readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[19];

/** The TCP sockets listening in PID's network namespace, as /proc shows them ("0100007F:2411"). */
function listening(pid: number): string[] {
  return ['tcp', 'tcp6'].flatMap((table) =>
    readFileSync(`/proc/${pid}/net/${table}`, 'utf8')
      .split('\n')
      .slice(1)
      .map((line) => line.trim().split(/\s+/))
      .filter((f) => f[3] === '0A') // LISTEN
      .map((f) => f[1]!),
  );
}

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
  // ip netns exec becomes the launcher (bin/tapyard), whose child is the forwarder's Node, whose
  // child is the worker: found by what it runs, not by where it sits.
  const workers = descendantsOf(t.pid!).filter((pid) => WORKER.test(cmdline(pid)));
  expect(workers).toHaveLength(1);
  const worker = workers[0]!;
  expect(readFileSync(`/proc/${worker}/comm`, 'utf8')).toBe('node\n');
  const started = startTime(worker);
  process.kill(worker, 'SIGUSR1');
  await new Promise((r) => setTimeout(r, 700));
  // Nothing listens in the worker's namespace (the inspector's would be 127.0.0.1:9229).
  expect(listening(worker)).toEqual([]);
  expect(err).not.toMatch(/Debugger|inspector|ws:\/\//i);
  // The worker lives on, the same process (an ended worker ends the run with a sentence).
  expect(startTime(worker)).toBe(started);
  expect(cmdline(worker)).toMatch(WORKER);
  expect(t.exitCode).toBeNull();
  t.kill('SIGINT');
  expect(await done).toBe(0);
  expect(out).toMatch(/ledger: .*\(balanced\)/);
});
