// What the numbers were measured on. Read only: the benchmark never changes a host setting
// (br_netfilter's bridge-nf-call-iptables in particular is recorded, not touched).

import { readFileSync } from 'node:fs';
import { cpus, hostname, loadavg, release, totalmem } from 'node:os';
import { join } from 'node:path';
import { busyCores, hostSnapshot } from './cpu.js';
import { repoRoot } from './lab.js';
import { run, sleep } from './process.js';
import type { Machine } from './report-schema.js';

const readOr = (path: string, fallback: string): string => {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return fallback;
  }
};

const firstLine = async (argv: string[]): Promise<string> => {
  try {
    const out = await run(argv, 10_000);
    return (out.stdout || out.stderr).trim().split('\n')[0] ?? '';
  } catch {
    return 'not available';
  }
};

export async function describeMachine(): Promise<Machine> {
  const root = repoRoot();
  const nf = readOr('/proc/sys/net/bridge/bridge-nf-call-iptables', '');
  const osRelease = readOr('/etc/os-release', '');
  const pkg = JSON.parse(readOr(join(root, 'package.json'), '{}')) as { version?: string };
  const namespaces = await run(['ip', 'netns', 'list'], 10_000).then(
    (o) => o.stdout.split('\n').filter((l) => l.startsWith('ty-')).length,
    () => 0,
  );
  // How busy the host is before we start: other tenants' load shows up in every CPU figure.
  const a = hostSnapshot();
  await sleep(1000);
  const b = hostSnapshot();
  return {
    hostname: hostname(),
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    memoryBytes: totalmem(),
    kernel: release(),
    os: /^PRETTY_NAME="?([^"\n]*)"?/m.exec(osRelease)?.[1] ?? 'unknown',
    node: process.version,
    iperf3: await firstLine(['iperf3', '--version']),
    cc: await firstLine(['cc', '--version']),
    tapyardVersion: pkg.version ?? 'unknown',
    gitCommit: await firstLine(['git', '-C', root, 'rev-parse', '--short', 'HEAD']),
    bridgeNfCallIptables: nf === '' ? null : Number(nf),
    tcpCongestionControl: readOr('/proc/sys/net/ipv4/tcp_congestion_control', 'unknown'),
    loadAverageAtStart: loadavg().map((x) => Math.round(x * 100) / 100),
    hostBusyCoresAtStart: Math.round(busyCores(a, b) * 100) / 100,
    otherLabNamespacesAtStart: namespaces,
  };
}
