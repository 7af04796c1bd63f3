// What the kernel dropped on a device tapyard uses, outside tapyard's sight: frames lost in the
// device's queue before tapyard read them (a full tap or macvtap ring), and frames the kernel
// took from tapyard's write and then dropped (a link that is down, a full qdisc). Which counter
// is which depends on the device: a tap receives what userspace writes (its rx) and transmits
// what userspace reads (its tx); a macvtap is the other way round (tap_get_user transmits on
// the macvlan, tap_handle_frame queues what the lower receives).

import { readFileSync } from 'node:fs';
import { type IpLink, showLink, showLinkAsync } from '../kernel/iproute.js';

export interface KernelDrops {
  /** Frames the kernel dropped on the way to tapyard (its queue overflowed). */
  beforeRead: number;
  /** Frames tapyard wrote that the kernel then dropped. */
  afterWrite: number;
  /**
   * With `forward --kernel-reasons`: the kernel's own account of its drops on the device, by
   * SKB_DROP_REASON and the function that freed the frame (skb:kfree_skb).
   */
  reasons?: { reason: string; fn: string; count: number }[];
}

interface DeviceStats {
  rxDropped: number;
  txDropped: number;
}

function sysfsStats(ifname: string): DeviceStats {
  const read = (name: string) => Number(readFileSync(`/sys/class/net/${ifname}/statistics/${name}`, 'utf8'));
  return { rxDropped: read('rx_dropped'), txDropped: read('tx_dropped') };
}

/** Another namespace's sysfs is not ours to read: iproute2 there tells. */
function ipStats(link: IpLink): DeviceStats {
  return { rxDropped: link.stats64?.rx.dropped ?? 0, txDropped: link.stats64?.tx.dropped ?? 0 };
}

const REFRESH_MS = 1000;

/**
 * A reader of the kernel's drops since now (the counters' values at open are the baseline). In
 * this namespace sysfs is read at once; another namespace's counters come from `ip -n`, run in
 * the background once a second so that the loop never waits for it, and run to completion when
 * a fresh reading is asked for (the final report). A device that is gone keeps its last counts.
 */
export function kernelDropsReader(
  kind: 'tap' | 'macvtap',
  ifname: string,
  netns: string | undefined,
): { read: (fresh: boolean) => KernelDrops; stop: () => void } {
  const pick = (s: DeviceStats): KernelDrops =>
    kind === 'tap'
      ? { beforeRead: s.txDropped, afterWrite: s.rxDropped }
      : { beforeRead: s.rxDropped, afterWrite: s.txDropped };
  const query = { netns, stats: true, timeoutMs: 2000 };
  const readNow = (): DeviceStats => (netns === undefined ? sysfsStats(ifname) : ipStats(showLink(ifname, query)));
  let last: KernelDrops = { beforeRead: 0, afterWrite: 0 };
  try {
    last = pick(readNow());
  } catch {
    // counted from zero
  }
  const base = last;
  let timer: NodeJS.Timeout | null = null;
  if (netns !== undefined) {
    let running = false;
    timer = setInterval(() => {
      if (running) return;
      running = true;
      showLinkAsync(ifname, query).then(
        (link) => {
          running = false;
          last = pick(ipStats(link));
        },
        () => {
          running = false; // keep the last reading
        },
      );
    }, REFRESH_MS);
    timer.unref();
  }
  const read = (fresh: boolean): KernelDrops => {
    if (fresh || netns === undefined) {
      try {
        last = pick(readNow());
      } catch {
        // the device is gone: its last counters stand
      }
    }
    return { beforeRead: last.beforeRead - base.beforeRead, afterWrite: last.afterWrite - base.afterWrite };
  };
  return {
    read,
    stop: () => {
      if (timer !== null) clearInterval(timer);
    },
  };
}
