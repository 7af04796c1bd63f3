// Child processes of a benchmark run: every one is tracked so that Ctrl-C, a failure or the
// end of the run stops exactly the processes this run started, by pid, and nothing else.

import { type ChildProcess, spawn } from 'node:child_process';
import { TapyardError } from '../../src/error.js';

export interface Finished {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export class Proc {
  stdout = '';
  stderr = '';
  readonly exited: Promise<Finished>;
  private done = false;

  constructor(
    readonly child: ChildProcess,
    readonly label: string,
  ) {
    child.stdout?.setEncoding('utf8').on('data', (d: string) => {
      this.stdout += d;
    });
    child.stderr?.setEncoding('utf8').on('data', (d: string) => {
      this.stderr += d;
    });
    this.exited = new Promise((resolve) => {
      child.on('error', (err) => {
        this.stderr += String(err);
        this.done = true;
        resolve({ code: -1, signal: null, stdout: this.stdout, stderr: this.stderr });
      });
      child.on('close', (code, signal) => {
        this.done = true;
        resolve({ code, signal, stdout: this.stdout, stderr: this.stderr });
      });
    });
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  get running(): boolean {
    return !this.done;
  }

  /** Resolves when `pattern` shows up on stdout or stderr; rejects on exit or after timeoutMs. */
  async waitFor(pattern: RegExp, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!pattern.test(this.stdout) && !pattern.test(this.stderr)) {
      if (!this.running)
        throw new TapyardError('BENCH_TOOL', `${this.label} exited before it was ready: ${tail(this.stderr)}`);
      if (Date.now() > deadline)
        throw new TapyardError('BENCH_TOOL', `${this.label} was not ready within ${timeoutMs} ms`);
      await sleep(10);
    }
  }

  /** Sends `signal` and waits for the exit; SIGKILL after graceMs if it does not go. */
  async stop(signal: NodeJS.Signals = 'SIGINT', graceMs = 5000): Promise<Finished> {
    if (this.running) this.child.kill(signal);
    const timer = setTimeout(() => this.running && this.child.kill('SIGKILL'), graceMs);
    const result = await this.exited;
    clearTimeout(timer);
    return result;
  }
}

/** Processes started and not yet reaped, so an interrupted run can stop them all. */
const live = new Set<Proc>();

export function start(argv: readonly string[], label = argv.join(' ')): Proc {
  const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
  const proc = new Proc(child, label);
  live.add(proc);
  void proc.exited.then(() => live.delete(proc));
  return proc;
}

/**
 * Runs to completion; a non-zero exit or a timeout is a TapyardError naming the tool, unless
 * `check` is false (for tools that explain their failures on stdout, like iperf3 -J).
 */
export async function run(
  argv: readonly string[],
  timeoutMs = 60_000,
  label = argv.join(' '),
  check = true,
): Promise<Finished> {
  const proc = start(argv, label);
  const timer = setTimeout(() => proc.running && proc.child.kill('SIGKILL'), timeoutMs);
  const result = await proc.exited;
  clearTimeout(timer);
  if (check && result.code !== 0) {
    const why = result.signal ? `was killed (${result.signal})` : `exited with ${result.code}`;
    throw new TapyardError('BENCH_TOOL', `${label} ${why}: ${tail(result.stderr || result.stdout)}`);
  }
  return result;
}

/** Stops every process this run started and has not reaped yet (SIGTERM, then SIGKILL). */
export async function stopAll(): Promise<void> {
  await Promise.all([...live].map((p) => p.stop('SIGTERM', 2000)));
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The last line of a tool's complaint, for a one-line error. */
export function tail(text: string): string {
  const lines = text.trim().split('\n').filter(Boolean);
  return lines.length ? lines[lines.length - 1]!.slice(0, 300) : '(no output)';
}

/** The last line of `text` that parses as a JSON object. */
export function lastJson(text: string, label: string): Record<string, unknown> {
  const lines = text.trim().split('\n').reverse();
  for (const line of lines) {
    const t = line.trim();
    if (!t.startsWith('{')) continue;
    try {
      return JSON.parse(t) as Record<string, unknown>;
    } catch {
      // not this line
    }
  }
  throw new TapyardError('BENCH_TOOL', `${label} printed no JSON result: ${tail(text)}`);
}
