// CPU accounting that is exact on this kind of VM (benchmarking-notes, "CPU accounting"): the
// user/sys/softirq columns of /proc/stat are tick-sampled and miss most of a paced sender's
// work, but idle time and the scheduler's per-task runtime are not.

import { readdirSync, readFileSync } from 'node:fs';
import { cpus } from 'node:os';

/** Host-wide snapshot: wall-clock and total idle (idle + iowait) seconds over all CPUs. */
export interface HostSnapshot {
  at: number;
  idleSeconds: number;
}

const USER_HZ = 100; // /proc/stat units; fixed at 100 on Linux regardless of CONFIG_HZ

export function hostSnapshot(): HostSnapshot {
  const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!;
  const f = line.trim().split(/\s+/).slice(1).map(Number);
  return { at: performance.now() / 1000, idleSeconds: ((f[3] ?? 0) + (f[4] ?? 0)) / USER_HZ };
}

export const coreCount = (): number => cpus().length;

/** busy = cores - Δidle/Δt: how many cores the whole host kept busy between two snapshots. */
export function busyCores(a: HostSnapshot, b: HostSnapshot, cores = coreCount()): number {
  const dt = b.at - a.at;
  return dt > 0 ? cores - (b.idleSeconds - a.idleSeconds) / dt : 0;
}

/** Nanoseconds of CPU a process has run, all threads, from /proc/PID/task/*\/schedstat. */
export function processCpuNs(pid: number): number {
  let total = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      total += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
    } catch {
      // a thread that exited between readdir and read: its time is gone with it
    }
  }
  return total;
}
