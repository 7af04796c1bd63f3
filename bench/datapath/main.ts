// The benchmark as its own program: `node dist/bench/datapath/main.js [options]`, which
// `tapyard bench` runs as a child so the product never imports the benchmark. Builds the labs,
// runs every measurement, takes the labs down (also on failure and Ctrl-C), writes report/.

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { TapyardError } from '../../src/error.js';
import { flagHelp, HELP_FLAG, onOff, parseCommandLine, valued } from '../../src/grammar/argv.js';
import { integer, oneOf, text } from '../../src/grammar/value.js';
import { repoRoot } from './lab.js';
import { consoleSummary } from './markdown.js';
import { benchOptions, MEASUREMENTS } from './options.js';
import { PATHS } from './paths.js';
import { run, stopAll } from './process.js';
import { runBench } from './run.js';
import { writeReport } from './write.js';

const ids = (forwarder: boolean) =>
  PATHS.filter((p) => (p.forwarder !== null) === forwarder)
    .map((p) => p.id)
    .join(', ');

// The same declared command-line grammar as every tapyard command (src/config/argv.ts).
const BENCH_FLAGS = {
  quick: onOff('quick', 'three short rounds, 64 and 1518 bytes only: directions in a few minutes'),
  json: onOff('json', 'print the report as JSON on stdout instead of the tables'),
  out: valued('out', text('DIR', 4096), 'where to write the report', 'report'),
  rounds: valued('rounds', integer(1, 50), 'rounds of paired trials (--quick: 3)', '10'),
  vmRounds: valued('vm-rounds', integer(2, 50), 'rounds of the VM rows, one boot per path (--quick: 2)', '6'),
  only: valued('only', text('LIST'), `measurements, comma-separated: ${MEASUREMENTS.join(', ')}`),
  paths: valued('paths', text('LIST'), 'paths, comma-separated, namespace and VM (default: all)'),
  vmAccel: valued(
    'vm-accel',
    oneOf(['tcg', 'kvm', 'auto'] as const),
    'the VM rows: plain emulation, KVM, or KVM only if a 15 s boot under it works',
    'tcg',
  ),
  help: HELP_FLAG,
} as const;

const BENCH_HELP = `usage: tapyard bench [--quick] [--json] [--out DIR] [--rounds N] [--vm-rounds N]
                     [--only LIST] [--paths LIST]

Bridge or macvtap? Builds throwaway network-namespace labs, measures every path in one run,
takes the labs down again, and writes DIR (default report/): report.json with every raw
sample (schema: report.schema.json beside it), report.md opening with the verdict, and SVG
charts. Needs root, iperf3 and a C compiler.

Paths: kernel-only references (${ids(false)}), and the macvtap and
tap+bridge paths each through tapyard forward and through a C poll()+read()/write() loop
(${ids(true)}).

How: every measurement runs as rounds of short trials; each round visits every forwarder path
in alternating order (A B, then B A), so two paths compare on the same minutes' neighbours.
Comparisons are judged on the per-round ratios: a 95 % signed-rank interval of their centre
(six rounds at least), and in how many rounds each side won. Kernel-only paths and
offloads-off TCP run in the first two rounds only (they are compared with nothing).

Measurements: TCP throughput both ways, offloads off and on (iperf3); the no-drop rate (at most
0.1 % loss) and the partial-drop rate (0.5 %), searched with best-of-three short trials per
load, for 64-, 512-, 1518-byte and IMIX frames; round-trip latency idle and under load at 10, 50
and 90 % of the lab's lower partial-drop rate (the same offered rate for tapyard and the C loop;
p50/p99/p99.9); CPU per frame; and the extra CPU that other machines' traffic (frames to a MAC
nobody owns) costs while the guest is idle.

VM rows (when this machine can boot the guest of scripts/vm/build-guest; else one sentence): a
real QEMU VM on QEMU's own tap backend (a macvtap fd as libvirt passes it; the bridge's tap),
through tapyard's vhost-user port and (full run) its qemu port onto the same two wires: TCP both
ways, 64-byte frames flat out, ICMP round trips, and the foreign traffic with the VM idle.
Labelled with the accelerator, and compared only with each other. --paths may name VM paths
(BACKEND/WIRE: qemu-tap, tapyard, tapyard-vhost, and qemu-tap-intx, QEMU's tap backend with the
NIC's vectors=0 as the vhost-user NIC has; WIRE macvtap or bridge) beside the others.

Queue rows: tapyard forward --queues 1, 2 (and 4, 8, ... where the cores exist) on the macvtap
path, 16 UDP flows of 64-byte frames at full load; the report says how many cores there were
(docs/queues.md).

Options:
${flagHelp(BENCH_FLAGS).join('\n')}

Progress goes to stderr: one line rewritten on a terminal, one line per step elsewhere.

Exit status: 0 when every measurement ran, 1 when some failed (the report says which),
2 on bad usage, 130 when interrupted (the report written so far is marked incomplete).`;

const TOOLS = ['ip', 'iperf3', 'ping', 'taskset', 'bridge'];
const usage = (sentence: string) => new TapyardError('EUSAGE', sentence);

async function ensureTools(): Promise<void> {
  for (const tool of TOOLS)
    await run(['sh', '-c', `command -v ${tool}`], 5_000).catch(() => {
      throw new TapyardError('BENCH_SETUP', `${tool} is not installed (see scripts/setup)`);
    });
  const root = repoRoot();
  const bins = ['tyfwd', 'tygen', 'typing', 'tysink'].map((t) => join(root, 'bench/baseline/bin', t));
  if (bins.every(existsSync)) return;
  await run(['make', '-s', '-C', join(root, 'bench/baseline')], 120_000, 'make -C bench/baseline').catch(
    (err: unknown) => {
      const why = err instanceof Error ? err.message : String(err);
      throw new TapyardError('BENCH_SETUP', `cannot build the C tools in bench/baseline: ${why}`);
    },
  );
}

async function main(argv: string[]): Promise<number> {
  const controller = new AbortController();
  const onSignal = () => {
    if (controller.signal.aborted) return;
    controller.abort();
    process.stderr.write('\ntapyard: bench interrupted, stopping and taking the labs down...\n');
    void stopAll();
  };
  try {
    const { values, positionals } = parseCommandLine(argv, BENCH_FLAGS);
    if (values.help) {
      console.log(BENCH_HELP);
      return 0;
    }
    if (positionals.length) throw usage(`bench takes no argument '${positionals[0]}'`);
    const opts = benchOptions({
      quick: values.quick,
      rounds: values.rounds,
      vmRounds: values.vmRounds,
      only: values.only,
      paths: values.paths,
      outDir: values.out,
      vmAccel: values.vmAccel,
    });
    if (process.getuid?.() !== 0) throw new TapyardError('EPERM', 'bench must run as root (it builds namespaces)');
    await ensureTools();

    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    const report = await runBench(opts, {
      command: ['tapyard', 'bench', ...argv],
      progress: process.stderr.isTTY ? 'terminal' : 'lines',
      signal: controller.signal,
    });
    writeReport(report, opts.outDir);
    if (!report.complete) {
      process.stderr.write(
        `tapyard: bench interrupted; the labs were taken down; what was measured is in ${opts.outDir}/report.md ` +
          '(marked incomplete)\n',
      );
      return 130;
    }
    if (values.json) process.stdout.write(`${JSON.stringify(report)}\n`);
    else console.log(consoleSummary(report, opts.outDir));
    return report.failures.length ? 1 : 0;
  } catch (err) {
    if (controller.signal.aborted) {
      process.stderr.write('tapyard: bench interrupted; the labs were taken down\n');
      return 130;
    }
    if (!(err instanceof TapyardError)) {
      const message = err instanceof Error ? err.message : String(err);
      process.stderr.write(`tapyard: bench failed unexpectedly: ${message.split('\n')[0]}\n`);
      if (process.env.TAPYARD_DEBUG && err instanceof Error) process.stderr.write(`${err.stack}\n`);
      return 1;
    }
    process.stderr.write(`tapyard: ${err.message.replace(/^bench: /, '')}\n`);
    return err.code === 'EUSAGE' ? 2 : 1;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

process.exitCode = await main(process.argv.slice(2));
