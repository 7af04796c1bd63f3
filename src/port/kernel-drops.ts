// What the kernel dropped on a device tapyard uses, outside tapyard's sight: frames lost in the
// device's queue before tapyard read them (a full tap or macvtap ring), and frames the kernel
// took from tapyard's write and then dropped (a link that is down, a full qdisc). Which counter
// is which depends on the device: a tap receives what userspace writes (its rx) and transmits
// what userspace reads (its tx); a macvtap is the other way round (tap_get_user transmits on
// the macvlan, tap_handle_frame queues what the lower receives).

import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

export interface KernelDrops {
  /** Frames the kernel dropped on the way to tapyard (its queue overflowed). */
  beforeRead: number;
  /** Frames tapyard wrote that the kernel then dropped. */
  afterWrite: number;
}

interface DeviceStats {
  rxDropped: number;
  txDropped: number;
}

function sysfsStats(ifname: string): DeviceStats {
  const read = (name: string) => Number(readFileSync(`/sys/class/net/${ifname}/statistics/${name}`, 'utf8'));
  return { rxDropped: read('rx_dropped'), txDropped: read('tx_dropped') };
}

/** Another namespace's sysfs is not ours to read: ask iproute2 there. */
function netnsStats(ifname: string, netns: string): DeviceStats {
  const out = execFileSync('ip', ['-n', netns, '-j', '-s', 'link', 'show', 'dev', ifname], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
    timeout: 2000,
  });
  const [link] = JSON.parse(out) as { stats64?: { rx: { dropped: number }; tx: { dropped: number } } }[];
  return { rxDropped: link?.stats64?.rx.dropped ?? 0, txDropped: link?.stats64?.tx.dropped ?? 0 };
}

/**
 * A reader of the kernel's drops since now (the counters' values at open are the baseline), or
 * null when the device cannot be read. A device that is gone reads as no new drops.
 */
export function kernelDropsReader(
  kind: 'tap' | 'macvtap',
  ifname: string,
  netns: string | undefined,
): () => KernelDrops {
  const stats = () => (netns === undefined ? sysfsStats(ifname) : netnsStats(ifname, netns));
  const pick = (s: DeviceStats): KernelDrops =>
    kind === 'tap'
      ? { beforeRead: s.txDropped, afterWrite: s.rxDropped }
      : { beforeRead: s.rxDropped, afterWrite: s.txDropped };
  let base: KernelDrops = { beforeRead: 0, afterWrite: 0 };
  let last: KernelDrops = base;
  try {
    base = pick(stats());
    last = base;
  } catch {
    // counted from zero
  }
  return () => {
    try {
      last = pick(stats());
    } catch {
      // the device is gone: its last counters stand
    }
    return { beforeRead: last.beforeRead - base.beforeRead, afterWrite: last.afterWrite - base.afterWrite };
  };
}
