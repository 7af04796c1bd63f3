// tapyard bench --quick --only queues, as a user runs it: forward --queues 1 and 2 (and more
// where the cores exist) on the macvtap path. How fast is not tested; that the rows are whole,
// that every ledger balanced, that the kernel's spread of the flows is recorded and that the
// note says how many cores there were, is.

import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Report, validateReport } from '../../bench/datapath/report-schema.js';
import { queueCounts } from '../../bench/queues/section.js';
import { packageRoot } from '../../src/package-root.js';

const MAIN = join(packageRoot(), 'dist/src/cli/main.js');

describe('tapyard bench --quick --only queues', () => {
  let dir: string;
  let report: Report;
  let code: number | null;
  let stderr = '';
  let markdown = '';

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ty-queuesbench-test-'));
    const out = join(dir, 'report');
    code = await new Promise((done) => {
      const child = spawn(process.execPath, [MAIN, 'bench', '--quick', '--only', 'queues', '--out', out], {
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      child.stderr.on('data', (d: Buffer) => {
        stderr += d;
      });
      child.on('close', done);
    });
    report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as Report;
    markdown = readFileSync(join(out, 'report.md'), 'utf8');
  }, 300_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('exits 0 with a report that matches the schema, and measured nothing else', () => {
    expect({ code, failures: report.failures }).toEqual({ code: 0, failures: [] });
    // stderr is the progress, one line per step (off a terminal)
    expect(stderr.trim().split('\n')).toEqual([
      expect.stringMatching(/^\[1\/\d+\] \d+:\d\d queues 1$/),
      expect.stringMatching(/^\[2\/\d+\] \d+:\d\d queues 2$/),
      expect.stringMatching(/ micro benchmarks$/),
    ]);
    expect(validateReport(report)).toEqual([]);
    expect(report.tcp).toEqual([]);
    expect(report.vm.rows).toEqual([]);
  });

  it('has one row per queue count, every ledger balanced, each queue with its share of the flows', () => {
    const q = report.queues;
    expect(q.status).toBe('ok');
    expect(q.cores).toBe(cpus().length);
    expect(q.rows.map((r) => r.queues)).toEqual(queueCounts(cpus().length));
    for (const r of q.rows) {
      expect(r.ledgerBalanced).toBe(true);
      expect(r.deliveredFrames).toBeGreaterThan(0);
      expect(r.deliveredFrames).toBeLessThanOrEqual(r.sentFrames);
      expect(r.queueShares).toHaveLength(r.queues);
      expect(r.queueShares.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 6);
    }
  });

  it('says how many cores this machine has, in the JSON, the verdict and report.md', () => {
    const cores = cpus().length;
    const sentence = report.verdict.find((s) => s.startsWith('forward --queues'));
    expect(sentence).toMatch(
      cores - 1 >= report.queues.rows.at(-1)!.queues ? /a core per queue/ : /not a scaling figure/,
    );
    expect(report.queues.note).toContain(`This machine has ${cores} core`);
    expect(markdown).toContain('## Queues (forward --queues N)');
    expect(markdown).toContain(report.queues.note);
  });
});
