// report.md and the console summary: the same tables, medians with their min-max range.

import { FOREIGN_MECHANISM } from './foreign.js';
import type { Report, Summary } from './report-schema.js';
import { percentile } from './stats.js';

function table(head: string[], rows: string[][], align: ('l' | 'r')[] = []): string {
  const sep = head.map((_, i) => (align[i] === 'l' || (align[i] === undefined && i === 0) ? ':---' : '---:'));
  return [head, sep, ...rows].map((r) => `| ${r.join(' | ')} |`).join('\n');
}

const fmt = (s: Summary | null | undefined, scale: number, digits: number, range = true): string => {
  if (!s) return '—';
  const m = (s.median / scale).toFixed(digits);
  return range && s.n > 1 ? `${m} (${(s.min / scale).toFixed(digits)}–${(s.max / scale).toFixed(digits)})` : m;
};

/** The path-by-path table: throughput, packet rate, latency, CPU per frame. */
export function summaryTable(r: Report, range = true): string {
  const rows = r.paths.map((p) => {
    if (p.status === 'skipped') return [p.id, ...Array(9).fill('skipped')];
    const tcp = (offload: boolean | null, d: string) =>
      r.tcp.find((t) => t.path === p.id && t.offload === offload && t.direction === d)?.summary;
    const tcpCell = (d: string) =>
      p.forwarder === null
        ? fmt(tcp(null, d), 1e9, 2, range)
        : `${fmt(tcp(false, d), 1e9, 2, range)} / ${fmt(tcp(true, d), 1e9, 2, range)}`;
    const rate = (size: number) => r.rate.find((x) => x.path === p.id && x.frameSize === size);
    const lat = r.latency.find((l) => l.path === p.id);
    const small = rate(r.options.frameSizes[0] ?? 60);
    const perFrame = (pick: (s: NonNullable<typeof small>['samples'][number]) => number | null) => {
      const v = (small?.samples ?? []).map(pick).filter((x): x is number => x !== null);
      return v.length ? percentile(v, 50).toFixed(0) : '—';
    };
    return [
      p.id + (p.status === 'failed' ? ' ⚠' : ''),
      tcpCell('ext-to-guest'),
      tcpCell('guest-to-ext'),
      fmt(rate(60)?.summary, 1e6, 3, range),
      fmt(rate(1514)?.summary, 1e6, 3, range),
      fmt(lat?.p50, 1e3, 1, range),
      fmt(lat?.p99, 1e3, 1, range),
      perFrame((s) => s.forwarderNsPerFrame),
      perFrame((s) => s.hostNsPerFrame),
      lossCell(small),
    ];
  });
  return table(
    [
      'path',
      'TCP ext→guest Gbit/s',
      'TCP guest→ext Gbit/s',
      '64 B Mfps',
      '1518 B Mfps',
      'RTT p50 µs',
      'RTT p99 µs',
      'fwd ns/frame',
      'host ns/frame',
      '64 B loss',
    ],
    rows,
  );
}

function lossCell(x: { samples: { loss: number }[] } | undefined): string {
  if (!x || x.samples.length === 0) return '—';
  return `${(
    percentile(
      x.samples.map((s) => s.loss),
      50,
    ) * 100
  ).toFixed(1)}%`;
}

/** Two decimals, or three when two would round onto the goal and hide which side it is on. */
function ratioText(ratio: number, goal: string): string {
  const target = /([0-9.]+)x$/.exec(goal)?.[1];
  const two = ratio.toFixed(2);
  return `${target !== undefined && Number(two) === Number(target) && ratio !== Number(target) ? ratio.toFixed(3) : two}x`;
}

export function ratioTable(r: Report): string {
  if (r.ratios.every((x) => x.tapyard === null))
    return '_No tapyard-to-C ratios: tapyard was not measured in this run (see Paths)._';
  const v = (metric: string, x: number | null) => {
    if (x === null) return '—';
    if (metric.startsWith('packet')) return `${(x / 1e6).toFixed(3)} Mfps`;
    if (metric.startsWith('TCP')) return `${(x / 1e9).toFixed(2)} Gbit/s`;
    if (metric.startsWith('forwarder CPU')) return `${x.toFixed(0)} ns`;
    return `${(x / 1e3).toFixed(1)} µs`;
  };
  return table(
    ['path', 'metric', 'tapyard', 'C loop', 'tapyard / C', 'goal', 'met'],
    r.ratios.map((x) => [
      x.path,
      x.metric,
      v(x.metric, x.tapyard),
      v(x.metric, x.c),
      x.ratio === null ? '—' : ratioText(x.ratio, x.goal),
      x.goal,
      x.met === null ? '—' : x.met ? 'yes' : 'no',
    ]),
    ['l', 'l'],
  );
}

export function foreignTable(r: Report): string {
  if (r.foreign.length === 0) return '_Not measured in this run._';
  const rates = [...new Set(r.foreign.map((f) => f.rate))].sort((a, b) => a - b);
  const keys = [...new Set(r.foreign.map((f) => `${f.path}|${f.floodOff}`))];
  const rows = keys.map((key) => {
    const [path, off] = key.split('|');
    const cells = rates.map((rate) => {
      const f = r.foreign.find((x) => x.path === path && String(x.floodOff) === off && x.rate === rate);
      if (!f?.labCores) return '—';
      const reached = f.samples.map(
        (s) => (s.forwarderWireRx === null ? s.guestIfRx : s.forwarderWireRx) / Math.max(1, s.offered),
      );
      const where = f.samples[0]?.forwarderWireRx === null ? 'guest' : 'fwd';
      return `${f.labCores.median.toFixed(2)} cores, ${(percentile(reached, 50) * 100).toFixed(0)}% to ${where}`;
    });
    return [`${path}${off === 'true' ? ' (flood off)' : ''}`, ...cells];
  });
  return table(['path', ...rates.map((x) => `${x / 1000}k foreign frames/s`)], rows);
}

/** The host-wide view of the seed experiment: exact, but it sees other tenants too. */
function hostExtraTable(r: Report): string {
  if (r.foreign.length === 0) return '';
  const rates = [...new Set(r.foreign.map((f) => f.rate))].sort((a, b) => a - b);
  const keys = [...new Set(r.foreign.map((f) => `${f.path}|${f.floodOff}`))];
  const rows = keys.map((key) => {
    const [path, off] = key.split('|');
    return [
      `${path}${off === 'true' ? ' (flood off)' : ''}`,
      ...rates.map((rate) =>
        fmt(
          r.foreign.find((x) => x.path === path && String(x.floodOff) === off && x.rate === rate)?.hostExtraCores,
          1,
          2,
        ),
      ),
    ];
  });
  return `Host-wide extra busy cores over the idle window (median, min–max):\n\n${table(['path', ...rates.map((x) => `${x / 1000}k/s`)], rows)}`;
}

export function consoleSummary(r: Report, outDir: string | null): string {
  const parts = [
    `tapyard bench — ${r.machine.cpus} vCPU, kernel ${r.machine.kernel}, ${r.options.reps} rep(s), ${r.seconds.toFixed(0)} s`,
    '',
    summaryTable(r, false),
    '',
    'TCP for forwarders: offloads off / on. Medians; min–max and every sample are in the report.',
    '',
    ratioTable(r),
    '',
    "Other machines' traffic, guest idle (CPU of generator + forwarder; share of the foreign frames reaching the forwarder or guest):",
    foreignTable(r),
  ];
  if (r.warnings.length) parts.push('', 'Warnings:', ...r.warnings.map((w) => `  - ${w}`));
  if (r.failures.length) parts.push('', 'Failures:', ...r.failures.map((f) => `  - ${f}`));
  if (outDir) parts.push('', `Report: ${outDir}/report.md (JSON: ${outDir}/report.json, charts: ${outDir}/*.svg)`);
  return parts.join('\n');
}

export function markdownReport(r: Report, charts: string[]): string {
  const m = r.machine;
  const nf =
    m.bridgeNfCallIptables === null ? 'br_netfilter not loaded' : `bridge-nf-call-iptables = ${m.bridgeNfCallIptables}`;
  const img = (name: string, alt: string) => (charts.includes(name) ? `![${alt}](${name})\n` : '');
  const micro =
    r.micro.status === 'ok'
      ? table(
          ['benchmark', 'frames/s', 'source'],
          r.micro.results.map((x) => [x.name, Math.round(x.framesPerSecond).toLocaleString('en-US'), x.source]),
          ['l', 'r', 'l'],
        )
      : `_${r.micro.status}: ${r.micro.note}_`;
  return [
    '# tapyard bench — bridge or macvtap?',
    '',
    `Run ${r.startedAt} (${r.seconds.toFixed(0)} s): \`${r.command.join(' ')}\`  `,
    `${m.hostname}: ${m.cpus} × ${m.cpuModel}, ${(m.memoryBytes / 2 ** 30).toFixed(0)} GiB, ${m.os}, kernel ${m.kernel}  `,
    `node ${m.node}, ${m.iperf3}, ${m.cc}, tapyard ${m.tapyardVersion} (${m.gitCommit}), TCP ${m.tcpCongestionControl}, ${nf}  `,
    `Host busy before the run: ${m.hostBusyCoresAtStart.toFixed(2)} cores; load average ${m.loadAverageAtStart.join(' ')}`,
    '',
    '## Paths',
    '',
    table(
      ['path', 'status', 'what a frame goes through'],
      r.paths.map((p) => [p.id, p.status, p.note]),
      ['l', 'l', 'l'],
    ),
    '',
    '## Results',
    '',
    `Medians over ${r.options.reps} repetition(s), min–max in brackets. TCP for the forwarder paths: offloads off / on. ` +
      'Packet rate is what the guest received, counted in the guest; CPU per frame is at full 64-byte rate.',
    '',
    summaryTable(r),
    '',
    img('throughput.svg', 'TCP throughput per path'),
    img('packet-rate.svg', 'packet rate per frame size'),
    img('latency.svg', 'latency distribution'),
    img('cpu-per-frame.svg', 'CPU per frame'),
    '## tapyard against the C loop',
    '',
    'Same path, same run. The goals are targets to report against, not pass/fail criteria.',
    '',
    ratioTable(r),
    '',
    "## Other machines' traffic (the seed experiment)",
    '',
    'The external namespace sends frames to a MAC that no lab interface owns, at fixed rates, while the guest is idle. ' +
      'Each cell: the CPU of the generator and the forwarder during the flood (schedstat: exact, and blind to other tenants; ' +
      "veth delivers in the sender's context, so the generator's core also runs the receiving host's kernel path — the sending part is the same on every path, " +
      'the differences are the cost of receiving), and the share of the frames that reached the forwarder (its wire-port counter) or, for kernel-only paths, ' +
      'the guest interface. "flood off" is `bridge link set dev TAP flood off` on the bridge port toward the guest. ' +
      'The host-wide extra busy time over an idle window is in report.json (`hostExtraCores`); other tenants make it noisy.',
    '',
    hostExtraTable(r),
    '',
    foreignTable(r),
    '',
    FOREIGN_MECHANISM,
    '',
    img('foreign-traffic.svg', 'extra host CPU from foreign traffic'),
    '## Micro benchmarks (per-frame TypeScript work, no syscalls)',
    '',
    micro,
    '',
    '## Warnings',
    '',
    r.warnings.length ? r.warnings.map((w) => `- ${w}`).join('\n') : '_None._',
    '',
    ...(r.failures.length ? ['## Failures', '', r.failures.map((f) => `- ${f}`).join('\n'), ''] : []),
    '## How this was measured',
    '',
    '- TCP: `iperf3 -c` from the external namespace to `iperf3 -s` in the guest (`-R` for guest → ext).',
    '- Packet rate: `tygen` (AF_PACKET, sendmmsg batches, PACKET_QDISC_BYPASS) pinned to one core, the forwarder to the other; ' +
      "`tysink` counts frames at the guest's protocol dispatch. Offered = frames the generator sent, delivered = frames the guest received.",
    '- Latency: `typing`, a UDP ping-pong, one round trip per millisecond; every sample is in report.json.',
    '- CPU: forwarder from /proc/PID/task/*/schedstat, host as cores − Δidle/Δt from /proc/stat (both exact).',
    '- Each measurement starts a fresh forwarder, so its counters (rx = tx + named drops) cover exactly that measurement.',
    '- See docs/benchmark.md for what limits these numbers.',
    '',
  ].join('\n');
}
