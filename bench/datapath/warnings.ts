// What a reader should know before trusting a figure: noise on a shared machine, runs with
// no spread to judge it by, counters that do not add up, paths that were not measured.

import type { ForwarderCounters, Report, Summary } from './report-schema.js';
import { WIDE_SPREAD } from './stats.js';

const pct = (x: number) => `${Math.round(x * 100)}%`;
const loadName = (f: number | null) => (f === null ? 'idle' : `at ${f * 100}% load`);

/** "macvtap/c 64 B 90% (0.16–1.0)" when the rounds of a figure spread wide, else null. */
function spread(what: string, s: Summary | null, fmt: (x: number) => string): string | null {
  if (!s || s.n < 2 || s.spread <= WIDE_SPREAD) return null;
  return `${what} ${pct(s.spread)} (${fmt(s.min)}–${fmt(s.max)})`;
}

/** One warning per measurement, listing its figures whose rounds spread wide. */
function spreadWarning(measurement: string, figures: (string | null)[]): string | null {
  const wide = figures.filter((f): f is string => f !== null);
  if (wide.length === 0) return null;
  return (
    `${measurement}: rounds spread more than ${pct(WIDE_SPREAD)} for ${wide.length} of ${figures.length} ` +
    `figures — ${wide.join('; ')}. The machine is shared and noisy: compare paths within this run only`
  );
}

/** rx = tx + drops for a forwarder's final counters. */
export const conserved = (c: ForwarderCounters): boolean => c.rxFrames === c.txFrames + c.droppedFrames;

export function collectWarnings(r: Report): string[] {
  const w: string[] = [];
  const m = r.machine;
  if (m.hostBusyCoresAtStart > 0.25)
    w.push(
      `the host was already ${m.hostBusyCoresAtStart.toFixed(2)} cores busy before the run started ` +
        '(other tenants): CPU figures include their noise',
    );
  if (m.otherLabNamespacesAtStart > 0)
    w.push(
      `${m.otherLabNamespacesAtStart} other ty-* namespaces existed at the start: ` +
        'someone else may be running traffic on this machine',
    );
  if (m.cpus < 2) w.push('fewer than 2 CPUs: generator and forwarder share a core in packet-rate runs');
  if (r.options.rounds < 6)
    w.push(
      `${r.options.rounds} round${r.options.rounds === 1 ? '' : 's'}: too few for a 95 % interval of a paired ` +
        'ratio (six at least): comparisons give a direction only (run without --quick for 10)',
    );
  for (const p of r.paths) if (p.status === 'skipped') w.push(`${p.id} was not measured: ${p.note}`);

  const gbit = (x: number) => `${(x / 1e9).toFixed(2)}`;
  const mfps = (x: number) => `${(x / 1e6).toFixed(3)}`;
  const us = (x: number) => `${(x / 1e3).toFixed(0)}`;
  const found = [
    spreadWarning(
      'TCP (Gbit/s)',
      r.tcp.map((t) =>
        spread(
          `${t.path}${t.offload === null ? '' : t.offload ? ' offload on' : ' offload off'} ${t.direction}`,
          t.bitsPerSecond,
          gbit,
        ),
      ),
    ),
    spreadWarning(
      'no-drop rate (M frames/s)',
      r.ndr.map((x) => spread(`${x.path} ${x.frameSize}`, x.ndrPerSecond, mfps)),
    ),
    spreadWarning('latency (µs)', [
      ...r.latency.map((l) => spread(`${l.path} ${loadName(l.loadFraction)} p50`, l.p50Ns, us)),
      ...r.latency.map((l) => spread(`${l.path} ${loadName(l.loadFraction)} p99`, l.p99Ns, us)),
    ]),
  ];
  for (const f of found) if (f) w.push(f);
  const idleWindows = r.foreign.flatMap((f) => f.samples.map((s) => s.hostIdleCores));
  const busyIdle = idleWindows.filter((c) => c > 0.3).length;
  if (busyIdle > 0)
    w.push(
      `other work kept the host more than 0.3 cores busy in ${busyIdle} of ${idleWindows.length} idle windows ` +
        'of the foreign-traffic runs: the host-wide extra CPU there is unreliable; the generator + forwarder CPU ' +
        '(schedstat) is not affected',
    );

  for (const x of r.rate)
    for (const s of x.samples)
      if (s.generatorSendErrors > 0)
        w.push(`packet rate ${x.path} ${x.frameSize} round ${s.round}: ${s.generatorSendErrors} failed sends`);
  for (const n of r.ndr)
    for (const s of n.samples)
      if (s.ndrPerSecond === 0)
        w.push(
          `no-drop rate ${n.path} ${n.frameSize} round ${s.round}: ` +
            'no load passed (loss above the tolerance at every rate)',
        );
  const all = [...r.tcp, ...r.rate, ...r.ndr, ...r.latency, ...r.foreign].flatMap((x) =>
    x.samples.map((s) => ({ path: x.path, s })),
  );
  for (const { path, s } of all)
    if (s.forwarder && !conserved(s.forwarder))
      w.push(
        `${path} round ${s.round}: forwarder counters do not add up (rx ${s.forwarder.rxFrames} != ` +
          `tx ${s.forwarder.txFrames} + drops ${s.forwarder.droppedFrames})`,
      );
  return w;
}
