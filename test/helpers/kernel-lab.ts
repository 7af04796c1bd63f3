// Throwaway network namespaces for the conformance suites. Every namespace and link is named
// ty-<runid>-..., made inside namespaces this run created, and removed in afterAll, at exit and
// on SIGINT/SIGTERM, so that nothing outlives the run even when it fails or is interrupted.

import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';

const created = new Set<string>();
let hooked = false;

function removeAll(): void {
  for (const ns of [...created]) {
    try {
      execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
    } catch {
      // already gone
    }
    created.delete(ns);
  }
}

function hookSignals(): void {
  if (hooked) return;
  hooked = true;
  process.once('exit', removeAll);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      removeAll();
      process.exit(130);
    });
  }
}

/** A fresh run id: 5 hex digits, so that ty-ID-xxxxx stays within 15 characters. */
export function newRunId(): string {
  return randomBytes(3).toString('hex').slice(0, 5);
}

/** Run `ip ARGS...`; throws with ip's own message on failure. */
export function ip(...args: string[]): string {
  try {
    return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    const stderr = (err as { stderr?: string }).stderr?.trim() ?? '';
    throw new Error(`ip ${args.join(' ')}: ${stderr || String(err)}`);
  }
}

/** Run a command inside a namespace. */
export function nsExec(ns: string, ...args: string[]): string {
  return ip('netns', 'exec', ns, ...args);
}

/** Create a namespace with loopback up and IPv6 autoconfiguration off (no background traffic). */
export function addNamespace(name: string): string {
  if (!name.startsWith('ty-') || name.length > 40) throw new Error(`refusing to create namespace ${name}`);
  hookSignals();
  created.add(name);
  ip('netns', 'add', name);
  ip('-n', name, 'link', 'set', 'lo', 'up');
  // disable_ipv6 first, so that devices created later never send DAD, RS or MLD reports.
  nsExec(name, 'sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1');
  return name;
}

export function deleteNamespace(name: string): void {
  if (!created.has(name)) return;
  try {
    ip('netns', 'del', name);
  } finally {
    created.delete(name);
  }
}

export function deleteAll(): void {
  removeAll();
}

/** A veth pair, created inside `nsA`, with its peer moved into `nsB`; both ends up. */
export function addVeth(nsA: string, nameA: string, nsB: string, nameB: string): void {
  ip('-n', nsA, 'link', 'add', nameA, 'type', 'veth', 'peer', 'name', nameB, 'netns', nsB);
  ip('-n', nsA, 'link', 'set', nameA, 'up');
  ip('-n', nsB, 'link', 'set', nameB, 'up');
}

export function macOf(ns: string, dev: string): string {
  return nsExec(ns, 'cat', `/sys/class/net/${dev}/address`).trim();
}

/** The link-layer multicast addresses a device has joined (its dev->mc list). */
export function multicastList(ns: string, dev: string): string[] {
  const out = ip('-n', ns, 'maddr', 'show', 'dev', dev);
  return [...out.matchAll(/link\s+([0-9a-f:]{17})/g)].map((m) => m[1]!);
}

/** `promiscuity N` from `ip -d link show`: how many reasons the device has to be promiscuous. */
export function promiscuity(ns: string, dev: string): number {
  const m = /promiscuity (\d+)/.exec(ip('-n', ns, '-d', 'link', 'show', dev));
  if (m === null) throw new Error(`no promiscuity for ${dev}`);
  return Number(m[1]);
}

/**
 * A Linux bridge that forwards at once: STP off, no forward delay, no multicast snooping
 * (the models flood every group frame, as a bridge without snooping does).
 */
export function addBridge(ns: string, name: string, ageingSeconds = 300): void {
  ip(
    '-n',
    ns,
    'link',
    'add',
    name,
    'type',
    'bridge',
    'stp_state',
    '0',
    'forward_delay',
    '0',
    'mcast_snooping',
    '0',
    'ageing_time',
    String(Math.round(ageingSeconds * 100)),
  );
  ip('-n', ns, 'link', 'set', name, 'up');
}

/** Wait until every port of the bridge is forwarding (ports start disabled until up). */
export async function waitForwarding(ns: string, ports: readonly string[]): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!ports.every((p) => /bridge_slave state forwarding/.test(ip('-n', ns, '-d', 'link', 'show', 'dev', p)))) {
    if (Date.now() > deadline) throw new Error(`bridge ports ${ports.join(', ')} never reached forwarding`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Forget every learned FDB entry of a Linux bridge. */
export function flushFdb(ns: string, bridge: string): void {
  ip('-n', ns, 'link', 'set', bridge, 'type', 'bridge', 'fdb_flush');
}
