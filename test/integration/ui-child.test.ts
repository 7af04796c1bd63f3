// The ui's forwarder child ends with the ui, however the ui ends, and a body far over the ui's
// limit is refused without being read; `forward --inject` ends at the end of its input, and a line
// far over its limit is one error, not the end of the run.

import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, test } from 'vitest';
import { ROOT } from '../helpers/lab.js';

const LAUNCHER = join(ROOT, 'bin', 'tapyard');

let dir: string | null = null;
const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  children.length = 0;
  if (dir !== null) rmSync(dir, { recursive: true, force: true });
  dir = null;
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: () => boolean, ms: number): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end; await sleep(50)) if (what()) return true;
  return what();
}

function qemuAndGuest(socket: string): string[] {
  return ['--port', `vm=qemu:${socket}`, '--port', 'g=guest:10.9.0.2/24'];
}

/** `tapyard ui` on a free loopback port; its URL once printed, and its forwarder's socket. */
async function startUi(): Promise<{ ui: ChildProcess; url: URL; token: string; socket: string }> {
  dir = mkdtempSync(join(tmpdir(), 'ty-ui-'));
  const socket = join(dir, 'vm.sock');
  const ui = spawn(LAUNCHER, ['ui', '--listen', '127.0.0.1:0', '--', ...qemuAndGuest(socket)], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  children.push(ui);
  let err = '';
  ui.stderr!.on('data', (d: Buffer) => {
    err += d.toString();
  });
  expect(await until(() => /ui at http/.test(err) && existsSync(socket), 15_000)).toBe(true);
  const url = new URL(/ui at (http:\/\/\S+)/.exec(err)![1]!);
  return { ui, url, token: url.searchParams.get('token')!, socket };
}

test('a POST body far over the limit is refused with 413 before it is read, and the ui goes on', async () => {
  const { ui, url, token } = await startUi();
  const status = await new Promise<number>((resolve, reject) => {
    const req = request(
      {
        host: url.hostname,
        port: url.port,
        path: '/send',
        method: 'POST',
        headers: { 'x-tapyard-token': token, 'content-type': 'application/json', 'content-length': 700_000_000 },
      },
      (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      },
    );
    req.on('error', reject);
    req.write(Buffer.alloc(1 << 20, 0x61));
  });
  expect(status).toBe(413);
  // The same without a length: the body is cut off at the limit, not held.
  const chunked = await new Promise<number>((resolve, reject) => {
    const req = request(
      { host: url.hostname, port: url.port, path: '/send', method: 'POST', headers: { 'x-tapyard-token': token } },
      (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      },
    );
    req.on('error', reject);
    for (let i = 0; i < 4; i++) req.write(Buffer.alloc(16 << 10, 0x61));
  });
  expect(chunked).toBe(413);
  const topology = await fetch(new URL('/topology', url));
  expect(topology.status).toBe(200);
  expect(ui.exitCode).toBeNull();
});

test('the ui killed with SIGKILL: its forwarder ends cleanly (its socket file goes)', async () => {
  const { ui, socket } = await startUi();
  ui.kill('SIGKILL');
  expect(await until(() => !existsSync(socket), 5000)).toBe(true);
});

test('forward --inject ends, status 0 with its counters, when its input ends; a 10 MB line is one error', async () => {
  dir = mkdtempSync(join(tmpdir(), 'ty-inj-'));
  const fwd = spawn(LAUNCHER, ['forward', '--inject', '--json', ...qemuAndGuest(join(dir, 'vm.sock'))]);
  children.push(fwd);
  let out = '';
  fwd.stdout.on('data', (d: Buffer) => {
    out += d.toString();
  });
  const exited = new Promise<number | null>((resolve) => fwd.once('close', (code) => resolve(code)));
  const frame = `ffffffffffff02000000000108060001080006040001020000000001${'0a090001'}${'000000000000'}0a090002`;
  fwd.stdin.write(`{"port":"vm","hex":"${'ab'.repeat(5 << 20)}"}\n`);
  fwd.stdin.write(`{"port":{"x":1},"hex":"00"}\n`);
  fwd.stdin.write(`{"id":7,"port":"vm","hex":"${frame}"}\n`);
  await until(() => out.split('\n').filter((l) => l.includes('"injected"')).length >= 3, 10_000);
  fwd.stdin.end();
  expect(await exited).toBe(0);
  const lines = out
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  const answers = lines.filter((l) => l.type === 'injected');
  expect(answers).toHaveLength(3);
  expect(answers[0]!.error).toMatch(/at most 262144 bytes/);
  expect(answers[1]!.error).toMatch(/^"port" must name the port to inject on/);
  expect(answers[2]).toMatchObject({ id: 7, port: 'vm', tx: ['g'] });
  expect(lines.at(-1)!.type).toBe('final');
});
