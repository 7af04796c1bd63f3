// The labs the VM benchmark runs on, and the commands it runs inside them. The id is chosen here
// before `up`, so an interrupted run still knows what to take down. measure.ts asks for a lab
// synchronously, so `up` is the builder run by `tapyard lab up` in a child (which removes what it
// made when it fails or is stopped half-way); `down` is the builder's teardown, in this process.

import { execFileSync, spawn } from 'node:child_process';
import { join } from 'node:path';
import { TapyardError } from '../../src/error.js';
import { newLabId, teardown } from '../../src/lab/builder.js';
import { packageRoot } from '../../src/package-root.js';

export type WireKind = 'macvtap' | 'bridge';

export interface Lab {
  id: string;
  kind: WireKind;
  env: Record<string, string>;
}

const CLI = () => join(packageRoot(), 'dist', 'src', 'cli', 'main.js');
const up = new Set<Lab>();

export function labUp(kind: WireKind): Lab {
  const lab: Lab = { id: newLabId(), kind, env: {} };
  up.add(lab); // before `up`: a failure half-way must still lead to `lab down`
  const out = execFileSync(process.execPath, [CLI(), 'lab', 'up', kind, '--id', lab.id], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  for (const line of out.split('\n')) {
    const m = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (m) lab.env[m[1]!] = m[2]!;
  }
  if (lab.env.LAB_READY !== '1') throw new TapyardError('BENCH_SETUP', `lab up ${kind} did not finish`);
  return lab;
}

export function labDown(lab: Lab): void {
  up.delete(lab);
  teardown(lab.id); // a lab whose `up` failed removed itself: nothing is left to remove
}

export function labDownAll(): void {
  for (const lab of [...up]) labDown(lab);
}

export const ns = (lab: Lab, role: 'ext' | 'hv' | 'gst'): string => `ty-${lab.id}-${role}`;

export function need(lab: Lab, key: string): string {
  const v = lab.env[key];
  if (v === undefined) throw new TapyardError('BENCH_SETUP', `lab ${lab.kind} printed no ${key}`);
  return v;
}

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
