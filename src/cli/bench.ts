// tapyard bench: the benchmark is its own program (bench/datapath/main.ts) and the product only
// runs it as a child, so src/ stands alone. The child shares our terminal, gets our signals,
// and its exit status is ours.

import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { TapyardError } from '../error.js';
import { packageRoot } from '../package-root.js';
import { STOP_REQUESTS } from '../stop-signals.js';

/** Compiled by the same build as the CLI. */
const BENCH_MAIN = join(packageRoot(), 'dist', 'bench', 'datapath', 'main.js');

export function benchCommand(argv: string[]): Promise<number> {
  if (!existsSync(BENCH_MAIN))
    throw new TapyardError('BENCH_SETUP', `the benchmark is not built (${BENCH_MAIN} is missing): run scripts/setup`);
  const child = spawn(process.execPath, [BENCH_MAIN, ...argv], { stdio: 'inherit' });
  // A terminal's Ctrl-C reaches the child too; it ignores a second SIGINT while it stops.
  const forward = (signal: NodeJS.Signals) => child.kill(signal);
  for (const s of STOP_REQUESTS) process.on(s, forward);
  return new Promise((resolve) => {
    const done = (status: number) => {
      for (const s of STOP_REQUESTS) process.off(s, forward);
      resolve(status);
    };
    child.on('error', (err) => {
      process.stderr.write(`tapyard: cannot start the benchmark: ${err.message}\n`);
      done(1);
    });
    child.on('exit', (code, signal) => done(code ?? (signal === 'SIGINT' ? 130 : 1)));
  });
}
