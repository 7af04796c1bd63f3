// The run the ui shows: `tapyard forward --json --stats --inject ARGS` as a child process,
// optionally in a network namespace, whose counters (one JSON object per line) are handed on as
// they arrive, and to whose standard input the page's frames are written. The forwarder itself
// stays untouched: the ui reads and writes only what any script could (src/run/inject-channel.ts).

import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { TapyardError } from '../error.js';
import { packageRoot } from '../package-root.js';
import type { InjectAnswer } from '../run/inject-channel.js';

export interface ForwardChild {
  child: ChildProcess;
  /** Ask the forwarder to stop (it prints its final object first). */
  stop(): void;
  /** Switch FRAME as if PORT had read it; where its copies went. */
  inject(port: string, frame: Uint8Array): Promise<InjectAnswer>;
  exited: Promise<number>;
}

export function startForward(
  forwardArgs: readonly string[],
  netns: string | undefined,
  onReport: (line: string) => void,
): ForwardChild {
  // The launcher, as a user would start it: no SIGUSR1 opens a debugger in this root child either.
  const launcher = join(packageRoot(), 'bin', 'tapyard');
  const argv = ['forward', '--json', '--stats', '--inject', ...forwardArgs];
  // `ip netns exec` execs the command, so the signal to stop reaches the forwarder itself. The
  // forwarder ends when its standard input does, or when this process ends (--inject says so).
  const child =
    netns === undefined
      ? spawn(launcher, argv, { stdio: ['pipe', 'pipe', 'inherit'] })
      : spawn('ip', ['netns', 'exec', netns, launcher, ...argv], { stdio: ['pipe', 'pipe', 'inherit'] });
  child.stdin.on('error', () => {}); // the forwarder is gone: 'close' below says so
  const answers = new Map<number, (a: InjectAnswer) => void>();
  let nextId = 1;
  let pending = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => {
    pending += chunk;
    let at = pending.indexOf('\n');
    while (at >= 0) {
      const line = pending.slice(0, at).trim();
      pending = pending.slice(at + 1);
      if (line.startsWith('{"type":"injected"')) {
        const answer = JSON.parse(line) as InjectAnswer;
        answers.get(answer.id as number)?.(answer);
        answers.delete(answer.id as number);
      } else if (line.startsWith('{')) onReport(line);
      at = pending.indexOf('\n');
    }
  });
  const exited = new Promise<number>((resolve) => {
    child.once('error', (err) => {
      process.stderr.write(`tapyard: the forwarder could not be started (${err.message})\n`);
      resolve(1);
    });
    child.once('close', (code, signal) => resolve(code ?? (signal === null ? 1 : 0)));
  });
  return {
    child,
    stop: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGINT');
    },
    exited,
    inject: (port, frame) =>
      new Promise<InjectAnswer>((resolve, reject) => {
        if (child.exitCode !== null || child.signalCode !== null || !child.stdin.writable)
          return reject(new TapyardError('EDEVGONE', 'the run has ended: nothing can be sent'));
        const id = nextId++;
        const timer = setTimeout(() => {
          answers.delete(id);
          reject(new TapyardError('ETIMEDOUT', 'the forwarder did not answer within 5 s'));
        }, 5000);
        answers.set(id, (a) => {
          clearTimeout(timer);
          resolve(a);
        });
        child.stdin.write(`${JSON.stringify({ id, port, hex: Buffer.from(frame).toString('hex') })}\n`);
      }),
  };
}
