// tapyard bench --quick, end to end as a user runs it (the built CLI, which runs the benchmark
// program as a child; as root, real labs): the report must be complete, consistent and match
// its published schema. How fast anything is, is not tested here.

import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PATHS } from '../../bench/datapath/paths.js';
import { type Report, reportJsonSchema, validateReport } from '../../bench/datapath/report-schema.js';
import { meets } from '../../bench/datapath/search.js';
import { histogramPercentile } from '../../bench/datapath/stats.js';
import { packageRoot } from '../../src/package-root.js';
import { xmlProblems } from './xml-check.js';

const ROOT = packageRoot();
const MAIN = join(ROOT, 'dist/src/cli/main.js');

interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

function cli(args: string[], env: Record<string, string> = {}, onStart?: (pid: number) => void): Promise<Ran> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [MAIN, ...args], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d;
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d;
    });
    child.on('close', (code) => done({ code, stdout, stderr }));
    if (onStart && child.pid) onStart(child.pid);
  });
}

const namespaces = async (): Promise<string[]> => {
  const ran = await new Promise<string>((done) => {
    const c = spawn('ip', ['netns', 'list']);
    let out = '';
    c.stdout.on('data', (d: Buffer) => {
      out += d;
    });
    c.on('close', () => done(out));
  });
  return ran
    .split('\n')
    .map((l) => l.split(' ')[0]!)
    .filter(Boolean);
};

describe('the hand-written XML check', () => {
  it('accepts well-formed SVG and rejects broken XML', () => {
    expect(xmlProblems('<svg a="1"><text x="2">a &amp; b</text><rect/></svg>').problems).toEqual([]);
    expect(xmlProblems('<svg><text>a & b</text></svg>').problems).not.toEqual([]);
    expect(xmlProblems('<svg><g></svg>').problems).not.toEqual([]);
    expect(xmlProblems('<svg a=1></svg>').problems).not.toEqual([]);
    expect(xmlProblems('<svg a="1" a="2"></svg>').problems).not.toEqual([]);
    expect(xmlProblems('<svg></svg><svg></svg>').problems).not.toEqual([]);
    expect(xmlProblems('<svg><text>1 < 2</text></svg>').problems).not.toEqual([]);
  });
});

describe('tapyard bench', () => {
  let dir: string;

  beforeAll(() => {
    if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run scripts/setup (it compiles the TypeScript)`);
    dir = mkdtempSync(join(tmpdir(), 'ty-bench-test-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('rejects a bad option with one line and a non-zero exit', async () => {
    const ran = await cli(['bench', '--frobnicate']);
    expect(ran.code).toBe(2);
    expect(ran.stderr.trim().split('\n')).toHaveLength(1);
    expect(ran.stderr).toMatch(/^tapyard: .*--frobnicate/);
    const reps = await cli(['bench', '--rounds', 'many']);
    expect(reps.code).toBe(2);
    expect(reps.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('on SIGINT stops, takes its labs down, writes what it measured marked incomplete and exits 130', async () => {
    const runDir = join(dir, 'interrupt-run');
    const seen = new Set<string>();
    let pid = 0;
    const finished = cli(['bench', '--quick', '--out', join(dir, 'interrupted')], { TAPYARD_RUN_DIR: runDir }, (p) => {
      pid = p;
    });
    // Interrupt once a lab is fully up: the run is then mid-way, with namespaces to remove.
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      const files = existsSync(runDir) ? readdirSync(runDir).filter((f) => /^lab-.*\.env$/.test(f)) : [];
      for (const f of files) seen.add(f.slice(4, -4));
      if (files.some((f) => readFileSync(join(runDir, f), 'utf8').includes('LAB_READY=1'))) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(seen.size).toBeGreaterThan(0);
    process.kill(pid, 'SIGINT');
    const ran = await finished;
    expect(ran.code).toBe(130);
    expect(ran.stderr).toMatch(/interrupted/);
    const partial = JSON.parse(readFileSync(join(dir, 'interrupted', 'report.json'), 'utf8')) as Report;
    expect(validateReport(partial)).toEqual([]);
    expect(partial.complete).toBe(false);
    expect(partial.verdict[0]).toMatch(/^INCOMPLETE/);
    expect(readFileSync(join(dir, 'interrupted', 'report.md'), 'utf8')).toMatch(/INCOMPLETE/);
    expect(readdirSync(runDir).filter((f) => f.startsWith('lab-'))).toEqual([]);
    const left = (await namespaces()).filter((ns) => [...seen].some((id) => ns.startsWith(`ty-${id}-`)));
    expect(left).toEqual([]);
  }, 120_000);

  describe('--quick --json', () => {
    let ran: Ran;
    let report: Report;
    let out: string;

    beforeAll(async () => {
      out = join(dir, 'report');
      ran = await cli(['bench', '--quick', '--json', '--out', out], { TAPYARD_RUN_DIR: join(dir, 'run') });
      report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as Report;
    }, 600_000);

    it('exits 0, stdout is the report as JSON and nothing else, stderr one progress line per step', () => {
      const lines = ran.stderr.trim().split('\n');
      expect(lines.length).toBeGreaterThan(20);
      for (const line of lines) expect(line).toMatch(/^\[\d+\/\d+\] \d+:\d\d \S.*$/);
      expect(lines.at(-1)).toMatch(/micro benchmarks/);
      expect(ran.code).toBe(0);
      expect(JSON.parse(ran.stdout)).toEqual(report);
    });

    it('report.json matches the schema, and report.schema.json is that schema', () => {
      expect(validateReport(report)).toEqual([]);
      expect(JSON.parse(readFileSync(join(out, 'report.schema.json'), 'utf8'))).toEqual(reportJsonSchema());
      // and the validator is not a rubber stamp
      const broken = structuredClone(report) as unknown as Record<string, unknown>;
      delete broken.machine;
      (broken as { extra?: number }).extra = 1;
      (broken.ndr as { frameSize: string }[])[0]!.frameSize = '60';
      const problems = validateReport(broken);
      expect(problems.some((p) => p.startsWith('report.machine:'))).toBe(true);
      expect(problems.some((p) => /extra/.test(p))).toBe(true);
      expect(problems.some((p) => p.startsWith('report.ndr.0.frameSize:'))).toBe(true);
    });

    it('opens with a verdict computed from the data, in the JSON, the Markdown and on the console', () => {
      expect(report.verdict.length).toBeGreaterThanOrEqual(3);
      expect(report.complete).toBe(true);
      expect(report.verdict[0]).toMatch(/^On this machine/);
      expect(report.verdict[0]).toMatch(/docs\/macvtap-questions\.md/);
      expect(report.verdict[1]).toMatch(/^Bridge or macvtap, both through tapyard, paired rounds: no-drop rate 64 B: /);
      expect(report.verdict.join(' ')).toMatch(/flood off/);
      const md = readFileSync(join(out, 'report.md'), 'utf8');
      expect(md.indexOf(report.verdict[0]!)).toBeLessThan(md.indexOf('## Results'));
      expect(md.indexOf(report.verdict[0]!)).toBeGreaterThan(0);
    });

    it('records the machine and the host setting it must never change', () => {
      const nf = existsSync('/proc/sys/net/bridge/bridge-nf-call-iptables')
        ? Number(readFileSync('/proc/sys/net/bridge/bridge-nf-call-iptables', 'utf8'))
        : null;
      expect(report.machine.bridgeNfCallIptables).toBe(nf);
      expect(report.machine.kernel).toBe(readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim());
      expect(report.options.quick).toBe(true);
    });

    it('lists every path; only tapyard may be skipped, and then with a reason; nothing failed', () => {
      expect(report.paths.map((p) => p.id)).toEqual(PATHS.map((p) => p.id));
      for (const p of report.paths) {
        if (p.status === 'skipped') {
          expect(p.forwarder).toBe('tapyard');
          expect(p.note.length).toBeGreaterThan(10);
        } else {
          expect(p.status).toBe('ok');
        }
      }
      expect(report.failures).toEqual([]);
    });

    it('has every measurement in every round: forwarder paths in all, kernel-only paths in the first', () => {
      const { rounds, referenceRounds } = report.options;
      const top = Math.max(...report.options.foreignRatesPerSecond);
      for (const p of report.paths.filter((x) => x.status === 'ok')) {
        const n = p.forwarder ? rounds : referenceRounds;
        const inOrder = (samples: { round: number }[] | undefined, count: number, what: string) =>
          expect(
            samples?.map((s) => s.round).sort((a, b) => a - b),
            `${p.id} ${what}`,
          ).toEqual(Array.from({ length: count }, (_, i) => i + 1));
        for (const offload of p.forwarder ? [false, true] : [null])
          for (const direction of ['ext-to-guest', 'guest-to-ext'])
            inOrder(
              report.tcp.find((t) => t.path === p.id && t.offload === offload && t.direction === direction)?.samples,
              offload === false ? referenceRounds : n,
              `tcp ${offload} ${direction}`,
            );
        for (const size of report.options.frameSizes) {
          inOrder(report.rate.find((r) => r.path === p.id && r.frameSize === size)?.samples, n, `rate ${size}`);
          inOrder(report.ndr.find((r) => r.path === p.id && r.frameSize === size)?.samples, n, `ndr ${size}`);
        }
        for (const load of [null, ...report.options.loadFractions])
          inOrder(report.latency.find((l) => l.path === p.id && l.loadFraction === load)?.samples, n, `latency`);
        if (p.id !== 'ref-veth')
          inOrder(
            report.foreign.find((f) => f.path === p.id && !f.floodOff && f.offeredPerSecond === top)?.samples,
            n,
            'foreign',
          );
      }
    });

    it("shows each figure once: a ratio is the quotient of the figures beside it, and those are the tables'", () => {
      for (const x of report.ratios) {
        if (x.tapyard !== null && x.c !== null) expect(x.ratio).toBeCloseTo(x.tapyard / x.c, 12);
        const size = x.metric.match(/^no-drop rate, (\d+) B$/)?.[1];
        if (size)
          expect(x.tapyard).toBe(
            report.ndr.find((n) => n.path === `${x.path}/tapyard` && n.frameSize === size)?.ndrPerSecond?.median,
          );
        if (x.metric === 'RTT p50, idle')
          expect(x.c).toBe(
            report.latency.find((l) => l.path === `${x.path}/c` && l.loadFraction === null)?.pooled?.p50Ns,
          );
        expect(x.pairs).toBe(report.options.rounds);
        expect(x.wins + x.losses).toBeLessThanOrEqual(x.pairs);
        if (x.ciLow !== null) expect(x.ciLow).toBeGreaterThanOrEqual(0);
      }
    });

    it('conserves counts: sent >= delivered, forwarder rx = tx + drops', () => {
      const trials = [
        ...report.rate.flatMap((r) => r.samples.flatMap((s) => s.fullLoadTrials)),
        ...report.ndr.flatMap((n) => n.samples.flatMap((s) => s.loads.flatMap((l) => l.trials))),
      ];
      for (const t of trials) {
        expect(t.sentFrames).toBeGreaterThanOrEqual(t.deliveredFrames);
        expect(t.lossFraction).toBeCloseTo(t.sentFrames ? 1 - t.deliveredFrames / t.sentFrames : 0, 9);
      }
      const samples = [...report.tcp, ...report.rate, ...report.ndr, ...report.latency, ...report.foreign].flatMap(
        (x) => x.samples.map((s) => ({ path: x.path, forwarder: s.forwarder })),
      );
      for (const { path, forwarder } of samples) {
        const hasForwarder = report.paths.find((p) => p.id === path)!.forwarder !== null;
        expect(forwarder === null, path).toBe(!hasForwarder);
        if (!forwarder) continue;
        expect(forwarder.rxFrames, path).toBe(forwarder.txFrames + forwarder.droppedFrames);
        expect(
          Object.values(forwarder.dropsFrames).reduce((a, b) => a + b, 0),
          path,
        ).toBe(forwarder.droppedFrames);
        expect(forwarder.wireRxFrames + forwarder.guestRxFrames, path).toBeLessThanOrEqual(forwarder.rxFrames);
      }
      // A forwarder forwards what reached the guest in a rate run: it cannot have sent fewer.
      for (const r of report.rate.filter((x) => x.samples[0]?.forwarder))
        expect(r.samples[0]!.forwarder!.wireRxFrames).toBeGreaterThanOrEqual(r.samples[0]!.trial.deliveredFrames);
      // The round's full-load figure is the middle of its three trials by delivered rate.
      for (const r of report.rate)
        for (const s of r.samples) {
          const sorted = s.fullLoadTrials.map((t) => t.deliveredPerSecond).sort((a, b) => a - b);
          expect(sorted).toHaveLength(3);
          expect(s.trial.deliveredPerSecond).toBe(sorted[1]);
        }
    });

    it('judges each load best of three, and reports the highest passing load below the lowest failing one', () => {
      const { ndrLossFraction, pdrLossFraction, ndrMaxTrials } = report.options;
      for (const n of report.ndr)
        for (const s of n.samples) {
          // A slow reader slows the sender on every path but the bridge forwarders' (rate.ts).
          const def = PATHS.find((x) => x.id === n.path)!;
          const shortfallFails = !(def.lab === 'bridge' && def.forwarder !== null);
          const full = report.rate
            .find((r) => r.path === n.path && r.frameSize === n.frameSize)!
            .samples.find((x) => x.round === s.round)!.trial;
          expect(s.trialCount).toBeLessThanOrEqual(ndrMaxTrials);
          expect(s.pdrPerSecond).toBeGreaterThanOrEqual(s.ndrPerSecond);
          for (const l of s.loads) {
            expect(l.trials.length).toBeLessThanOrEqual(3);
            const met = l.trials.filter((t) => meets(t, ndrLossFraction, shortfallFails)).length;
            expect(l.ndrPassed).toBe(met > l.trials.length - met);
            const pdrMet = l.trials.filter((t) => meets(t, pdrLossFraction, shortfallFails)).length;
            expect(l.pdrPassed).toBe(pdrMet > l.trials.length - pdrMet);
          }
          if (meets(full, ndrLossFraction, false)) {
            expect(s.ndrPerSecond).toBe(full.sentPerSecond);
            continue;
          }
          const lowestFail = Math.min(
            full.sentPerSecond,
            ...s.loads.filter((l) => !l.ndrPassed).map((l) => l.offeredPerSecond),
          );
          const below = s.loads.filter((l) => l.ndrPassed && l.provedPerSecond < lowestFail);
          expect(s.ndrPerSecond).toBe(below.length ? Math.max(...below.map((l) => l.provedPerSecond)) : 0);
        }
    });

    it("loads each lab's latency at its own basis: the lower of its two forwarders' 64-byte PDR", () => {
      const loaded = report.latency.filter((l) => l.loadFraction !== null && !l.path.startsWith('ref-'));
      expect(loaded.length).toBeGreaterThan(0);
      for (const l of loaded) {
        const lab = l.path.split('/')[0];
        const pdr = (fwd: string) =>
          report.ndr.find((n) => n.path === `${lab}/${fwd}` && n.frameSize === '64')?.pdrPerSecond?.median;
        const basis = Math.min(pdr('c') as number, pdr('tapyard') as number);
        for (const s of l.samples) expect(s.loadPerSecond).toBeCloseTo(basis * (l.loadFraction as number), 0);
      }
    });

    it('counts every round trip into the histogram, and the percentiles come from it', () => {
      for (const l of report.latency)
        for (const s of l.samples) {
          const total = s.histogram.counts.reduce((a, b) => a + b, 0);
          expect(total).toBe(s.sentProbes - s.lostProbes);
          expect(total).toBeGreaterThan(
            (l.loadFraction === null ? report.options.latencyCount : report.options.loadedLatencyCount) * 0.9,
          );
          expect(s.percentiles.p50Ns).toBe(histogramPercentile(s.histogram, 50));
          expect(s.percentiles.p999Ns).toBe(histogramPercentile(s.histogram, 99.9));
          expect(s.percentiles.p50Ns).toBeLessThanOrEqual(s.percentiles.p99Ns);
          expect(s.percentiles.p99Ns).toBeLessThanOrEqual(s.percentiles.p999Ns);
          if (l.loadFraction !== null) expect(s.loadPerSecond).toBeGreaterThan(0);
          // The forwarder paths ran side by side: idle in turn, a round trip each; loaded in
          // alternating sub-blocks. A kernel-only path alone, in one block.
          const sideBySide = l.loadFraction === null ? s.sentProbes : report.options.loadedLatencySubBlocks;
          expect(s.subBlocks).toBe(l.path.startsWith('ref-') ? 1 : sideBySide);
        }
    });

    it('shows the seed experiment: the bridge floods foreign frames to the forwarder, macvtap does not', () => {
      const at = (path: string, floodOff: boolean) =>
        report.foreign.find((f) => f.path === path && f.floodOff === floodOff)?.samples[0];
      for (const p of report.paths.filter((x) => x.status === 'ok' && x.forwarder)) {
        const s = at(p.id, false)!;
        expect(s.offeredFrames).toBeGreaterThan(0);
        expect(s.labCores).toBeCloseTo(s.generatorCores + s.forwarderCores!, 9);
        // Most, not all: on a loaded machine the tap's queue overflows before the reader (the
        // kernel counts those); the point is the contrast with macvtap's zero.
        if (p.lab === 'bridge') {
          expect(s.forwarderWireRxFrames!).toBeGreaterThan(s.offeredFrames * 0.5);
          expect(at(p.id, true)!.forwarderWireRxFrames!).toBeLessThan(at(p.id, true)!.offeredFrames * 0.01);
        } else {
          expect(s.forwarderWireRxFrames!).toBeLessThan(s.offeredFrames * 0.01);
        }
      }
      // Kernel-only: the bridge hands them to the guest's interface, the macvlan does not.
      expect(at('ref-bridge', false)!.guestIfRxFrames).toBeGreaterThan(at('ref-bridge', false)!.offeredFrames * 0.5);
      expect(at('ref-macvlan', false)!.guestIfRxFrames).toBeLessThan(at('ref-macvlan', false)!.offeredFrames * 0.01);
    });

    it('quotes the micro benchmarks when they exist', () => {
      const files = readdirSync(join(ROOT, 'bench/micro')).filter((f) => f.endsWith('.bench.ts'));
      if (files.length === 0) {
        expect(report.micro.status).toBe('absent');
        return;
      }
      expect(report.micro.status).toBe('ok');
      expect(new Set(report.micro.results.map((m) => m.source))).toEqual(new Set(files.map((f) => `bench/micro/${f}`)));
      for (const m of report.micro.results) expect(m.framesPerSecond).toBeGreaterThan(0);
    });

    it('writes report.md with every path, and well-formed SVG charts', () => {
      const md = readFileSync(join(out, 'report.md'), 'utf8');
      for (const p of PATHS) expect(md).toContain(`| ${p.id}`);
      const charts = readdirSync(out)
        .filter((f) => f.endsWith('.svg'))
        .sort();
      expect(charts).toEqual([
        'cpu-per-frame.svg',
        'foreign-traffic.svg',
        'latency.svg',
        'packet-rate.svg',
        'throughput.svg',
      ]);
      for (const chart of charts) {
        expect(md).toContain(`](${chart})`);
        const { problems, root } = xmlProblems(readFileSync(join(out, chart), 'utf8'));
        expect(problems, chart).toEqual([]);
        expect(root).toBe('svg');
      }
    });

    it('has the VM rows beside the namespace rows, or one sentence why this machine has none', () => {
      if (report.vm.status === 'skipped') {
        expect(report.vm.note).toMatch(/^No VM rows: .+\.$/);
        expect(report.verdict).toContain(report.vm.note);
        return;
      }
      // --quick: QEMU's tap backend and tapyard's vhost-user port on each wire (no socket netdev).
      expect(report.vm.rows.map((v) => v.path).sort()).toEqual([
        'qemu-tap/bridge',
        'qemu-tap/macvtap',
        'tapyard-vhost/bridge',
        'tapyard-vhost/macvtap',
      ]);
      for (const v of report.vm.rows) expect(v.accel).toBe(report.vm.accel);
      expect(report.verdict.some((s) => s.startsWith('A real QEMU VM under'))).toBe(true);
    });

    it('took its labs down', async () => {
      // A twin of each forwarder lab: the latency rounds run tapyard and the C loop side by side.
      expect(report.labs.map((l) => l.kind).sort()).toEqual([
        'bridge',
        'bridge',
        'macvtap',
        'macvtap',
        'ref-bridge',
        'ref-macvlan',
        'ref-veth',
      ]);
      const left = (await namespaces()).filter((ns) => report.labs.some((l) => ns.startsWith(`ty-${l.id}-`)));
      expect(left).toEqual([]);
      expect(readdirSync(join(dir, 'run')).filter((f) => f.startsWith('lab-'))).toEqual([]);
    });
  });
});
