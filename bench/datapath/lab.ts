// The benchmark's labs, built and removed by the lab builder in this process (src/lab/up.ts). We
// pick each lab's id ourselves before anything is made, so a run interrupted half-way still knows
// what to remove; the builder itself removes what it made when it fails or a signal stops it.

import { TapyardError } from '../../src/error.js';
import { type IpLink, iprouteJsonAsync, showLinkAsync } from '../../src/kernel/iproute.js';
import { newLabId, teardown } from '../../src/lab/builder.js';
import { bringUpLab } from '../../src/lab/up.js';
import { packageRoot } from '../../src/package-root.js';
import type { LabKind } from './report-schema.js';

/** The checkout: the same root the product finds its own files by. */
export function repoRoot(): string {
  return packageRoot();
}

export interface Lab {
  id: string;
  kind: LabKind;
  env: Record<string, string>;
}

/** Labs brought up by this process and not yet taken down. */
const upLabs = new Map<string, Lab>();

/** `options` are `lab up`'s own (`--mq` for multi-queue taps). */
export async function labUp(kind: LabKind, options: readonly string[] = []): Promise<Lab> {
  const id = newLabId();
  const lab: Lab = { id, kind, env: {} };
  upLabs.set(id, lab); // before `up`: a signal mid-way must still lead to `lab down`
  try {
    const up = await bringUpLab([kind, ...options], { id });
    Object.assign(lab.env, up.env);
  } catch (err) {
    upLabs.delete(id); // the builder removed what it had made
    throw new TapyardError('BENCH_SETUP', (err as Error).message);
  }
  return lab;
}

export async function labDown(lab: Lab): Promise<void> {
  upLabs.delete(lab.id);
  teardown(lab.id); // a lab that is gone already is nothing to remove
}

/** Takes down every lab this process brought up; used by finally blocks and signal handlers. */
export async function labDownAll(): Promise<void> {
  for (const lab of [...upLabs.values()]) await labDown(lab);
}

/** `ip netns exec NS ...argv` */
export const inNs = (ns: string, argv: readonly string[]): string[] => ['ip', 'netns', 'exec', ns, ...argv];

export function need(lab: Lab, key: string): string {
  const v = lab.env[key];
  if (v === undefined) throw new TapyardError('BENCH_SETUP', `lab ${lab.kind} printed no ${key}`);
  return v;
}

/** An interface's kernel counters, read in its namespace. */
export async function linkStats(
  ns: string,
  ifname: string,
): Promise<{ rxPackets: number; txPackets: number; txDropped: number; rxDropped: number }> {
  const link = await showLinkAsync(ifname, { netns: ns, stats: true, timeoutMs: 10_000 });
  return {
    rxPackets: link.stats64?.rx.packets ?? 0,
    rxDropped: link.stats64?.rx.dropped ?? 0,
    txPackets: link.stats64?.tx.packets ?? 0,
    txDropped: link.stats64?.tx.dropped ?? 0,
  };
}

/** Whether a link has carrier: a persistent tap gets it when a forwarder attaches. */
export async function hasCarrier(ns: string, ifname: string): Promise<boolean> {
  const link = await showLinkAsync(ifname, { netns: ns, timeoutMs: 10_000 });
  return !link.flags.includes('NO-CARRIER') && link.flags.includes('LOWER_UP');
}

/** The bridge ports of `bridge` in `ns`. */
export async function bridgePorts(ns: string, bridge: string): Promise<string[]> {
  const links = await iprouteJsonAsync<IpLink[]>(['link', 'show', 'master', bridge], { netns: ns, timeoutMs: 10_000 });
  return links.map((l) => l.ifname);
}
