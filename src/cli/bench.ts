// tapyard bench: bridge or macvtap, on this machine, side by side. Builds the labs, runs every
// measurement, takes the labs down (also on failure and Ctrl-C), writes report/.

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../../bench/datapath/lab.js';
import { consoleSummary } from '../../bench/datapath/markdown.js';
import { benchOptions, MEASUREMENTS } from '../../bench/datapath/options.js';
import { PATHS } from '../../bench/datapath/paths.js';
import { run, stopAll } from '../../bench/datapath/process.js';
import { runBench } from '../../bench/datapath/run.js';
import { writeReport } from '../../bench/datapath/write.js';
import { TapyardError } from '../error.js';
import { integer, parse } from './args.js';

export const BENCH_HELP = `usage: tapyard bench [--quick] [--json] [--out DIR] [--reps N] [--only LIST] [--paths LIST]

Bridge or macvtap? Builds throwaway network-namespace labs, measures every path in one run,
takes the labs down again, and writes DIR (default report/): report.json with every raw
sample, report.md with the tables, and SVG charts. Needs root, iperf3 and a C compiler.

Paths: kernel-only references (${PATHS.filter((p) => !p.forwarder)
  .map((p) => p.id)
  .join(', ')}), and the macvtap and
tap+bridge paths each through tapyard forward and through a C poll()+read()/write() loop
(${PATHS.filter((p) => p.forwarder)
  .map((p) => p.id)
  .join(', ')}).

Measurements: TCP throughput both ways, offloads off and on (iperf3); packet rate for
64- and 1518-byte frames (raw AF_PACKET generator, counted in the guest); round-trip latency
(UDP ping-pong, p50/p90/p99); CPU per frame; and the extra host CPU that other machines'
traffic (frames to a MAC nobody owns) costs while the guest is idle.

Options:
  --quick         one short repetition of everything (about two minutes)
  --json          print the report as JSON on stdout instead of the tables
  --out DIR       where to write the report (default report)
  --reps N        repetitions (default 3, --quick 1)
  --only LIST     measurements, comma-separated: ${MEASUREMENTS.join(', ')}
  --paths LIST    paths, comma-separated (default: all)
  -h, --help      this text

Exit status: 0 when every measurement ran, 1 when some failed (the report says which),
2 on bad usage, 130 when interrupted.`;

const TOOLS = ['ip', 'iperf3', 'ping', 'taskset', 'bridge'];

async function ensureTools(): Promise<void> {
  for (const tool of TOOLS)
    await run(['sh', '-c', `command -v ${tool}`], 5_000).catch(() => {
      throw new TapyardError('BENCH_SETUP', `bench: ${tool} is not installed (see scripts/setup)`);
    });
  const root = repoRoot();
  const bins = ['tyfwd', 'tygen', 'typing', 'tysink'].map((t) => join(root, 'bench/baseline/bin', t));
  if (bins.every(existsSync)) return;
  await run(['make', '-s', '-C', join(root, 'bench/baseline')], 120_000, 'make -C bench/baseline').catch(
    (err: unknown) => {
      throw new TapyardError(
        'BENCH_SETUP',
        `bench: cannot build the C tools in bench/baseline: ${err instanceof Error ? err.message : String(err)}`,
      );
    },
  );
}

export async function benchCommand(argv: string[]): Promise<number> {
  const controller = new AbortController();
  const onSignal = () => {
    if (controller.signal.aborted) return;
    controller.abort();
    process.stderr.write('\ntapyard bench: interrupted, stopping and taking the labs down...\n');
    void stopAll();
  };
  try {
    const { values, positionals } = parse('bench', argv, {
      quick: { type: 'boolean' },
      json: { type: 'boolean' },
      out: { type: 'string' },
      reps: { type: 'string' },
      only: { type: 'string' },
      paths: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    });
    if (values.help) {
      console.log(BENCH_HELP);
      return 0;
    }
    if (positionals.length)
      throw new TapyardError('EUSAGE', `bench: unexpected argument '${positionals[0]}' (see tapyard bench --help)`);
    if (values.out === '') throw new TapyardError('EUSAGE', 'bench: --out needs a directory');
    const opts = benchOptions({
      quick: values.quick,
      reps: values.reps === undefined ? undefined : integer('bench', 'reps', values.reps, 1, 1, 50),
      only: values.only,
      paths: values.paths,
      outDir: values.out,
    });
    if (process.getuid?.() !== 0)
      throw new TapyardError('EPERM', 'bench: must run as root (it builds network namespaces)');
    await ensureTools();

    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    const report = await runBench(opts, {
      command: ['tapyard', 'bench', ...argv],
      progress: process.stdout.isTTY === true,
      signal: controller.signal,
    });
    writeReport(report, opts.outDir);
    if (values.json) process.stdout.write(`${JSON.stringify(report)}\n`);
    else console.log(consoleSummary(report, opts.outDir));
    return report.failures.length ? 1 : 0;
  } catch (err) {
    if (controller.signal.aborted) {
      process.stderr.write('tapyard bench: interrupted; the labs were taken down\n');
      return 130;
    }
    if (!(err instanceof TapyardError)) throw err;
    process.stderr.write(`tapyard bench: ${err.message.replace(/^bench: /, '')}\n`);
    return err.code === 'EUSAGE' ? 2 : 1;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
