// The VM section of the report: whether this machine can boot the guest at all (if not, one
// sentence and the section is skipped), which accelerator runs it, and one row per VM path,
// each measured in rounds with the others.

import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { TapyardError } from '../../src/error.js';
import { packageRoot } from '../../src/package-root.js';
import { type AccelChoice, chooseAccel } from '../../src/vm/accel.js';
import { roundOrder } from '../datapath/paired.js';
import type { VmRound, VmRow, VmSection } from '../datapath/report-schema.js';
import { labDownAll } from './lab.js';
import {
  closeVmPath,
  finishVmPath,
  measureVmRound,
  type OpenVm,
  openVmPath,
  pathName,
  type VmPath,
  type VmSetup,
} from './measure.js';

/** Why the VM rows cannot be measured here, or null. Builds the guest on the way (cached). */
export function vmUnavailable(): string | null {
  if (spawnSync('qemu-system-x86_64', ['--version']).status !== 0)
    return 'qemu-system-x86_64 is not installed (scripts/setup installs qemu-system-x86)';
  const built = spawnSync(join(packageRoot(), 'scripts', 'vm', 'build-guest'), { encoding: 'utf8' });
  if (built.status !== 0) return `the VM guest cannot be built: ${built.stderr.trim().split('\n').pop()}`;
  return null;
}

/** The progress steps: each path booted, the rounds in alternating order, each path's foreign flood. */
export const vmSteps = (paths: readonly VmPath[], rounds: number): string[] => [
  ...paths.map((p) => `vm boot ${pathName(p)}`),
  ...Array.from({ length: rounds }, (_, i) =>
    roundOrder(paths, i + 1).map((p) => `vm ${pathName(p)} round ${i + 1}`),
  ).flat(),
  ...paths.map((p) => `vm foreign ${pathName(p)}`),
];

export interface VmSectionIo {
  accel: AccelChoice;
  /** The paths to boot, in this order (the first one tells whether this machine can boot at all). */
  paths: readonly VmPath[];
  rounds: number;
  setup: Omit<VmSetup, 'accel'>;
  signal: AbortSignal;
  /** Called as each step starts, for the progress line. */
  step: (label: string) => void;
  failures: string[];
}

const message = (err: unknown) => (err instanceof Error ? err.message : String(err));

/**
 * Every VM path booted at once, then measured round by round in alternating order, so QEMU's own
 * backend and tapyard see the same minutes' neighbours and their ratios pair per round.
 */
export async function measureVmSection(io: VmSectionIo): Promise<VmSection> {
  const unavailable = vmUnavailable();
  if (unavailable !== null) {
    for (const label of vmSteps(io.paths, io.rounds)) io.step(`${label} (skipped)`);
    return { status: 'skipped', accel: null, note: `No VM rows: ${unavailable}.`, rows: [] };
  }
  const accel = await chooseAccel(io.accel);
  const setup: VmSetup = { ...io.setup, accel };
  const open: OpenVm[] = [];
  const failed = new Set<string>();
  const fail = (name: string, what: string, err: unknown) => {
    if (io.signal.aborted) throw err;
    failed.add(name);
    io.failures.push(`vm ${name} ${what}: ${message(err)}`);
  };
  const checkAbort = () => {
    if (io.signal.aborted) throw new TapyardError('EINTR', 'bench: interrupted; the labs were taken down');
  };
  const rows: VmRow[] = [];
  try {
    for (const path of io.paths) {
      checkAbort();
      io.step(`vm boot ${pathName(path)} (${accel})`);
      try {
        open.push(await openVmPath(path, setup));
      } catch (err) {
        // A guest that does not boot on the first path will not boot on the others: the machine cannot.
        if (path === io.paths[0] && err instanceof TapyardError && err.code === 'EVMBOOT')
          return {
            status: 'skipped',
            accel,
            note: `No VM rows: this machine cannot boot the VM (${message(err)}).`,
            rows,
          };
        fail(pathName(path), 'boot', err);
      }
    }
    const rounds = new Map<OpenVm, VmRound[]>(open.map((o) => [o, []]));
    for (let round = 1; round <= io.rounds; round++)
      for (const o of roundOrder(open, round)) {
        checkAbort();
        io.step(`vm ${pathName(o.path)} round ${round}/${io.rounds}`);
        await measureVmRound(o, setup, round).then(
          (got) => rounds.get(o)?.push(got),
          (err: unknown) => fail(pathName(o.path), `round ${round}`, err),
        );
      }
    for (const o of open) {
      checkAbort();
      io.step(`vm foreign ${pathName(o.path)}`);
      const done = rounds.get(o) ?? [];
      if (done.length === 0) continue;
      await finishVmPath(o, setup, done).then(
        (row) => rows.push(row),
        (err: unknown) => fail(pathName(o.path), 'foreign traffic', err),
      );
    }
  } finally {
    for (const o of open) await closeVmPath(o).catch(() => undefined);
    await labDownAll();
  }
  const note =
    `A real QEMU guest (${accel === 'tcg' ? 'plain emulation, tcg' : 'kvm'}) per path, booted once and measured ` +
    `in ${io.rounds} rounds, the paths in alternating order; rows compare with each other only: the guest runs at ` +
    "the emulator's speed, not the host's." +
    (failed.size ? ` Failed: ${[...failed].join(', ')} (see Failures).` : '');
  return { status: failed.size ? 'failed' : 'ok', accel, note, rows };
}
