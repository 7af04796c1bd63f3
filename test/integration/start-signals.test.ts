// Signals from tapyard's first moment: SIGUSR1, sent to the launcher or to Node's own pid, never
// opens Node's debugger (a root door on 127.0.0.1:9229), and every signal that would end the
// process ends the run one way (status 0, final counters, the qemu socket file removed).

import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { ROOT } from '../helpers/lab.js';

const LAUNCHER = join(ROOT, 'bin', 'tapyard');

let dir: string | null = null;
afterEach(() => {
  if (dir !== null) rmSync(dir, { recursive: true, force: true });
  dir = null;
});

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** `tapyard forward` between a qemu socket and a built-in guest: no device, no namespace. */
function forward(
  socket: string,
  extra: string[],
  detached = false,
): { kill: (s: NodeJS.Signals) => void; pid: number; done: Promise<Run>; stderr: () => string } {
  const argv = ['forward', '--port', `vm=qemu:${socket}`, '--port', 'g=guest:10.9.0.2/24', ...extra];
  const child = spawn(LAUNCHER, argv, { detached });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString();
  });
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const done = new Promise<Run>((resolve) =>
    child.once('close', (code, signal) => resolve({ code, signal, stdout, stderr })),
  );
  return { kill: (s) => child.kill(s), pid: child.pid!, done, stderr: () => stderr };
}

test.each([0, 10, 50, 150])('SIGUSR1 %i ms after the start opens no debugger, and the run goes on', async (atMs) => {
  dir = mkdtempSync(join(tmpdir(), 'ty-sig-'));
  const t = forward(join(dir, 'vm.sock'), ['--duration', '1']);
  setTimeout(() => t.kill('SIGUSR1'), atMs);
  const run = await t.done;
  expect(run.stderr).not.toMatch(/Debugger|inspector|ws:\/\//i);
  if (atMs === 0 && run.signal === 'SIGUSR1') {
    // Sent before the launcher's first line could run: the kernel ended it (its default), as it
    // would any program, before anything was opened; no debugger either way.
    expect(run.stdout + run.stderr).toBe('');
    return;
  }
  expect(run.signal).toBeNull();
  expect(run.code).toBe(0);
  expect(run.stdout).toMatch(/ledger: .*\(balanced\)/);
});

test.each([
  'SIGUSR2',
  'SIGALRM',
  'SIGPWR',
  'SIGTERM',
] as const)('%s once running ends the run as Ctrl-C does: counters, status 0, no socket file left', async (signal) => {
  dir = mkdtempSync(join(tmpdir(), 'ty-sig-'));
  const socket = join(dir, 'vm.sock');
  const t = forward(socket, []);
  for (let i = 0; i < 100 && !existsSync(socket); i++) await new Promise((r) => setTimeout(r, 50));
  await new Promise((r) => setTimeout(r, 300));
  t.kill(signal);
  const run = await t.done;
  expect(run.signal).toBeNull();
  expect(run.code).toBe(0);
  expect(run.stdout).toMatch(/ledger: .*\(balanced\)/);
  expect(existsSync(socket)).toBe(false);
});

test('send --expect interrupted before its timeout says so, status 0, not "no frame matched within"', async () => {
  const spec = 'eth src=02:00:00:00:00:01 dst=02:00:00:00:00:02 / ipv4 src=10.9.0.1 dst=10.9.0.2 / udp dport=9';
  const child = spawn(LAUNCHER, [
    'send',
    '--port',
    'vm=guest:10.9.0.2/24,mac=02:00:00:00:00:02',
    spec,
    '--expect',
    'udp sport=9',
    '--timeout',
    '20',
  ]);
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const done = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  setTimeout(() => child.kill('SIGINT'), 1500);
  expect(await done).toBe(0);
  expect(stderr).toMatch(/^tapyard: interrupted after \d+\.\d s: no frame matched --expect 'udp sport=9' yet$/m);
  expect(stderr).not.toMatch(/within 20 s/);
});

test.each([
  ['SIGRTMIN', 34],
  ['SIGRTMAX', 64],
])('%s (its default ends a process; Node cannot listen to it) is ignored', async (_name, signo) => {
  dir = mkdtempSync(join(tmpdir(), 'ty-sig-'));
  const socket = join(dir, 'vm.sock');
  const t = forward(socket, ['--duration', '1.5']);
  for (let i = 0; i < 100 && !existsSync(socket); i++) await new Promise((r) => setTimeout(r, 50));
  await new Promise((r) => setTimeout(r, 200));
  // Node has no name for them, but sends them by number.
  process.kill(t.pid, signo);
  const run = await t.done;
  expect(run.signal).toBeNull();
  expect(run.code).toBe(0);
  expect(run.stdout).toMatch(/ledger: .*\(balanced\)/);
  expect(existsSync(socket)).toBe(false);
});

const STARTING =
  /^tapyard: stopped by signal (INT|TERM|HUP|QUIT) while Node was starting, before anything was opened$/m;

describe.each(['SIGTERM', 'SIGINT', 'SIGHUP', 'SIGQUIT'] as const)('%s during the start', (signal) => {
  test.each([0, 10, 50, 150])('%i ms after the start: status 0, final counters, no socket file left', async (atMs) => {
    dir = mkdtempSync(join(tmpdir(), 'ty-sig-'));
    const socket = join(dir, 'vm.sock');
    const t = forward(socket, []);
    setTimeout(() => t.kill(signal), atMs);
    const run = await t.done;
    expect(existsSync(socket)).toBe(false);
    if (atMs === 0 && run.signal === signal) {
      // Sent before the launcher's first line could run (no program can take a signal before
      // that): the kernel ended it, before anything was opened.
      expect(run.stdout + run.stderr).toBe('');
      return;
    }
    expect(run.signal).toBeNull();
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/ledger: .*\(balanced\)/);
  });
});

test.each([10, 50, 150])('a Ctrl-C to the whole job %i ms after the start ends it with status 0', async (atMs) => {
  dir = mkdtempSync(join(tmpdir(), 'ty-sig-'));
  const socket = join(dir, 'vm.sock');
  // Its own process group, as a terminal's job is: the signal reaches Node too, not only the launcher.
  const t = forward(socket, [], true);
  setTimeout(() => process.kill(-t.pid, 'SIGINT'), atMs);
  const run = await t.done;
  expect(run.signal).toBeNull();
  expect(run.code).toBe(0);
  // Either Node had run tapyard's first line (the run stopped with its counters) or it had not
  // (nothing was opened, and the launcher says so).
  if (!/ledger: .*\(balanced\)/.test(run.stdout)) expect(run.stderr).toMatch(STARTING);
  expect(existsSync(socket)).toBe(false);
});

test.each([
  ['as root', []],
  ['after --user nobody', ['--user', 'nobody']],
])('kill -9 of the launcher, %s: the run still stops its clean way (no socket file left)', async (_name, extra) => {
  dir = mkdtempSync(join(tmpdir(), 'ty-sig-'));
  const socket = join(dir, 'vm.sock');
  chmodSync(dir, 0o1777); // after --user, nobody removes the socket file
  const t = forward(socket, extra);
  for (let i = 0; i < 100 && !/forwarding/.test(t.stderr()); i++) await new Promise((r) => setTimeout(r, 50));
  expect(existsSync(socket)).toBe(true);
  t.kill('SIGKILL');
  for (let i = 0; i < 40 && existsSync(socket); i++) await new Promise((r) => setTimeout(r, 50));
  const left = existsSync(socket);
  if (left) {
    // A Node left running without its launcher: end it (it holds the test's pipes open).
    const pids = spawnSync('pgrep', ['-f', socket], { encoding: 'utf8' }).stdout.trim().split('\n');
    for (const pid of pids.filter((p) => p !== '')) process.kill(Number(pid), 'SIGTERM');
  }
  await t.done;
  expect(left).toBe(false);
});

test("a script's `tapyard forward & ... kill -INT $!` stops the run (INT ignored in its background job)", () => {
  // A shell without job control starts background commands with SIGINT ignored, and a shell
  // cannot trap a signal ignored on entry: the launcher must leave the signals to Node then.
  dir = mkdtempSync(join(tmpdir(), 'ty-sig-'));
  const socket = join(dir, 'vm.sock');
  const script =
    `"${LAUNCHER}" forward --port vm=qemu:${socket} --port g=guest:10.9.0.2/24 & ` +
    // A launcher that lost the INT is killed after 8 s (its Node then gets SIGTERM from the kernel):
    // the test fails on "exit 137" and leaves nothing running.
    'p=$!; (sleep 8; kill -KILL $p) >/dev/null 2>&1 & w=$!; ' +
    'for i in $(seq 100); do [ -S "$0" ] && break; sleep 0.05; done; sleep 0.3; kill -INT $p; wait $p; s=$?; ' +
    'kill $w 2>/dev/null; echo "exit $s"';
  const run = spawnSync('/bin/sh', ['-c', script, socket], { encoding: 'utf8', timeout: 20_000 });
  expect(run.stdout).toMatch(/ledger: .*\(balanced\)/);
  expect(run.stdout).toMatch(/exit 0\n$/);
  expect(existsSync(socket)).toBe(false);
});

// The tests above signal the launcher, which holds a signal until tapyard is ready: Node itself is
// never signalled while it starts. These signal Node's own pid, found as soon as it exists.

/** Wait MS without giving the event loop a turn (a timer's tick is too coarse here). */
const pause = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

/** The child processes of PID (the kernel lists them per thread). */
function childrenOf(pid: number): number[] {
  try {
    return readdirSync(`/proc/${pid}/task`).flatMap((tid) =>
      readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8')
        .split(' ')
        .filter((p) => p.trim() !== '')
        .map(Number),
    );
  } catch {
    return []; // gone already
  }
}

/** Whether PID runs Node: it has exec'd it (a shell that forked it is not Node yet). */
function runsNode(pid: number): boolean {
  try {
    return basename(readlinkSync(`/proc/${pid}/exe`)) === 'node';
  } catch {
    return false;
  }
}

/**
 * The first pid `find` gives, asked again and again (no sleep: Node's first milliseconds are what
 * is tested) for up to 5 s; null if none came.
 */
function pollPid(find: () => number | undefined): number | null {
  const deadline = Date.now() + 5000;
  while (Date.now() < deadline) {
    const pid = find();
    if (pid !== undefined) return pid;
  }
  return null;
}

/** Whether anything in PID's network namespace listens on TCP port 9229 (0x240D), the inspector's. */
function listensOn9229(pid: number): boolean {
  return ['tcp', 'tcp6'].some((table) =>
    readFileSync(`/proc/${pid}/net/${table}`, 'utf8')
      .split('\n')
      .slice(1)
      .some((line) => {
        const [, local, , state] = line.trim().split(/\s+/);
        return local?.endsWith(':240D') === true && state === '0A'; // 0A: LISTEN
      }),
  );
}

/**
 * A network namespace of the run's own, with its loopback up (where the inspector would listen):
 * nothing else on this machine listens there. Unnamed, so it goes with the run's processes.
 */
const OWN_NETNS = ['--net', 'sh', '-c', 'ip link set lo up && exec "$@"', 'sh'];

interface Output {
  stdout: string;
  stderr: string;
}

function collect(child: ReturnType<typeof spawn>): { out: Output; closed: Promise<number | null> } {
  const out: Output = { stdout: '', stderr: '' };
  child.stdout!.on('data', (d: Buffer) => {
    out.stdout += d.toString();
  });
  child.stderr!.on('data', (d: Buffer) => {
    out.stderr += d.toString();
  });
  return { out, closed: new Promise((resolve) => child.once('close', (code) => resolve(code))) };
}

async function until(ok: () => boolean, ms: number): Promise<void> {
  for (let i = 0; i < ms / 20 && !ok(); i++) await new Promise((r) => setTimeout(r, 20));
}

/** Signal Node's pid AT ('exec': the moment it runs Node; a number: ms after `spawned`). */
function signalNode(node: number, at: 'exec' | number, spawned: number): void {
  if (at !== 'exec') pause(Math.max(0, spawned + at - Date.now()));
  process.kill(node, 'SIGUSR1');
}

/** After the signal: tapyard gets ready, opens no inspector, and Node is the same process still. */
async function expectNoInspector(node: number, out: Output): Promise<void> {
  await until(() => /forwarding/.test(out.stderr) || !runsNode(node), 10_000);
  expect(out.stderr).toMatch(/forwarding/);
  await new Promise((r) => setTimeout(r, 300)); // the inspector opens on the loop's next turn
  expect(listensOn9229(node)).toBe(false);
  expect(out.stderr).not.toMatch(/Debugger|inspector|ws:\/\//i);
  expect(runsNode(node)).toBe(true);
}

describe("SIGUSR1 to Node's own pid while it starts", () => {
  // 'exec': the moment the launcher's child has become Node; a number: that many ms after the spawn.
  const MOMENTS = ['exec', 10, 50, 150] as const;

  test.each(MOMENTS)('at %s, under the launcher: no inspector, and the run ends as Ctrl-C ends it', async (at) => {
    dir = mkdtempSync(join(tmpdir(), 'ty-sig-'));
    const socket = join(dir, 'vm.sock');
    const spawned = Date.now();
    const launcher = spawn('unshare', [
      ...OWN_NETNS,
      LAUNCHER,
      'forward',
      '--port',
      `vm=qemu:${socket}`,
      '--port',
      'g=guest:10.9.0.2/24',
    ]);
    const { out, closed } = collect(launcher);
    // unshare and sh exec, so the launcher keeps this pid; Node is its child.
    const node = pollPid(() => childrenOf(launcher.pid!).find(runsNode));
    try {
      expect(node).not.toBeNull();
      signalNode(node!, at, spawned);
      await expectNoInspector(node!, out);
    } finally {
      launcher.kill('SIGINT');
    }
    expect(await closed).toBe(0);
    expect(out.stdout).toMatch(/ledger: .*\(balanced\)/);
    expect(existsSync(socket)).toBe(false);
  });

  test.each(MOMENTS)("at %s in a script's `tapyard forward &` (the launcher execs Node): no inspector", async (at) => {
    dir = mkdtempSync(join(tmpdir(), 'ty-sig-'));
    const socket = join(dir, 'vm.sock');
    const spawned = Date.now();
    // A shell without job control: its background job starts with SIGINT ignored, and the
    // launcher then becomes Node itself (bin/tapyard): $! is Node's pid.
    const script =
      `"${LAUNCHER}" forward --port vm=qemu:${socket} --port g=guest:10.9.0.2/24 & ` +
      'echo "pid $!"; wait $!; echo "exit $?"';
    const shell = spawn('unshare', [...OWN_NETNS, '/bin/sh', '-c', script]);
    const { out, closed } = collect(shell);
    // unshare and sh exec, so the script's shell keeps this pid; $! is its child, Node once exec'd.
    const node = pollPid(() => childrenOf(shell.pid!).find(runsNode));
    try {
      expect(node).not.toBeNull();
      signalNode(node!, at, spawned);
      await expectNoInspector(node!, out);
      expect(out.stdout).toMatch(new RegExp(`^pid ${node}$`, 'm'));
    } finally {
      if (node !== null && runsNode(node)) process.kill(node, 'SIGINT');
    }
    expect(await closed).toBe(0);
    expect(out.stdout).toMatch(/ledger: .*\(balanced\)/);
    expect(out.stdout).toMatch(/exit 0\n$/);
    expect(existsSync(socket)).toBe(false);
  });
});
