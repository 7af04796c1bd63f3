// The lab from the tests' side: the lab builder (src/lab/) in this process, commands inside its
// namespaces, and tapyard runs. Every lab a test makes is removed when the test file ends, and also when the
// worker is interrupted (Ctrl-C) or dies: nothing of ours outlives the run.

import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { newLabId, teardown } from '../../src/lab/builder.js';
import { bringUpLab } from '../../src/lab/up.js';
import { packageRoot } from '../../src/package-root.js';
import type { CountersReport } from '../../src/run/counters-report.js';
import { STOP_REQUESTS } from '../../src/stop-signals.js';

export const ROOT = packageRoot();
export const CLI = join(ROOT, 'dist', 'src', 'cli', 'main.js');

export type Role = 'ext' | 'hv' | 'gst' | 'sw';

export interface Lab {
  id: string;
  env: Record<string, string>;
  ns(role: Role): string;
  /** Run a command in a namespace of the lab; returns stdout. Throws with stderr on failure. */
  run(role: Role, cmd: string, ...args: string[]): string;
  /** A kernel counter of an interface in the lab (statistics/NAME). */
  stat(role: Role, ifname: string, counter: string): number;
  down(): void;
}

const open = new Set<string>();
/** The tapyards each lab runs: a test that fails before it stops one must not leave it running. */
const running = new Map<string, Set<ChildProcess>>();

function downById(id: string): void {
  for (const child of running.get(id) ?? []) if (child.exitCode === null) child.kill('SIGKILL');
  running.delete(id);
  teardown(id); // a lab that is gone already is nothing to remove
  open.delete(id);
}

function cleanupAll(): void {
  for (const id of [...open]) downById(id);
}
process.once('exit', cleanupAll);
for (const signal of STOP_REQUESTS) {
  process.once(signal, () => {
    cleanupAll();
    process.exit(130);
  });
}

/**
 * `kind` is a lab shipped in labs/ (macvtap, bridge, ...) or a topology file, built in this
 * process by the one lab builder (src/lab/up.ts) under an id chosen before anything is made.
 */
export async function labUp(kind: string, ...options: string[]): Promise<Lab> {
  const id = newLabId();
  open.add(id); // before `up`: a worker stopped half-way still removes it
  const { env } = await bringUpLab([kind, ...options], { id });
  const ns = (role: Role) => `ty-${id}-${role}`;
  return {
    id,
    env,
    ns,
    run: (role, cmd, ...args) =>
      execFileSync('ip', ['netns', 'exec', ns(role), cmd, ...args], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
      }),
    stat: (role, ifname, counter) =>
      Number(
        execFileSync('ip', ['netns', 'exec', ns(role), 'cat', `/sys/class/net/${ifname}/statistics/${counter}`], {
          encoding: 'utf8',
        }),
      ),
    down: () => downById(id),
  };
}

/** A running tapyard: its output so far, and a way to stop it and wait. */
export interface Tapyard {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** stderr without the status lines (the "forwarding ..." banner and the model's notes). */
  errors(): string;
  /** Resolves when a line matching `pattern` appears on stdout or stderr. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<void>;
  exited(): Promise<{ code: number | null; signal: NodeJS.Signals | null; atMs: number }>;
  stop(
    signal?: NodeJS.Signals,
  ): Promise<{ code: number | null; signal: NodeJS.Signals | null; atMs: number; stopMs: number }>;
}

/** Start `tapyard ARGS` inside a lab namespace (tapyard runs where the macvtap is). */
export function startTapyard(lab: Lab | null, args: string[], role: Role = 'hv', uid?: number): Tapyard {
  const argv = [CLI, ...args];
  const child =
    lab === null
      ? spawn('node', argv, { uid, gid: uid })
      : spawn('ip', ['netns', 'exec', lab.ns(role), 'node', ...argv], { stdio: ['ignore', 'pipe', 'pipe'] });
  if (lab !== null) {
    const mine = running.get(lab.id) ?? new Set<ChildProcess>();
    mine.add(child);
    running.set(lab.id, mine);
  }
  let out = '';
  let err = '';
  const waiters: (() => void)[] = [];
  child.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
    waiters.forEach((w) => {
      w();
    });
  });
  child.stderr!.on('data', (d: Buffer) => {
    err += d.toString();
    waiters.forEach((w) => {
      w();
    });
  });
  const started = Date.now();
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null; atMs: number }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal, atMs: Date.now() - started })),
  );
  // Streams may still hold data after 'exit'; 'close' follows once they are drained.
  const closed = new Promise<void>((resolve) => child.once('close', () => resolve()));
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    errors: () =>
      err
        .split('\n')
        .filter((line) => !/^tapyard: (forwarding |the model says: )/.test(line))
        .join('\n'),
    waitFor: (pattern, timeoutMs = 10_000) =>
      new Promise<void>((resolve, reject) => {
        const check = () => {
          if (pattern.test(out) || pattern.test(err)) {
            clearTimeout(timer);
            resolve();
          }
        };
        const timer = setTimeout(
          () => reject(new Error(`no ${pattern} from tapyard within ${timeoutMs} ms; stderr: ${err}`)),
          timeoutMs,
        );
        waiters.push(check);
        check();
        void exit.then(() => setTimeout(check, 50));
      }),
    exited: async () => {
      const r = await exit;
      await closed;
      return r;
    },
    stop: async (signal = 'SIGINT') => {
      const at = Date.now();
      child.kill(signal);
      const r = await exit;
      await closed;
      return { ...r, stopMs: Date.now() - at };
    },
  };
}

/** The final JSON object tapyard forward --json prints on exit. */
export function finalReport(t: Tapyard): ForwardJson {
  const lines = t.stdout().trim().split('\n');
  return JSON.parse(lines[lines.length - 1]!) as ForwardJson;
}

/** What `forward --json` prints last: the CLI's own type. */
export type ForwardJson = CountersReport;

export function port(report: ForwardJson, name: string) {
  const p = report.ports.find((x) => x.name === name);
  if (p === undefined) throw new Error(`no port ${name} in the report`);
  return p;
}

/** The lab's standard two-port forward: wire (macvtap or bridged tap) and the guest's tap. */
export function forwardArgs(lab: Lab, ...extra: string[]): string[] {
  const e = lab.env;
  return [
    'forward',
    '--port',
    `wire=${e.WIRE_KIND}:${e.WIRE_IF}`,
    '--port',
    `guest=tap:${e.GUEST_IF},netns=${e.NS_GST}`,
    ...extra,
  ];
}

export function readJson<T>(path: string): T {
  return JSON.parse(readFileSync(path, 'utf8')) as T;
}
