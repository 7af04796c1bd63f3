// The micro benchmarks (bench/micro/*.bench.ts, tinybench: parse, filter, decide, checksum)
// measure the per-frame TypeScript work without any syscall. The report quotes their
// frames/s beside the datapath figures: the gap between the two is what the fd path costs.
//
// Each compiled bench file is run with node and its JSON read from stdout: either a list of
// results or an object with a `results` list, each with a name and frames per second
// (`framesPerSecond`, or tinybench's `hz` / `throughput.mean`, one frame per operation).

import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from './lab.js';
import { run } from './process.js';
import type { MicroResult, Report } from './report-schema.js';

type Micro = Report['micro'];

interface RawResult {
  name?: string;
  task?: string;
  framesPerSecond?: number;
  hz?: number;
  throughput?: { mean?: number };
}

function toResult(raw: RawResult, source: string): MicroResult | null {
  const name = raw.name ?? raw.task;
  const fps = raw.framesPerSecond ?? raw.hz ?? raw.throughput?.mean;
  return typeof name === 'string' && typeof fps === 'number' && Number.isFinite(fps)
    ? { name, framesPerSecond: fps, source }
    : null;
}

/** Results found in a bench file's output: the last line that parses as JSON and holds results. */
export function parseMicroOutput(stdout: string, source: string): MicroResult[] {
  for (const line of stdout.trim().split('\n').reverse()) {
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      continue;
    }
    const list = Array.isArray(value) ? value : (value as { results?: unknown })?.results;
    if (!Array.isArray(list)) continue;
    const results = list.map((r) => toResult(r as RawResult, source)).filter((r): r is MicroResult => r !== null);
    if (results.length) return results;
  }
  return [];
}

export async function runMicro(quick: boolean): Promise<Micro> {
  const root = repoRoot();
  const dir = join(root, 'bench/micro');
  const files = existsSync(dir)
    ? readdirSync(dir)
        .filter((f) => f.endsWith('.bench.ts'))
        .sort()
    : [];
  if (files.length === 0) return { status: 'absent', note: 'no bench/micro/*.bench.ts in this checkout', results: [] };
  const results: MicroResult[] = [];
  const problems: string[] = [];
  for (const file of files) {
    const compiled = join(root, 'dist/bench/micro', file.replace(/\.ts$/, '.js'));
    if (!existsSync(compiled)) {
      problems.push(`${file} is not built (npm run build)`);
      continue;
    }
    try {
      const out = await run(
        [process.execPath, compiled, '--json', ...(quick ? ['--quick'] : [])],
        300_000,
        `micro ${file}`,
      );
      const found = parseMicroOutput(out.stdout, `bench/micro/${file}`);
      if (found.length === 0) problems.push(`${file} printed no JSON results`);
      results.push(...found);
    } catch (err) {
      problems.push(err instanceof Error ? err.message : String(err));
    }
  }
  const status = results.length ? 'ok' : 'failed';
  return { status, note: problems.length ? problems.join('; ') : `${files.length} files`, results };
}
