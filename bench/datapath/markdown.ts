// report.md and the console summary: the verdict first, then the same tables (Markdown pipes
// in the file, aligned columns on a terminal), medians with their min-max range or interval.

import { queuesTable } from '../queues/report.js';
import { vmTable } from '../vm/report.js';
import { FOREIGN_MECHANISM } from './foreign.js';
import { SIZE_NAME } from './ratios.js';
import type { Ratio, Report, Summary } from './report-schema.js';
import { percentile } from './stats.js';
import { markdownTable, type Table, textTable } from './table.js';

type Render = (t: Table) => string;

const fmt = (s: Summary | null | undefined, scale: number, digits: number, range = true): string => {
  if (!s) return '—';
  const m = (s.median / scale).toFixed(digits);
  return range && s.n > 1 ? `${m} (${(s.min / scale).toFixed(digits)}–${(s.max / scale).toFixed(digits)})` : m;
};

/** A median with its 95 % interval where the rounds give one ("0.801 [0.772–0.830]"), else its min–max. */
const withInterval = (s: Summary | null | undefined, scale: number, digits: number): string => {
  if (!s) return '—';
  if (s.ciLow === null || s.ciHigh === null) return fmt(s, scale, digits);
  const d = (x: number) => (x / scale).toFixed(digits);
  return `${d(s.median)} [${d(s.ciLow)}–${d(s.ciHigh)}]`;
};

const us = (ns: number | undefined) => (ns === undefined || !Number.isFinite(ns) ? '—' : (ns / 1e3).toFixed(1));
const mfps = (x: number) => (x / 1e6).toFixed(3);

function pathLabel(r: Report, id: string): string {
  const p = r.paths.find((x) => x.id === id);
  if (!p) return id;
  return `${id}${p.forwarder === null ? ' (kernel, offloads on)' : ''}${p.status === 'failed' ? ' ⚠' : ''}`;
}

/** The path-by-path table: throughput, no-drop rate, idle latency, CPU per frame. */
export function summaryTable(r: Report, range = true): Table {
  const sizes = r.options.frameSizes;
  const rows = r.paths.map((p) => {
    if (p.status === 'skipped') return [p.id, ...Array(5 + sizes.length).fill('skipped')];
    const tcp = (offload: boolean | null, d: string) =>
      r.tcp.find((t) => t.path === p.id && t.offload === offload && t.direction === d)?.bitsPerSecond;
    const tcpCell = (d: string) =>
      p.forwarder === null
        ? fmt(tcp(null, d), 1e9, 2, range)
        : `${fmt(tcp(false, d), 1e9, 2, range)} / ${fmt(tcp(true, d), 1e9, 2, range)}`;
    const idle = r.latency.find((l) => l.path === p.id && l.loadFraction === null)?.pooled;
    const cpu = r.rate.find((x) => x.path === p.id && x.frameSize === '64')?.forwarderNsPerFrame;
    return [
      pathLabel(r, p.id),
      tcpCell('ext-to-guest'),
      tcpCell('guest-to-ext'),
      ...sizes.map((s) => fmt(r.ndr.find((x) => x.path === p.id && x.frameSize === s)?.ndrPerSecond, 1e6, 3, range)),
      us(idle?.p50Ns),
      us(idle?.p99Ns),
      fmt(cpu, 1, 0, range),
    ];
  });
  return {
    head: [
      'path',
      'TCP ext→guest Gbit/s',
      'TCP guest→ext Gbit/s',
      ...sizes.map((s) => `NDR ${SIZE_NAME[s]} Mfps`),
      'RTT p50 µs',
      'RTT p99 µs',
      'fwd ns/frame 64 B',
    ],
    rows,
  };
}

/**
 * The no-drop and partial-drop rates, each a median over rounds with its 95 % interval, beside
 * full offered load: back-pressure (sent falls) versus loss (delivered falls).
 */
export function ndrTable(r: Report): Table {
  const rows = r.ndr.map((n) => {
    const full = r.rate.find((x) => x.path === n.path && x.frameSize === n.frameSize);
    const t = full?.samples.map((s) => s.trial) ?? [];
    const med = (pick: (x: (typeof t)[number]) => number) => (t.length ? percentile(t.map(pick), 50) : Number.NaN);
    const trials = n.samples.map((s) => s.trialCount);
    return [
      pathLabel(r, n.path),
      SIZE_NAME[n.frameSize],
      withInterval(n.ndrPerSecond, 1e6, 3),
      withInterval(n.pdrPerSecond, 1e6, 3),
      t.length ? mfps(med((x) => x.sentPerSecond)) : '—',
      t.length ? mfps(med((x) => x.deliveredPerSecond)) : '—',
      t.length ? `${(med((x) => x.lossFraction) * 100).toFixed(1)} %` : '—',
      trials.length ? `${trials.length} × ${percentile(trials, 50)}` : '—',
    ];
  });
  return {
    head: [
      'path',
      'frame',
      `NDR Mfps (loss <= ${pctText(r.options.ndrLossFraction)})`,
      `PDR Mfps (loss <= ${pctText(r.options.pdrLossFraction)})`,
      'full load: sent Mfps',
      'delivered Mfps',
      'loss',
      'searches × trials',
    ],
    rows,
    align: ['l', 'l'],
  };
}

const pctText = (f: number) => `${+(f * 100).toFixed(2)} %`;

/** Latency idle and under load, percentiles of all round trips pooled (the chart shows the same). */
export function latencyTable(r: Report): Table {
  const rows = r.latency
    .filter((l) => l.samples.length > 0)
    .map((l) => {
      const load = l.samples.map((s) => s.loadPerSecond);
      const lost = l.samples.reduce((a, s) => a + s.lostProbes, 0);
      const sent = l.samples.reduce((a, s) => a + s.sentProbes, 0);
      return [
        pathLabel(r, l.path),
        l.loadFraction === null
          ? 'idle'
          : `${l.loadFraction * 100} % of the lab's PDR (${mfps(percentile(load, 50))} Mfps)`,
        us(l.pooled?.p50Ns),
        us(l.pooled?.p99Ns),
        us(l.pooled?.p999Ns),
        String(sent - lost),
        lost ? `${lost}` : '0',
      ];
    });
  return {
    head: ['path', 'load (64 B frames)', 'p50 µs', 'p99 µs', 'p99.9 µs', 'round trips', 'lost'],
    rows,
    align: ['l', 'l'],
  };
}

function ratioValue(x: Ratio, v: number | null): string {
  if (v === null) return '—';
  if (x.unit === 'frames/s') return `${mfps(v)} Mfps`;
  if (x.unit === 'bit/s') return `${(v / 1e9).toFixed(2)} Gbit/s`;
  if (x.metric.startsWith('forwarder CPU')) return `${v.toFixed(0)} ns`;
  return `${(v / 1e3).toFixed(1)} µs`;
}

/** The median of the per-round ratios, with its 95 % interval where the rounds give one. */
const pairedCell = (x: Ratio): string => {
  if (x.pairedRatio === null) return '—';
  const bound = (v: number) => (Number.isFinite(v) ? v.toFixed(2) : '∞');
  const ci = x.ciLow === null || x.ciHigh === null ? '' : ` [${bound(x.ciLow)}–${bound(x.ciHigh)}]`;
  return `${bound(x.pairedRatio)}x${ci}`;
};

const VERDICT_TEXT: Record<Ratio['verdict'], string> = {
  met: 'met',
  missed: 'missed',
  undecided: 'undecided',
  'too-few-pairs': 'too few rounds',
  'no-goal': '—',
  'not-measured': 'not measured',
};

export function ratioTable(r: Report): Table | string {
  if (r.ratios.every((x) => x.tapyard === null))
    return '_No tapyard-to-C ratios: tapyard was not measured in this run (see Paths)._';
  return {
    head: [
      'path',
      'metric',
      'tapyard',
      'C loop',
      'tapyard / C',
      'tapyard better in',
      'paired ratio [95 %]',
      'goal',
      'verdict',
    ],
    rows: r.ratios.map((x) => [
      x.path,
      x.metric,
      ratioValue(x, x.tapyard),
      ratioValue(x, x.c),
      x.ratio === null ? '—' : `${x.ratio.toFixed(2)}x`,
      x.pairs ? `${x.wins} of ${x.pairs}${x.followUpPairs ? ` (${x.followUpPairs} added)` : ''}` : '—',
      pairedCell(x),
      x.goal === null ? '—' : `${x.higherIsBetter ? '>=' : '<='} ${x.goal.toFixed(2)}x`,
      VERDICT_TEXT[x.verdict],
    ]),
    align: ['l', 'l'],
  };
}

const foreignKeys = (r: Report) => [...new Set(r.foreign.map((f) => `${f.path}|${f.floodOff}`))];
const foreignRates = (r: Report) => [...new Set(r.foreign.map((f) => f.offeredPerSecond))].sort((a, b) => a - b);
const foreignLabel = (r: Report, key: string) => {
  const [path, off] = key.split('|');
  return `${pathLabel(r, path!)}${off === 'true' ? ' (flood off)' : ''}`;
};
const foreignAt = (r: Report, key: string, rate: number) =>
  r.foreign.find((x) => `${x.path}|${x.floodOff}` === key && x.offeredPerSecond === rate);

export function foreignTable(r: Report): Table | string {
  if (r.foreign.length === 0) return '_Not measured in this run._';
  const rows = foreignKeys(r).map((key) => [
    foreignLabel(r, key),
    ...foreignRates(r).map((rate) => {
      const f = foreignAt(r, key, rate);
      if (!f?.labCores) return '—';
      const reached = f.samples.map(
        (s) => (s.forwarderWireRxFrames ?? s.guestIfRxFrames) / Math.max(1, s.offeredFrames),
      );
      const where = f.samples[0]?.forwarderWireRxFrames === null ? 'guest' : 'fwd';
      return `${f.labCores.median.toFixed(2)} cores, ${(percentile(reached, 50) * 100).toFixed(0)} % to ${where}`;
    }),
  ]);
  return { head: ['path', ...foreignRates(r).map((x) => `${x / 1000}k foreign frames/s`)], rows };
}

/** The host-wide view of the seed experiment: exact, but it sees other tenants too. */
function hostExtraTable(r: Report): Table {
  const rows = foreignKeys(r).map((key) => [
    foreignLabel(r, key),
    ...foreignRates(r).map((rate) => fmt(foreignAt(r, key, rate)?.hostExtraCores, 1, 2)),
  ]);
  return { head: ['path', ...foreignRates(r).map((x) => `${x / 1000}k/s`)], rows };
}

const show = (render: Render, t: Table | string) => (typeof t === 'string' ? t : render(t));

export function consoleSummary(r: Report, outDir: string | null): string {
  const t = textTable;
  const m = r.machine;
  const parts = [
    `tapyard bench — ${m.cpus} vCPU, kernel ${m.kernel}, ${r.options.rounds} round(s), ${r.durationS.toFixed(0)} s` +
      (r.complete ? '' : ' — INCOMPLETE (interrupted)'),
    '',
    ...r.verdict.map((s) => `• ${s}`),
    '',
    t(summaryTable(r, false)),
    '',
    'TCP for forwarders: offloads off / on. NDR: highest offered rate with at most 0.1 % loss. Medians ' +
      '[95 % interval] over rounds.',
    '',
    t(ndrTable(r)),
    '',
    t(latencyTable(r)),
    '',
    show(t, ratioTable(r)),
    '',
    "Other machines' traffic, guest idle (CPU of generator + forwarder; share of foreign frames reaching it):",
    show(t, foreignTable(r)),
    '',
    `A real VM (${r.vm.accel ?? 'not booted'}; compare VM rows with each other only):`,
    show(t, vmTable(r)),
    '',
    `forward --queues N (${r.queues.cores} cores here):`,
    show(t, queuesTable(r)),
    ...(r.queues.rows.length ? [r.queues.note] : []),
  ];
  if (r.warnings.length) parts.push('', 'Warnings:', ...r.warnings.map((w) => `  - ${w}`));
  if (r.failures.length) parts.push('', 'Failures:', ...r.failures.map((f) => `  - ${f}`));
  if (outDir) parts.push('', `Report: ${outDir}/report.md (JSON: ${outDir}/report.json, charts: ${outDir}/*.svg)`);
  return parts.join('\n');
}

const FOREIGN_HOW = [
  'The external namespace sends frames to a MAC that no lab interface owns, at fixed rates, while the guest is',
  'idle. Each cell: the CPU of the generator and the forwarder during the flood (schedstat: exact, and blind to',
  "other tenants; veth delivers in the sender's context, so the generator's core also runs the receiving host's",
  'kernel path: the sending part is the same on every path, the differences are the cost of receiving), and the',
  'share of the frames that reached the forwarder (its wire-port counter) or, for kernel-only paths, the guest',
  'interface. "flood off" is `bridge link set dev TAP flood off` on the bridge port toward the guest.',
].join(' ');

const VM_HOW = [
  "A QEMU guest (scripts/vm/build-guest) on QEMU's own tap backend, as libvirt wires it (qemu-tap: a macvtap's",
  "fd passed as -netdev tap,fd=; the bridge's tap by name), through tapyard's vhost-user port (-netdev",
  "vhost-user, the guest's offloads passed through, vectors=0) and, in the full run, its qemu port (-netdev stream)",
  'onto the same macvtap or bridged tap. From the external namespace: iperf3 both ways, 64-byte frames flat out',
  "(delivered: the guest's eth0 rx_packets 0.5 s after; the socket netdev's deep buffer carries part of the",
  'burst through late, which flatters its figure), ICMP every 20 ms once the path has drained, and the idle VM',
  'under 100 k frames/s to a',
  "MAC nobody owns: the share the wire device handed toward its reader, and QEMU's and tapyard's CPU above their idle",
  "(schedstat). One boot per path. Under plain emulation the guest's speed is the emulator's: these rows compare",
  'with each other, never with the namespace-guest rows above.',
].join(' ');

const HOW = [
  '- TCP: `iperf3 -c` from the external namespace to `iperf3 -s` in the guest (`-R` for guest → ext).',
  '- Rounds: every measurement is a block of rounds; each round measures every forwarder path once, in',
  '  alternating order (A B, B A, ...), so compared paths share the same minutes. Kernel-only paths and',
  '  offloads-off TCP run in the first rounds only: nothing is compared on them.',
  '- Packet rate: `tygen` (AF_PACKET, sendmmsg batches, PACKET_QDISC_BYPASS) pinned to one core, the forwarder',
  "  to the other; `tysink` counts frames at the guest's protocol dispatch. A short full-load trial, then one",
  '  search per round for the no-drop rate (loss <= 0.1 %) and the partial-drop rate (loss <= 0.5 %) from the',
  '  same trials: each load is judged by best of three short trials, so one scheduling hiccup cannot decide it',
  '  (docs/benchmark.md says why, with the numbers).',
  '- Latency: `typing`, a UDP ping-pong, idle (one round trip per ms) and with 64-byte load at 10/50/90 % of',
  "  the lab's lower partial-drop rate (tapyard and the C loop offered the same rate); round trips in 1 % histogram",
  '  buckets, pooled over rounds for the percentiles.',
  '- CPU: forwarder from /proc/PID/task/*/schedstat, host as cores − Δidle/Δt from /proc/stat (both exact).',
  '- Comparisons: per-round ratios of two paths; their Hodges-Lehmann centre and 95 % signed-rank interval',
  '  (six rounds at least), and in how many rounds each side won. A goal row the planned rounds leave',
  '  undecided gets more rounds at the end of the run while its follow-up time lasts, where its spread says',
  '  they could decide it.',
  '- See docs/benchmark.md for what limits these numbers.',
];

export function markdownReport(r: Report, charts: string[]): string {
  const md = markdownTable;
  const m = r.machine;
  const nf =
    m.bridgeNfCallIptables === null ? 'br_netfilter not loaded' : `bridge-nf-call-iptables = ${m.bridgeNfCallIptables}`;
  const img = (name: string, alt: string) => (charts.includes(name) ? `![${alt}](${name})\n` : '');
  const micro =
    r.micro.status === 'ok'
      ? md({
          head: ['benchmark', 'frames/s', 'source'],
          rows: r.micro.results.map((x) => [x.name, Math.round(x.framesPerSecond).toLocaleString('en-US'), x.source]),
          align: ['l', 'r', 'l'],
        })
      : `_${r.micro.status}: ${r.micro.note}_`;
  return [
    '# tapyard bench — bridge or macvtap?',
    '',
    ...r.verdict.flatMap((s) => [s, '']),
    `Run ${r.startedAt} (${r.durationS.toFixed(0)} s): \`${r.command.join(' ')}\`  `,
    `${m.hostname}: ${m.cpus} × ${m.cpuModel}, ${(m.memoryBytes / 2 ** 30).toFixed(0)} GiB, ${m.os}, ` +
      `kernel ${m.kernel}  `,
    `node ${m.node}, ${m.iperf3}, ${m.cc}, tapyard ${m.tapyardVersion} (${m.gitCommit}), ` +
      `TCP ${m.tcpCongestionControl}, ${nf}  `,
    `Host busy before the run: ${m.hostBusyCoresAtStart.toFixed(2)} cores; ` +
      `load average ${m.loadAverageAtStart.join(' ')}`,
    '',
    '## Results',
    '',
    `Medians over ${r.options.rounds} round(s) (kernel-only paths: ${r.options.referenceRounds}; more where a ` +
      'goal row got follow-up rounds, see "tapyard against the C loop"), min–max in brackets. TCP for the ' +
      'forwarder paths: offloads ' +
      'off / on; kernel-only paths run with the kernel’s offloads on. NDR: no-drop rate, counted in the guest.',
    '',
    md(summaryTable(r)),
    '',
    img('throughput.svg', 'TCP throughput per path'),
    img('packet-rate.svg', 'no-drop rate per frame size'),
    img('latency.svg', 'latency idle and under load'),
    img('cpu-per-frame.svg', 'CPU per frame'),
    '## No-drop rate and full load',
    '',
    'At full offered load the macvtap path slows the sender (sent falls, nothing is lost); the tap path drops at the',
    'tap queue (delivered falls). The no-drop rate is what both sustain.',
    '',
    md(ndrTable(r)),
    '',
    '## Latency, idle and under load',
    '',
    md(latencyTable(r)),
    '',
    '## tapyard against the C loop',
    '',
    'Same path, every round, alternating which goes first. The figures are the ones the tables above show and',
    '"tapyard / C" is their ratio; the verdict is judged on the per-round ratios: met or missed only when their',
    '95 % signed-rank interval lies on one side of the goal. "(N added)": the planned rounds left the row',
    'undecided, and the run gave it N more rounds of the same measurement at its end (docs/benchmark.md).',
    '',
    show(md, ratioTable(r)),
    '',
    "## Other machines' traffic (the seed experiment)",
    '',
    FOREIGN_HOW,
    '',
    show(md, foreignTable(r)),
    '',
    'Host-wide extra busy cores over the idle window (median, min–max; other tenants make it noisy):',
    '',
    r.foreign.length ? md(hostExtraTable(r)) : '',
    '',
    FOREIGN_MECHANISM,
    '',
    img('foreign-traffic.svg', 'CPU that foreign traffic costs, per rate'),
    '## A real VM',
    '',
    VM_HOW,
    '',
    show(md, vmTable(r)),
    '',
    r.vm.note,
    '',
    '## Queues (forward --queues N)',
    '',
    show(md, queuesTable(r)),
    '',
    r.queues.rows.length ? r.queues.note : '',
    '',
    '## Paths',
    '',
    md({
      head: ['path', 'status', 'what a frame goes through'],
      rows: r.paths.map((p) => [p.id, p.status, p.note]),
      align: ['l', 'l', 'l'],
    }),
    '',
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
    ...HOW,
    '',
  ].join('\n');
}
