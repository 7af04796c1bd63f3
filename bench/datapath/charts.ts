// The report's pictures, one SVG per question: how fast (TCP, packets), how long (latency),
// at what CPU cost per frame, and what other machines' traffic costs (the seed experiment).

import type { Report } from './report-schema.js';
import { percentile } from './stats.js';
import { type BarRow, barChart, lineChart, stripChart } from './svg.js';

const gbit = (v: number) => v.toFixed(1);
const mfps = (v: number) => (v >= 1 ? v.toFixed(2) : v.toFixed(3).replace(/0$/, ''));
const dir = (d: string) => (d === 'ext-to-guest' ? 'ext → guest' : 'guest → ext');

function runLine(r: Report): string {
  const reps = `${r.options.reps} repetition${r.options.reps === 1 ? '' : 's'}`;
  return `${r.machine.cpus} vCPU, kernel ${r.machine.kernel}, ${reps}, ${r.startedAt.slice(0, 16).replace('T', ' ')} UTC`;
}

const BARS = 'bars: median over the repetitions, whiskers: min–max';

export function throughputChart(r: Report): string {
  const rows: BarRow[] = [];
  for (const path of r.paths.filter((p) => p.status !== 'skipped').map((p) => p.id)) {
    for (const offload of [null, false, true]) {
      const results = r.tcp.filter((t) => t.path === path && t.offload === offload);
      if (results.length === 0) continue;
      rows.push({
        label: path,
        sublabel: offload === null ? 'kernel only' : offload ? 'offloads on' : 'offloads off',
        bars: ['ext-to-guest', 'guest-to-ext'].flatMap((d, series) => {
          const s = results.find((t) => t.direction === d)?.summary;
          return s ? [{ series, value: s.median / 1e9, min: s.min / 1e9, max: s.max / 1e9 }] : [];
        }),
      });
    }
  }
  return barChart({
    title: 'TCP throughput per path (iperf3, one stream)',
    subtitle: [runLine(r), `${BARS}; forwarder paths with offloads off (plain frames) and on (GSO passed through)`],
    axis: 'Gbit/s',
    series: [dir('ext-to-guest'), dir('guest-to-ext')],
    rows,
    format: gbit,
  });
}

export function packetRateChart(r: Report): string {
  const sizes = r.options.frameSizes;
  const rows: BarRow[] = [];
  for (const path of r.paths.filter((p) => p.status !== 'skipped').map((p) => p.id)) {
    const results = r.rate.filter((x) => x.path === path);
    if (results.length === 0) continue;
    rows.push({
      label: path,
      bars: sizes.flatMap((size, series) => {
        const res = results.find((x) => x.frameSize === size);
        if (!res?.summary) return [];
        const s = res.summary;
        const loss = percentile(
          res.samples.map((x) => x.loss),
          50,
        );
        const note = `${mfps(s.median / 1e6)}${loss > 0.01 ? `  (loss ${(loss * 100).toFixed(0)}%)` : ''}`;
        return [{ series, value: s.median / 1e6, min: s.min / 1e6, max: s.max / 1e6, note }];
      }),
    });
  }
  return barChart({
    title: 'Packet rate delivered to the guest, external → guest',
    subtitle: [runLine(r), `${BARS}; generator and forwarder pinned to separate cores`],
    axis: 'million frames per second delivered (counted in the guest)',
    series: sizes.map((s) => `${s + 4}-byte frames`),
    rows,
    format: mfps,
  });
}

export function latencyChart(r: Report): string {
  const us = (ns: number) => ns / 1e3;
  const rows = r.latency
    .filter((l) => l.samples.length > 0)
    .map((l) => {
      const all = l.samples.flatMap((s) => s.rttNs);
      const p = (q: number) => us(percentile(all, q));
      return {
        label: l.path,
        p1: p(1),
        p25: p(25),
        p50: p(50),
        p75: p(75),
        p90: p(90),
        p99: p(99),
        note: `p50 ${p(50).toFixed(0)} · p99 ${p(99).toFixed(0)} µs`,
      };
    });
  return stripChart({
    title: 'Round-trip latency distribution (UDP ping-pong, external ↔ guest)',
    subtitle: [runLine(r), 'all round trips pooled: whiskers p1–p99, box p25–p75, bold line p50, dashed line p90'],
    axis: 'round trip, µs (log scale)',
    rows,
  });
}

export function cpuPerFrameChart(r: Report): string {
  const size = r.options.frameSizes[0] ?? 60;
  const rows: BarRow[] = r.rate
    .filter((x) => x.frameSize === size && x.samples.length > 0)
    .map((x) => {
      const fwd = x.samples.map((s) => s.forwarderNsPerFrame).filter((v): v is number => v !== null);
      const host = x.samples.map((s) => s.hostNsPerFrame);
      const bars = [];
      if (fwd.length)
        bars.push({ series: 0, value: percentile(fwd, 50), min: Math.min(...fwd), max: Math.max(...fwd) });
      bars.push({ series: 1, value: percentile(host, 50), min: Math.min(...host), max: Math.max(...host) });
      return { label: x.path, bars };
    });
  return barChart({
    title: `CPU per frame at full packet rate (${size + 4}-byte frames)`,
    subtitle: [runLine(r), `${BARS}; forwarder from schedstat, whole host from idle time (generator included)`],
    axis: 'CPU nanoseconds per delivered frame',
    series: ['forwarder process', 'whole host'],
    rows,
    format: (v) => v.toFixed(0),
  });
}

export function foreignChart(r: Report): string {
  const keys = [...new Set(r.foreign.map((f) => `${f.path}${f.floodOff ? ' (flood off)' : ''}`))];
  const lines = keys.map((name) => ({
    name,
    dashed: name.endsWith('(flood off)'),
    points: r.foreign
      .filter((f) => `${f.path}${f.floodOff ? ' (flood off)' : ''}` === name && f.labCores)
      .map((f) => ({ x: f.rate / 1000, y: f.labCores!.median, min: f.labCores!.min, max: f.labCores!.max }))
      // No foreign traffic: no generator, and an idle forwarder sleeping in poll().
      .concat([{ x: 0, y: 0, min: 0, max: 0 }]),
  }));
  return lineChart({
    title: "Other machines' traffic: CPU it costs while the guest is idle",
    subtitle: [
      runLine(r),
      'frames to a MAC nobody owns; CPU of generator (its core runs the receive path) + forwarder, from schedstat',
      'the sending part is the same on every path: the gaps between lines are the receiving cost; points: median, whiskers: min–max',
    ],
    xAxis: 'foreign frames per second (thousands)',
    yAxis: 'CPU (cores)',
    lines,
    formatX: (v) => `${v}k`,
    formatY: (v) => v.toFixed(2),
  });
}

export function allCharts(r: Report): Record<string, string> {
  const charts: Record<string, string> = {};
  if (r.tcp.length) charts['throughput.svg'] = throughputChart(r);
  if (r.rate.length) {
    charts['packet-rate.svg'] = packetRateChart(r);
    charts['cpu-per-frame.svg'] = cpuPerFrameChart(r);
  }
  if (r.latency.length) charts['latency.svg'] = latencyChart(r);
  if (r.foreign.length) charts['foreign-traffic.svg'] = foreignChart(r);
  return charts;
}
