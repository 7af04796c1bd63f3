// The VM section of the report: whether this machine can boot the guest at all (if not, one
// sentence and the section is skipped), which accelerator runs it, and one row per VM path.

import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { TapyardError } from '../../src/error.js';
import { packageRoot } from '../../src/package-root.js';
import { type AccelChoice, chooseAccel } from '../../src/vm/accel.js';
import type { VmRow, VmSection } from '../datapath/report-schema.js';
import { labDownAll } from './lab.js';
import { measureVmPath, pathName, VM_PATHS, type VmSetup } from './measure.js';

/** Why the VM rows cannot be measured here, or null. Builds the guest on the way (cached). */
export function vmUnavailable(): string | null {
  if (spawnSync('qemu-system-x86_64', ['--version']).status !== 0)
    return 'qemu-system-x86_64 is not installed (scripts/setup installs qemu-system-x86)';
  const built = spawnSync(join(packageRoot(), 'scripts', 'vm', 'build-guest'), { encoding: 'utf8' });
  if (built.status !== 0) return `the VM guest cannot be built: ${built.stderr.trim().split('\n').pop()}`;
  return null;
}

export const VM_STEPS = VM_PATHS.map((p) => `vm ${pathName(p)}`);

export interface VmSectionIo {
  accel: AccelChoice;
  setup: Omit<VmSetup, 'accel'>;
  signal: AbortSignal;
  /** Called as each path starts, for the progress line. */
  step: (label: string) => void;
  failures: string[];
}

export async function measureVmSection(io: VmSectionIo): Promise<VmSection> {
  const unavailable = vmUnavailable();
  if (unavailable !== null) {
    for (const label of VM_STEPS) io.step(`${label} (skipped)`);
    return { status: 'skipped', accel: null, note: `No VM rows: ${unavailable}.`, rows: [] };
  }
  const accel = await chooseAccel(io.accel);
  const rows: VmRow[] = [];
  const failed: string[] = [];
  try {
    for (const path of VM_PATHS) {
      if (io.signal.aborted) throw new TapyardError('EINTR', 'bench: interrupted; the labs were taken down');
      io.step(`vm ${pathName(path)} (${accel})`);
      try {
        rows.push(await measureVmPath(path, { ...io.setup, accel }));
      } catch (err) {
        if (io.signal.aborted) throw err;
        const message = err instanceof Error ? err.message : String(err);
        // A guest that does not boot on the first path will not boot on the others: the machine cannot.
        if (path === VM_PATHS[0] && err instanceof TapyardError && err.code === 'EVMBOOT') {
          return { status: 'skipped', accel, note: `No VM rows: this machine cannot boot the VM (${message}).`, rows };
        }
        failed.push(pathName(path));
        io.failures.push(`vm ${pathName(path)}: ${message}`);
      }
    }
  } finally {
    labDownAll();
  }
  const note =
    `A real QEMU guest (${accel === 'tcg' ? 'plain emulation, tcg' : 'kvm'}), one boot per path; ` +
    "rows compare with each other only: the guest runs at the emulator's speed, not the host's." +
    (failed.length ? ` Failed: ${failed.join(', ')} (see Failures).` : '');
  return { status: failed.length ? 'failed' : 'ok', accel, note, rows };
}
