// The two forwarders under test, started the same way: inside the lab's hypervisor namespace,
// wire port on the macvtap (or the bridge's tap), guest port on the guest's tap through its
// namespace, stopped with SIGINT, final counters read from one JSON object on stdout.

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { TapyardError } from '../../src/error.js';
import { processCpuNs } from './cpu.js';
import { hasCarrier, inNs, type Lab, need, repoRoot } from './lab.js';
import { lastJson, type Proc, sleep, start, tail } from './process.js';
import type { Forwarder, ForwarderCounters } from './report-schema.js';

export const baselineBin = (tool: string): string => join(repoRoot(), 'bench/baseline/bin', tool);

const TAPYARD_MAIN = 'dist/src/cli/main.js';
const TAPYARD_FORWARD = 'dist/src/cli/forward.js';

/** Why the tapyard forwarder cannot be measured here, or null when it can. */
export function tapyardUnavailable(): string | null {
  const root = repoRoot();
  if (!existsSync(join(root, 'src/cli/forward.ts')))
    return 'tapyard forward does not exist yet (src/cli/forward.ts); the C loop and the kernel paths were measured';
  if (!existsSync(join(root, TAPYARD_FORWARD)) || !existsSync(join(root, TAPYARD_MAIN)))
    return `tapyard is not built (${TAPYARD_MAIN} or ${TAPYARD_FORWARD} missing): run npm run build`;
  return null;
}

export interface RunningForwarder {
  kind: Forwarder;
  pid: number;
  cpuNs(): number;
  /** SIGINT, wait, parse the final counters. */
  stop(): Promise<ForwarderCounters>;
}

export interface ForwarderStart {
  offload: boolean;
  /** Pin to this CPU (packet-rate runs put the generator elsewhere). */
  cpu?: number;
}

/** The forwarder's command line: the same ports for both, in the shape tapyard forward takes. */
function command(kind: Forwarder, lab: Lab, opts: ForwarderStart): string[] {
  const wireKind = need(lab, 'WIRE_KIND');
  const ports = [
    '--port',
    `wire=${wireKind}:${need(lab, 'WIRE_IF')}`,
    '--port',
    `guest=tap:${need(lab, 'GUEST_IF')},netns=${need(lab, 'NS_GST')}`,
  ];
  const flags = [...(opts.offload ? ['--offload'] : []), '--json'];
  const program = kind === 'c' ? [baselineBin('tyfwd')] : [process.execPath, join(repoRoot(), TAPYARD_MAIN), 'forward'];
  const pin = opts.cpu === undefined ? [] : ['taskset', '-c', String(opts.cpu)];
  // ip netns exec and taskset both exec(): the pid we spawn is the forwarder's own.
  return inNs(need(lab, 'NS_HV'), [...pin, ...program, ...ports, ...flags]);
}

export async function startForwarder(kind: Forwarder, lab: Lab, opts: ForwarderStart): Promise<RunningForwarder> {
  const label = `${kind === 'c' ? 'tyfwd' : 'tapyard forward'} (${lab.kind}${opts.offload ? ', offload' : ''})`;
  const proc = start(command(kind, lab, opts), label);
  await waitAttached(proc, lab);
  return {
    kind,
    pid: proc.pid,
    cpuNs: () => processCpuNs(proc.pid),
    stop: async () => {
      const end = await proc.stop('SIGINT', 10_000);
      if (end.code !== 0)
        throw new TapyardError('BENCH_TOOL', `${label} exited with ${end.code ?? end.signal}: ${tail(end.stderr)}`);
      return normalize(kind, lastJson(end.stdout, label));
    },
  };
}

/**
 * Attached = both taps have carrier (a persistent tap gets it when an fd attaches). That is
 * forwarder-agnostic and sends no frame, so the counters start at what the test sends.
 */
async function waitAttached(proc: Proc, lab: Lab): Promise<void> {
  const deadline = Date.now() + 15_000;
  const taps: [string, string][] = [[need(lab, 'NS_GST'), need(lab, 'GUEST_IF')]];
  if (need(lab, 'WIRE_KIND') === 'tap') taps.push([need(lab, 'NS_HV'), need(lab, 'WIRE_IF')]);
  for (;;) {
    if (!proc.running) throw new TapyardError('BENCH_TOOL', `${proc.label} exited at start: ${tail(proc.stderr)}`);
    const up = await Promise.all(taps.map(([ns, i]) => hasCarrier(ns, i)));
    // Carrier comes with the attach; the loop starts right after. A line on stderr from
    // either forwarder says it is running; give it that, or a moment.
    if (up.every(Boolean) && (/ready|forwarding/.test(proc.stderr + proc.stdout) || Date.now() > deadline - 10_000))
      return;
    if (Date.now() > deadline) throw new TapyardError('BENCH_TOOL', `${proc.label} did not attach within 15 s`);
    await sleep(20);
  }
}

const n = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);

/** Both forwarders' final JSON, in one shape. rx counts frames plus clones (tapyard's hub makes copies). */
export function normalize(kind: Forwarder, raw: Record<string, unknown>): ForwarderCounters {
  if (kind === 'c') {
    const ports = raw.ports as Record<string, { rx: number }>;
    const drops = Object.entries((raw.drops ?? {}) as Record<string, number>).map(([k, v]) => [k, n(v)]);
    return {
      rxFrames: n(raw.rx),
      txFrames: n(raw.tx),
      droppedFrames: n(raw.dropped),
      dropsFrames: Object.fromEntries(drops),
      wireRxFrames: n(ports.wire?.rx),
      guestRxFrames: n(ports.guest?.rx),
      raw,
    };
  }
  const ledger = (raw.ledger ?? {}) as Record<string, number>;
  const ports = (raw.ports ?? []) as Array<{ name: string; rxFrames: number; drops: Record<string, number> }>;
  const drops: Record<string, number> = {};
  for (const p of ports)
    for (const [reason, count] of Object.entries(p.drops ?? {})) drops[`${p.name}:${reason}`] = n(count);
  // Frames still in a tx queue when the loop stopped were neither sent nor dropped by a rule;
  // they are reported as their own named drop so the ledger still closes.
  if (n(ledger.queued) > 0) drops.queued_at_exit = n(ledger.queued);
  return {
    rxFrames: n(ledger.rx) + n(ledger.clones),
    txFrames: n(ledger.tx),
    droppedFrames: n(ledger.drops) + n(ledger.queued),
    dropsFrames: drops,
    wireRxFrames: n(ports.find((p) => p.name === 'wire')?.rxFrames),
    guestRxFrames: n(ports.find((p) => p.name === 'guest')?.rxFrames),
    raw,
  };
}
