// The run the ui shows: `tapyard forward --json --stats ARGS` as a child process, optionally in a
// network namespace, whose one JSON object per line is handed on as it arrives. The forwarder
// itself stays untouched: the ui only reads what any script could read.

import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { packageRoot } from '../package-root.js';

export interface ForwardChild {
  child: ChildProcess;
  /** Ask the forwarder to stop (it prints its final object first). */
  stop(): void;
  exited: Promise<number>;
}

export function startForward(
  forwardArgs: readonly string[],
  netns: string | undefined,
  onReport: (line: string) => void,
): ForwardChild {
  const cli = join(packageRoot(), 'dist', 'src', 'cli', 'main.js');
  const argv = [cli, 'forward', '--json', '--stats', ...forwardArgs];
  // `ip netns exec` execs the command, so the signal to stop reaches the forwarder itself.
  const child =
    netns === undefined
      ? spawn(process.execPath, argv, { stdio: ['ignore', 'pipe', 'inherit'] })
      : spawn('ip', ['netns', 'exec', netns, process.execPath, ...argv], { stdio: ['ignore', 'pipe', 'inherit'] });
  let pending = '';
  child.stdout!.setEncoding('utf8');
  child.stdout!.on('data', (chunk: string) => {
    pending += chunk;
    let at = pending.indexOf('\n');
    while (at >= 0) {
      const line = pending.slice(0, at).trim();
      pending = pending.slice(at + 1);
      if (line.startsWith('{')) onReport(line);
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
  };
}
