// The benchmark as its own program: `node dist/bench/datapath/main.js [options]`, which
// `tapyard bench` runs as a child so the product never imports the benchmark. Builds the labs,
// runs every measurement, takes the labs down (also on failure and Ctrl-C), writes report/.

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { TapyardError } from '../../src/error.js';
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

const BENCH_HELP = `usage: tapyard bench [--quick] [--json] [--out DIR] [--reps N] [--only LIST] [--paths LIST]

Bridge or macvtap? Builds throwaway network-namespace labs, measures every path in one run,
takes the labs down again, and writes DIR (default report/): report.json with every raw
sample (schema: report.schema.json beside it), report.md opening with the verdict, and SVG
charts. Needs root, iperf3 and a C compiler.

Paths: kernel-only references (${ids(false)}), and the macvtap and
tap+bridge paths each through tapyard forward and through a C poll()+read()/write() loop
(${ids(true)}).

Measurements: TCP throughput both ways, offloads off and on (iperf3); the no-drop rate
(highest offered rate with at most 0.1 % loss, binary search) for 64-, 512-, 1518-byte and
IMIX frames; round-trip latency idle and under load at 10, 50 and 90 % of the no-drop rate
(p50/p99/p99.9); CPU per frame; and the extra CPU that other machines' traffic (frames to a
MAC nobody owns) costs while the guest is idle.

Options:
  --quick         one short repetition, 64 and 1518 bytes only (a few minutes)
  --json          print the report as JSON on stdout instead of the tables
  --out DIR       where to write the report (default report)
  --reps N        repetitions, 1-50 (default 3, --quick 1)
  --only LIST     measurements, comma-separated: ${MEASUREMENTS.join(', ')}
  --paths LIST    paths, comma-separated (default: all)
  -h, --help      this text

Exit status: 0 when every measurement ran, 1 when some failed (the report says which),
2 on bad usage, 130 when interrupted.`;

const TOOLS = ['ip', 'iperf3', 'ping', 'taskset', 'bridge'];
const usage = (sentence: string) => new TapyardError('EUSAGE', `${sentence} (see tapyard bench --help)`);

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

function parse(argv: string[]) {
  try {
    return parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        quick: { type: 'boolean' },
        json: { type: 'boolean' },
        out: { type: 'string' },
        reps: { type: 'string' },
        only: { type: 'string' },
        paths: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    // node's messages are one sentence already ("Unknown option '--x'..."): keep the first.
    const first = (err instanceof Error ? err.message : String(err)).split('\n')[0]!.replace(/\.$/, '');
    throw usage(first.charAt(0).toLowerCase() + first.slice(1));
  }
}

function reps(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < 1 || n > 50) throw usage(`--reps takes a whole number from 1 to 50, not '${text}'`);
  return n;
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
    const { values, positionals } = parse(argv);
    if (values.help) {
      console.log(BENCH_HELP);
      return 0;
    }
    if (positionals.length) throw usage(`bench takes no argument '${positionals[0]}'`);
    if (values.out === '') throw usage('--out needs a directory');
    const opts = benchOptions({
      quick: values.quick,
      reps: reps(values.reps),
      only: values.only,
      paths: values.paths,
      outDir: values.out,
    });
    if (process.getuid?.() !== 0) throw new TapyardError('EPERM', 'bench must run as root (it builds namespaces)');
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
