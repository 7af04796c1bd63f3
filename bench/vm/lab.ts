// The labs the VM benchmark runs on are the namespace benchmark's own (bench/datapath/lab.ts: the
// one lab builder, in this process, with the id picked before anything is made, so an interrupted
// run still knows what to take down); here, the commands the VM rows run inside them.

import { spawn } from 'node:child_process';
import { TapyardError } from '../../src/error.js';

export { type Lab, labDown, labDownAll, labUp, need } from '../datapath/lab.js';

export type WireKind = 'macvtap' | 'bridge';

export const ns = (lab: { id: string }, role: 'ext' | 'hv' | 'gst'): string => `ty-${lab.id}-${role}`;

/** Run a command to its end without blocking the loop (tapyard and QEMU are watched meanwhile). */
export function run(argv: string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else reject(new TapyardError('BENCH_RUN', `${argv.join(' ')} failed (${signal ?? code}): ${err.trim()}`));
    });
  });
}
