// The queues section of the report: tapyard forward --queues N on the macvtap path, N = 1, 2,
// ... as far as this machine has cores. 64-byte frames of 16 UDP flows at full offered load
// (tygen --flows: the macvtap spreads them over its queues by the flow hash), counted by tysink
// in the guest. Nothing is pinned: the queues' threads need the cores, and so do the generator
// and the guest's stack, which on a small machine is the whole story (the note says so).

import { TapyardError } from '../../src/error.js';
import { baselineBin, tapyardUnavailable } from '../datapath/forwarders.js';
import { hasCarrier, inNs, type Lab, labDown, labUp, need, repoRoot } from '../datapath/lab.js';
import { lastJson, run as runTool, sleep, start, tail } from '../datapath/process.js';
import type { QueuesRow, QueuesSection } from '../datapath/report-schema.js';

export const QUEUE_FLOWS = 16;

/** 1, 2, 4, ... up to the cores there are, and always 1 and 2 (2 shows what one more thread costs). */
export function queueCounts(cores: number): number[] {
  const counts = [1, 2];
  for (let n = 4; n <= cores; n *= 2) counts.push(n);
  return counts;
}

export const queueSteps = (cores: number): string[] => queueCounts(cores).map((n) => `queues ${n}`);

export interface QueuesIo {
  cores: number;
  seconds: number;
  signal: AbortSignal;
  step: (label: string) => void;
  failures: string[];
}

export async function measureQueuesSection(io: QueuesIo): Promise<QueuesSection> {
  const counts = queueCounts(io.cores);
  const unavailable = tapyardUnavailable();
  if (unavailable !== null) {
    for (const n of counts) io.step(`queues ${n} (skipped)`);
    return { status: 'skipped', cores: io.cores, flows: QUEUE_FLOWS, note: `No queue rows: ${unavailable}.`, rows: [] };
  }
  const rows: QueuesRow[] = [];
  let lab: Lab | null = null;
  try {
    lab = await labUp('macvtap', ['--mq']);
    for (const n of counts) {
      if (io.signal.aborted) throw new TapyardError('EINTR', 'bench: interrupted; the labs were taken down');
      io.step(`queues ${n}`);
      try {
        rows.push(await measureQueues(lab, n, io.seconds));
      } catch (err) {
        if (io.signal.aborted) throw err;
        io.failures.push(`queues ${n}: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
  } finally {
    if (lab !== null) await labDown(lab);
  }
  const spare = io.cores - 1; // one core at least goes to the generator
  const note =
    `tapyard forward --queues N on the macvtap path, ${QUEUE_FLOWS} UDP flows of 64-byte frames at full offered ` +
    `load, one run each. This machine has ${io.cores} core${io.cores === 1 ? '' : 's'}: ` +
    (spare >= counts.at(-1)!
      ? 'every queue had a core of its own beside the generator.'
      : `the generator, the guest's stack and the ${counts.at(-1)} queue threads share them, so this table ` +
        'shows what the threads cost here, not how tapyard scales where the cores exist.');
  return {
    status: rows.length === counts.length ? 'ok' : 'failed',
    cores: io.cores,
    flows: QUEUE_FLOWS,
    note,
    rows,
  };
}

async function measureQueues(lab: Lab, queues: number, seconds: number): Promise<QueuesRow> {
  const [nsHv, nsGst, nsExt] = [need(lab, 'NS_HV'), need(lab, 'NS_GST'), need(lab, 'NS_EXT')];
  const guestIf = need(lab, 'GUEST_IF');
  const fwd = start(
    inNs(nsHv, [
      process.execPath,
      `${repoRoot()}/dist/src/cli/main.js`,
      'forward',
      '--queues',
      String(queues),
      '--port',
      `wire=macvtap:${need(lab, 'WIRE_IF')}`,
      '--port',
      `guest=tap:${guestIf},netns=${nsGst},mq`,
      '--json',
    ]),
    `tapyard forward --queues ${queues}`,
  );
  try {
    const deadline = Date.now() + 15_000;
    while (!/forwarding/.test(fwd.stderr) || !(await hasCarrier(nsGst, guestIf))) {
      if (!fwd.running) throw new TapyardError('BENCH_TOOL', `${fwd.label} exited at start: ${tail(fwd.stderr)}`);
      if (Date.now() > deadline) throw new TapyardError('BENCH_TOOL', `${fwd.label} did not start within 15 s`);
      await sleep(20);
    }
    const sink = start(
      inNs(nsGst, [baselineBin('tysink'), '--if', guestIf, '--ethertype', '0x0800', '--json']),
      'tysink',
    );
    let delivered: number;
    let gen: Record<string, unknown>;
    try {
      await sink.waitFor(/ready/, 5_000);
      const argv = [baselineBin('tygen'), '--if', need(lab, 'EXT_IF'), '--dst', need(lab, 'GUEST_MAC')];
      const flags = ['--size', '60', '--flows', String(QUEUE_FLOWS), '--seconds', String(seconds), '--json'];
      gen = lastJson((await runTool(inNs(nsExt, [...argv, ...flags]), (seconds + 30) * 1000, 'tygen')).stdout, 'tygen');
      await sleep(100); // frames still in a queue land before the count is read
      delivered = Number(lastJson((await sink.stop('SIGINT')).stdout, 'tysink').received);
    } finally {
      await sink.stop('SIGINT');
    }
    const end = await fwd.stop('SIGINT', 10_000);
    if (end.code !== 0)
      throw new TapyardError('BENCH_TOOL', `${fwd.label} exited with ${end.code}: ${tail(end.stderr)}`);
    const report = lastJson(end.stdout, fwd.label) as {
      balanced: boolean;
      ports: { name: string; rxFrames: number }[];
      queues?: { ports: { name: string; rxFrames: number }[] }[];
    };
    const wireRx = (ports: { name: string; rxFrames: number }[]) => ports.find((p) => p.name === 'wire')?.rxFrames ?? 0;
    const perQueue = report.queues?.map((q) => wireRx(q.ports)) ?? [wireRx(report.ports)];
    const total = perQueue.reduce((a, b) => a + b, 0);
    const durationS = Number(gen.seconds);
    const sent = Number(gen.sent);
    return {
      queues,
      durationS,
      sentFrames: sent,
      deliveredFrames: delivered,
      sentPerSecond: sent / durationS,
      deliveredPerSecond: delivered / durationS,
      lossFraction: sent > 0 ? Math.max(0, 1 - delivered / sent) : 0,
      queueShares: perQueue.map((n) => (total > 0 ? n / total : 0)),
      ledgerBalanced: report.balanced,
    };
  } finally {
    await fwd.stop('SIGINT', 10_000);
  }
}
