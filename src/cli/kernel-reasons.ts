// `forward --kernel-reasons`: the kernel's own reason for each drop on a port's device (a full
// macvtap or tap ring, FULL_RING; a tap nobody reads, DEV_READY; ...), watched on skb:kfree_skb
// for exactly those devices (their namespace and ifindex, filtered in the kernel), and put beside
// the counters the ports report (kernel.reasons in --json).

import type { ForwardConfig } from '../config/forward.js';
import { TapyardError } from '../error.js';
import { countDrops, netnsInode } from '../kernel/drop-watch.js';
import { showLink } from '../kernel/iproute.js';
import type { CountersReport } from '../run/counters-report.js';

export interface PortDropWatch {
  /** Put each port's tally of kernel reasons into the report's kernel counters. */
  annotate(report: CountersReport): CountersReport;
  stop(): Promise<void>;
}

interface Watched {
  port: number;
  netns: string;
  ifindex: number;
}

function ifindex(ifname: string, netns: string | undefined): number {
  try {
    return showLink(ifname, { netns }).ifindex;
  } catch {
    throw new TapyardError('ENOWATCH', `cannot find ${ifname}'s ifindex`);
  }
}

/** Start watching; a sentence (thrown as ENOWATCH) when the kernel's drops cannot be watched here. */
export async function watchPortDrops(config: ForwardConfig): Promise<PortDropWatch> {
  const watched: Watched[] = [];
  config.ports.forEach((p, port) => {
    const d = p.device;
    if (d.kind !== 'macvtap' && d.kind !== 'tap') return;
    const netns = d.kind === 'tap' && d.netns !== undefined ? d.netns : undefined;
    watched.push({ port, netns: netns ?? '/proc/self/ns/net', ifindex: ifindex(d.ifname, netns) });
  });
  if (watched.length === 0) throw new TapyardError('ENOWATCH', 'no macvtap or tap port to watch');
  const byNetns = new Map<string, number[]>();
  for (const w of watched) byNetns.set(w.netns, [...(byNetns.get(w.netns) ?? []), w.ifindex]);
  const watch = await countDrops([...byNetns].map(([netns, ifindexes]) => ({ netns, ifindexes })));
  const inodes = new Map(watched.map((w) => [w.port, netnsInode(w.netns)]));
  return {
    annotate(report) {
      const counts = watch.counts();
      for (const w of watched) {
        const kernel = report.ports[w.port]?.kernel;
        if (kernel === null || kernel === undefined) continue;
        kernel.reasons = counts
          .filter((c) => c.ifindex === w.ifindex && c.netns === inodes.get(w.port))
          .map(({ reason, fn, count }) => ({ reason, fn, count }))
          .sort((a, b) => b.count - a.count);
      }
      return report;
    },
    stop: () => watch.stop(),
  };
}
