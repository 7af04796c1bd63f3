// The socket file a qemu port listens on is private to its owner (0600 whatever the umask; root's,
// or --user's), a peer of another user is refused and counted, and the file is removed at the end
// also after --user gave up root.

import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, test } from 'vitest';
import { type ForwardJson, ROOT } from '../helpers/lab.js';

const LAUNCHER = join(ROOT, 'bin', 'tapyard');
const NOBODY = 65534;

let dir: string | null = null;
afterEach(() => {
  if (dir !== null) rmSync(dir, { recursive: true, force: true });
  dir = null;
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** `forward --json` between a qemu socket in a directory everyone may use (as /tmp) and a guest, under umask 000. */
async function start(extra: string[]) {
  dir = mkdtempSync(join(tmpdir(), 'ty-qs-'));
  chmodSync(dir, 0o1777);
  const socket = join(dir, 'vm.sock');
  const args = ['forward', '--json', '--port', `vm=qemu:${socket}`, '--port', 'g=guest:10.9.0.2/24', ...extra];
  const child = spawn('sh', ['-c', 'umask 000; exec "$0" "$@"', LAUNCHER, ...args]);
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
  });
  child.stderr.on('data', (d: Buffer) => {
    err += d.toString();
  });
  const done = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  for (let i = 0; i < 200 && !/forwarding/.test(err); i++) await sleep(50);
  expect(err).toMatch(/forwarding/);
  const stop = async () => {
    child.kill('SIGINT');
    const code = await done;
    const lines = out.trim().split('\n');
    return { code, stderr: err, report: JSON.parse(lines[lines.length - 1]!) as ForwardJson };
  };
  return { socket, stop };
}

/** Connect to SOCKET as the user nobody and write one frame; what the connection saw. */
function connectAsNobody(socket: string): Promise<string> {
  const script = `
    const s = require('node:net').connect(process.argv[1]);
    s.on('connect', () => {
      const l = Buffer.alloc(4);
      l.writeUInt32BE(60);
      s.write(Buffer.concat([l, Buffer.alloc(60, 0xff)]));
    });
    s.on('error', (e) => { console.log(e.code); process.exit(0); });
    s.on('close', () => { console.log('closed'); process.exit(0); });
    setTimeout(() => { console.log('open'); process.exit(0); }, 1500);`;
  const child = spawn(process.execPath, ['-e', script, socket], { uid: NOBODY, gid: NOBODY });
  let out = '';
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
  });
  return new Promise((resolve) => child.once('close', () => resolve(out.trim())));
}

test("under umask 000 the socket is 0600 and root's: another user cannot connect", async () => {
  const { socket, stop } = await start([]);
  const st = statSync(socket);
  expect(st.mode & 0o777).toBe(0o600);
  expect(st.uid).toBe(0);
  expect(await connectAsNobody(socket)).toBe('EACCES');
  const { code, report } = await stop();
  expect(code).toBe(0);
  expect(report.ports.find((p) => p.name === 'vm')!.qemu).toMatchObject({ connections: 0 });
  expect(existsSync(socket)).toBe(false);
});

test('a peer of another user is refused and counted, even when the mode was opened up', async () => {
  const { socket, stop } = await start([]);
  chmodSync(socket, 0o666);
  // However the refusal reaches it: closed, reset, or (when its write comes after the close) EPIPE.
  expect(['closed', 'ECONNRESET', 'EPIPE']).toContain(await connectAsNobody(socket));
  const { code, stderr, report } = await stop();
  expect(code).toBe(0);
  expect(stderr).toMatch(/port vm: a process of uid 65534 \(neither root nor uid 0\) connected to .*; it was refused/);
  const vm = report.ports.find((p) => p.name === 'vm')!;
  expect(vm.qemu).toMatchObject({ connections: 0, refused: 1 });
  expect(vm.rxFrames).toBe(0);
});

test("--user nobody: the socket is 0600 and nobody's, and is removed at the end", async () => {
  const { socket, stop } = await start(['--user', 'nobody']);
  const st = statSync(socket);
  expect(st.mode & 0o777).toBe(0o600);
  expect(st.uid).toBe(NOBODY);
  const { code, stderr } = await stop();
  expect(code).toBe(0);
  expect(stderr).not.toMatch(/cannot remove/);
  expect(existsSync(socket)).toBe(false);
});
