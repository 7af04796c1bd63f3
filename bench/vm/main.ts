// node dist/bench/vm/main.js [--accel tcg|kvm|auto] [--mib N] [--pings N] [--seconds N] [--paths LIST] [--json]
// Boots the guest on each path in turn and prints a table (or the rows as JSON).

import { TapyardError } from '../../src/error.js';
import { chooseAccel } from '../../src/vm/accel.js';
import { guestImage } from '../../src/vm/guest.js';
import { labDownAll } from './lab.js';
import { measureVmPaths, pathName, VM_PATHS, type VmRow } from './measure.js';

const USAGE =
  'usage: node dist/bench/vm/main.js [--accel tcg|kvm|auto] [--mib N] [--pings N] [--seconds N] ' +
  '[--paths LIST] [--json]';

function fail(sentence: string, status: number): never {
  labDownAll();
  process.stderr.write(`tapyard: ${sentence}\n`);
  process.exit(status);
}

function parse(argv: string[]) {
  const o = { accel: 'tcg', mib: 20, pings: 20, seconds: 3, paths: VM_PATHS.map(pathName), json: false };
  for (let i = 0; i < argv.length; i++) {
    const key = argv[i]!;
    const value = () => argv[++i] ?? fail(`${key} needs a value (${USAGE})`, 2);
    const count = () => {
      const n = Number(value());
      if (!Number.isInteger(n) || n < 1) fail(`${key} needs a whole number of at least 1`, 2);
      return n;
    };
    if (key === '--accel') o.accel = value();
    else if (key === '--mib') o.mib = count();
    else if (key === '--pings') o.pings = count();
    else if (key === '--seconds') o.seconds = count();
    else if (key === '--paths') o.paths = value().split(',');
    else if (key === '--json') o.json = true;
    else fail(`unknown option '${key}' (${USAGE})`, 2);
  }
  if (!['tcg', 'kvm', 'auto'].includes(o.accel)) fail(`--accel is tcg, kvm or auto, not '${o.accel}'`, 2);
  const known = VM_PATHS.map(pathName);
  const bad = o.paths.find((p) => !known.includes(p));
  if (bad !== undefined) fail(`no VM path '${bad}' (the paths: ${known.join(', ')})`, 2);
  return o;
}

function table(rows: VmRow[]): string {
  const head = [
    'path',
    'accel',
    'ping',
    'rtt min/avg/max ms',
    'TCP MiB',
    'arrived',
    's',
    'Mbit/s',
    'iperf3 Mbit/s',
    'ledger',
  ];
  const body = rows.map((r) => [
    r.path,
    r.accel,
    `${r.pingReplies}/${r.pings}`,
    `${r.rttMinMs.toFixed(2)}/${r.rttAvgMs.toFixed(2)}/${r.rttMaxMs.toFixed(2)}`,
    (r.tcpBytes / 1048576).toFixed(0),
    r.tcpBytesArrived === r.tcpBytes ? 'all' : `${r.tcpBytesArrived} B`,
    r.tcpSeconds.toFixed(1),
    r.tcpMbitPerS.toFixed(0),
    r.iperf3MbitPerS === null ? '-' : r.iperf3MbitPerS.toFixed(0),
    r.ledgerBalanced === null ? '-' : r.ledgerBalanced ? 'balanced' : 'UNBALANCED',
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  return [head, ...body]
    .map((cells) =>
      cells
        .map((c, i) => c.padEnd(widths[i]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

async function main(): Promise<void> {
  const o = parse(process.argv.slice(2));
  if (process.getuid?.() !== 0) fail('the VM benchmark needs root (it builds namespaces, taps and macvtaps)', 1);
  guestImage(); // no image: one sentence now, not after a lab is up
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => fail(`stopped by ${signal}`, 1));
  const accel = await chooseAccel(o.accel as 'tcg' | 'kvm' | 'auto');
  const paths = VM_PATHS.filter((p) => o.paths.includes(pathName(p)));
  const rows = await measureVmPaths({ accel, paths, pings: o.pings, tcpMiB: o.mib, iperfSeconds: o.seconds });
  process.stdout.write(o.json ? `${JSON.stringify(rows, null, 2)}\n` : `${table(rows)}\n`);
}

main().catch((err: unknown) => {
  fail(err instanceof TapyardError ? err.message : `the VM benchmark failed: ${(err as Error).message}`, 1);
});
