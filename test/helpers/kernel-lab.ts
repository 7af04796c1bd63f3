// Throwaway network namespaces for the conformance suites, made with the labs' own pieces
// (src/kernel/netns.ts). Every namespace and link is named ty-<runid>-..., made inside namespaces this
// run created, and removed in afterAll, at exit and on SIGINT/SIGTERM/SIGHUP, so that nothing
// outlives the run even when it fails or is interrupted.

import { randomBytes } from 'node:crypto';
import { iproute } from '../../src/kernel/iproute.js';
import {
  addBridge as addLabBridge,
  addVeth as addLabVeth,
  addOwnNamespace,
  removeAllOwnNamespaces,
  removeOwnNamespace,
} from '../../src/kernel/netns.js';

export { waitForwarding } from '../../src/kernel/netns.js';

/** A fresh run id: 5 hex digits, so that ty-ID-xxxxx stays within 15 characters. */
export function newRunId(): string {
  return randomBytes(3).toString('hex').slice(0, 5);
}

/** Run `ip ARGS...`; throws with ip's own message on failure. */
export function ip(...args: string[]): string {
  return iproute(args);
}

/** Run a command inside a namespace. */
export function nsExec(ns: string, ...args: string[]): string {
  return ip('netns', 'exec', ns, ...args);
}

/** Create a namespace with loopback up and IPv6 off (no background traffic), removed at the end. */
export function addNamespace(name: string): string {
  addOwnNamespace(name);
  return name;
}

export function deleteNamespace(name: string): void {
  removeOwnNamespace(name);
}

export function deleteAll(): void {
  removeAllOwnNamespaces();
}

/** A veth pair, created inside `nsA`, with its peer moved into `nsB`; both ends up. */
export function addVeth(nsA: string, nameA: string, nsB: string, nameB: string): void {
  addLabVeth({ netns: nsA, name: nameA }, { netns: nsB, name: nameB });
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
  addLabBridge(ns, name, { snooping: false, ageingSeconds });
}

/** Forget every learned FDB entry of a Linux bridge. */
export function flushFdb(ns: string, bridge: string): void {
  ip('-n', ns, 'link', 'set', bridge, 'type', 'bridge', 'fdb_flush');
}
