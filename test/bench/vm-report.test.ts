// tapyard bench --quick --only vm, as a user runs it: the VM rows of the report with a real QEMU
// guest on the quick run's four paths (QEMU's tap backend and tapyard's vhost-user port, on each
// wire). Whether the numbers are good is not tested; that they are whole, consistent with each
// other and with what the kernel does to foreign frames, is.

import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Report, validateReport } from '../../bench/datapath/report-schema.js';
import { vmUnavailable } from '../../bench/vm/section.js';
import { packageRoot } from '../../src/package-root.js';

const MAIN = join(packageRoot(), 'dist/src/cli/main.js');
const unavailable = process.getuid?.() !== 0 ? 'the VM benchmark needs root' : vmUnavailable();
if (unavailable !== null) console.warn(`VM bench test skipped: ${unavailable}`);

describe.skipIf(unavailable !== null)('tapyard bench --quick --only vm', () => {
  let dir: string;
  let report: Report;
  let code: number | null;
  let stderr = '';
  let stdout = '';

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ty-vmbench-test-'));
    const out = join(dir, 'report');
    code = await new Promise((done) => {
      const child = spawn(process.execPath, [MAIN, 'bench', '--quick', '--only', 'vm', '--out', out], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      child.stdout.on('data', (d: Buffer) => {
        stdout += d;
      });
      child.stderr.on('data', (d: Buffer) => {
        stderr += d;
      });
      child.on('close', done);
    });
    report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as Report;
  }, 900_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('exits 0 with a report that matches the schema, and measured nothing else', () => {
    expect({ code, failures: report.failures }).toEqual({ code: 0, failures: [] });
    for (const line of stderr.trim().split('\n')) expect(line).toMatch(/^\[\d+\/\d+\] \d+:\d\d vm |micro/);
    expect(validateReport(report)).toEqual([]);
    expect(report.tcp).toEqual([]);
    expect(report.labs).toEqual([]);
  });

  it("has a row for each of the quick run's four VM paths (no socket netdev), under the accelerator it names", () => {
    expect(report.vm.status).toBe('ok');
    expect(report.vm.accel).toBe('tcg');
    expect(report.vm.rows.map((v) => v.path)).toEqual([
      'qemu-tap/macvtap',
      'tapyard-vhost/macvtap',
      'qemu-tap/bridge',
      'tapyard-vhost/bridge',
    ]);
    expect(report.options.vmPaths.map((p) => `${p.backend}/${p.wire}`)).toEqual(report.vm.rows.map((v) => v.path));
    for (const v of report.vm.rows) expect(v.accel).toBe('tcg');
  });

  it('measured every row in every round: TCP both ways, 64-byte frames, round trips; a balanced ledger', () => {
    for (const v of report.vm.rows) {
      expect(v.rounds.map((r) => r.round)).toEqual(Array.from({ length: report.options.vmRounds }, (_, i) => i + 1));
      const tcp = v.rounds.map((r) => r.tcpExtToGuestBitsPerSecond).sort((a, b) => a - b);
      expect(v.tcpExtToGuestBitsPerSecond).toBeGreaterThanOrEqual(tcp[0]!);
      expect(v.tcpExtToGuestBitsPerSecond).toBeLessThanOrEqual(tcp.at(-1)!);
      expect(v.rate64.deliveredFrames).toBe(v.rounds.reduce((a, r) => a + r.rate64.deliveredFrames, 0));
      expect(v.tcpExtToGuestBitsPerSecond).toBeGreaterThan(0);
      expect(v.tcpGuestToExtBitsPerSecond).toBeGreaterThan(0);
      expect(v.rate64.deliveredFrames).toBeGreaterThan(0);
      expect(v.rate64.deliveredFrames).toBeLessThanOrEqual(v.rate64.sentFrames);
      expect(v.rtt.received).toBeGreaterThan(v.rtt.sent * 0.9);
      expect(v.rtt.p50Ns).toBeLessThanOrEqual(v.rtt.p99Ns);
      expect(v.ledgerBalanced).toBe(v.backend === 'qemu-tap' ? null : true);
      expect(v.foreign.tapyardExtraCores === null).toBe(v.backend === 'qemu-tap');
    }
  });

  it('with the VM idle, the bridge hands foreign frames to the VM side and the macvtap does not', () => {
    for (const v of report.vm.rows) {
      const share = v.foreign.reachedReaderFrames / v.foreign.offeredFrames;
      if (v.wire === 'bridge') expect(share).toBeGreaterThan(0.9);
      else expect(share).toBeLessThan(0.01);
      // QEMU's virtio-net filters by the guest's MAC, and tapyard's rx-filter on the vhost-user port
      // (QEMU tells a vhost-user back-end nothing of it): the guest itself sees next to none of them.
      expect(v.foreign.guestRxFrames).toBeLessThan(v.foreign.offeredFrames * 0.01);
    }
  });

  it('says so in the verdict, in report.md and on the console', () => {
    const vm = report.verdict.find((s) => s.startsWith('A real QEMU VM under plain emulation (tcg)'));
    expect(vm).toMatch(/through tapyard's vhost-user port against QEMU's own/);
    expect(vm).toMatch(/64-byte frames delivered \d+ vs \d+ kfps \(\d\.\d\dx, tapyard better in \d of \d rounds/);
    expect(report.verdict.some((s) => s.startsWith("Other machines' traffic with a real idle VM"))).toBe(true);
    const md = readFileSync(join(dir, 'report', 'report.md'), 'utf8');
    expect(md).toContain('## A real VM');
    for (const v of report.vm.rows) expect(md).toContain(`| ${v.path} `);
    expect(stdout).toContain('tapyard-vhost/bridge');
  });
});
