// The report's pictures, one SVG per question: how fast (TCP, no-drop rate), how long
// (latency idle and under load), at what CPU cost per frame, and what other machines' traffic
// costs (the seed experiment). Each chart computes the statistic its table shows.

import { FIXED_RATE_PER_SECOND } from './rate.js';
import { SIZE_NAME } from './ratios.js';
import type { Report } from './report-schema.js';
import { percentile } from './stats.js';
import { type BarRow, barChart, stripChart } from './svg.js';

const gbit = (v: number) => v.toFixed(1);
const mfps = (v: number) => (v >= 1 ? v.toFixed(2) : v.toFixed(3).replace(/0$/, ''));
const dir = (d: string) => (d === 'ext-to-guest' ? 'ext → guest' : 'guest → ext');

function runLine(r: Report): string {
  const followed = r.ratios.some((x) => x.followUpPairs > 0) ? '; more where a goal row got follow-up rounds' : '';
  const reps =
    `${r.options.rounds} paired round${r.options.rounds === 1 ? '' : 's'} ` +
    `(kernel-only paths ${Math.min(r.options.referenceRounds, r.options.rounds)}${followed})`;
  const at = r.startedAt.slice(0, 16).replace('T', ' ');
  return `${r.machine.cpus} vCPU (shared), kernel ${r.machine.kernel}, ${reps}, ${at} UTC`;
}

const BARS = 'bars: median over the rounds, whiskers: min–max';
const measured = (r: Report) => r.paths.filter((p) => p.status !== 'skipped');

export function throughputChart(r: Report): string {
  const rows: BarRow[] = [];
  for (const p of measured(r)) {
    for (const offload of [null, false, true]) {
      const results = r.tcp.filter((t) => t.path === p.id && t.offload === offload);
      if (results.length === 0) continue;
      rows.push({
        label: p.id,
        sublabel: offload === null ? 'kernel only, offloads on' : offload ? 'offloads on' : 'offloads off',
        bars: ['ext-to-guest', 'guest-to-ext'].flatMap((d, series) => {
          const s = results.find((t) => t.direction === d)?.bitsPerSecond;
          return s ? [{ series, value: s.median / 1e9, min: s.min / 1e9, max: s.max / 1e9 }] : [];
        }),
      });
    }
  }
  return barChart({
    title: 'TCP throughput per path (iperf3, one stream)',
    subtitle: [runLine(r), `${BARS}; forwarders with offloads off (plain frames) and on (GSO passed through)`],
    axis: 'Gbit/s',
    series: [dir('ext-to-guest'), dir('guest-to-ext')],
    rows,
    format: gbit,
  });
}

export function packetRateChart(r: Report): string {
  const sizes = r.options.frameSizes;
  const rows: BarRow[] = measured(r).flatMap((p) => {
    const bars = sizes.flatMap((size, series) => {
      const s = r.ndr.find((x) => x.path === p.id && x.frameSize === size)?.ndrPerSecond;
      return s ? [{ series, value: s.median / 1e6, min: s.min / 1e6, max: s.max / 1e6 }] : [];
    });
    return bars.length ? [{ label: p.id, ...(p.forwarder ? {} : { sublabel: 'kernel only' }), bars }] : [];
  });
  return barChart({
    title: 'No-drop rate, external → guest (highest offered rate with at most 0.1 % loss)',
    subtitle: [runLine(r), `${BARS}; generator and forwarder pinned to separate cores`],
    axis: 'million frames per second (counted in the guest)',
    series: sizes.map((s) => (s === 'imix' ? 'IMIX (7:4:1 of 64/594/1518)' : `${SIZE_NAME[s]} frames`)),
    rows,
    format: mfps,
  });
}

export function latencyChart(r: Report): string {
  const ids = measured(r).map((p) => p.id);
  const rows = r.latency
    .filter((l) => l.pooled !== null)
    .map((l) => {
      const p = l.pooled!;
      return {
        label: l.path,
        sublabel: l.loadFraction === null ? 'idle' : `${l.loadFraction * 100} % load`,
        p50: p.p50Ns / 1e3,
        p99: p.p99Ns / 1e3,
        p999: p.p999Ns / 1e3,
        note: `${(p.p50Ns / 1e3).toFixed(0)} / ${(p.p99Ns / 1e3).toFixed(0)} / ${(p.p999Ns / 1e3).toFixed(0)}`,
      };
    });
  return stripChart({
    title: 'Round-trip latency, idle and under 64-byte load (UDP ping-pong, external ↔ guest)',
    subtitle: [
      runLine(r),
      'round trips of all rounds pooled (as in the table): dot p50, thick tick p99, thin tick p99.9;',
      'labels: p50 / p99 / p99.9 µs; load: a share of the lab’s lower 64-byte PDR (the same rate for',
      'tapyard and C); idle: probes, echo servers and forwarders on one core (no cross-core wake-ups);',
      'loaded: the forwarder and the load pinned to a core each',
    ],
    axis: 'round trip, µs (log scale)',
    rows,
    colorOf: (row) => Math.max(0, ids.indexOf(row.label)),
  });
}

export function cpuPerFrameChart(r: Report): string {
  const rows: BarRow[] = r.rate
    .filter((x) => x.frameSize === '64' && x.samples.length > 0)
    .map((x) => {
      const fwd = x.samples.map((s) => s.forwarderNsPerFrame).filter((v): v is number => v !== null);
      const fixed = x.samples.flatMap((s) => s.fixedRate?.forwarderNsPerFrame ?? []);
      const host = x.samples.map((s) => s.hostNsPerFrame);
      const bars = [];
      if (fwd.length)
        bars.push({ series: 0, value: percentile(fwd, 50), min: Math.min(...fwd), max: Math.max(...fwd) });
      if (fixed.length)
        bars.push({ series: 1, value: percentile(fixed, 50), min: Math.min(...fixed), max: Math.max(...fixed) });
      bars.push({ series: 2, value: percentile(host, 50), min: Math.min(...host), max: Math.max(...host) });
      const kernel = r.paths.find((p) => p.id === x.path)?.forwarder === null;
      return { label: x.path, ...(kernel ? { sublabel: 'kernel only' } : {}), bars };
    });
  return barChart({
    title: 'CPU per frame (64-byte frames)',
    subtitle: [runLine(r), `${BARS}; forwarder from schedstat, host from idle time (generator included)`],
    axis: 'CPU nanoseconds per delivered frame',
    series: [
      'forwarder, full load',
      `forwarder at ${FIXED_RATE_PER_SECOND / 1000} k frames/s`,
      'whole host, full load',
    ],
    rows,
    format: (v) => v.toFixed(0),
  });
}

/** Bars per rate: what each path's lab spends on the flood, with the flood-off mitigation beside it. */
export function foreignChart(r: Report): string {
  const rates = [...new Set(r.foreign.map((f) => f.offeredPerSecond))].sort((a, b) => a - b);
  const keys = [...new Set(r.foreign.map((f) => `${f.path}|${f.floodOff}`))];
  const rows: BarRow[] = keys.map((key) => {
    const [path, off] = key.split('|') as [string, string];
    const kernel = r.paths.find((p) => p.id === path)?.forwarder === null;
    const sub = [kernel ? 'kernel only' : '', off === 'true' ? 'flood off' : ''].filter(Boolean).join(', ');
    return {
      label: path,
      ...(sub ? { sublabel: sub } : {}),
      bars: rates.flatMap((rate, series) => {
        const s = r.foreign.find((f) => `${f.path}|${f.floodOff}` === key && f.offeredPerSecond === rate)?.labCores;
        return s ? [{ series, value: s.median, min: s.min, max: s.max }] : [];
      }),
    };
  });
  return barChart({
    title: "Other machines' traffic: the CPU it costs while the guest is idle",
    subtitle: [
      runLine(r),
      'frames to a MAC nobody owns; CPU of generator (its core runs the receive path) + forwarder, from schedstat;',
      `the sending part is the same on every path, so the differences are the receiving cost; ${BARS}`,
    ],
    axis: 'CPU (cores) during the flood',
    series: rates.map((x) => `${x / 1000}k foreign frames/s`),
    rows,
    format: (v) => v.toFixed(2),
  });
}

export function allCharts(r: Report): Record<string, string> {
  const charts: Record<string, string> = {};
  if (r.tcp.length) charts['throughput.svg'] = throughputChart(r);
  if (r.ndr.length) {
    charts['packet-rate.svg'] = packetRateChart(r);
    charts['cpu-per-frame.svg'] = cpuPerFrameChart(r);
  }
  if (r.latency.some((l) => l.pooled)) charts['latency.svg'] = latencyChart(r);
  if (r.foreign.length) charts['foreign-traffic.svg'] = foreignChart(r);
  return charts;
}
