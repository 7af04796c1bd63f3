// What the kernel dropped on a device tapyard uses, outside tapyard's sight: frames lost in the
// device's queue before tapyard read them (a full tap or macvtap ring), and frames the kernel
// took from tapyard's write and then dropped (a link that is down, a full qdisc). Which counter
// is which depends on the device: a tap receives what userspace writes (its rx) and transmits
// what userspace reads (its tx); a macvtap is the other way round (tap_get_user transmits on
// the macvlan, tap_handle_frame queues what the lower receives).

import { readFileSync } from 'node:fs';
import { netnsPath, tapio } from './native.js';
import { readWhole } from './proc-file.js';

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

/**
 * Another namespace's sysfs is not ours to read, but its /proc/net/dev is, through an fd opened in
 * it: `IFNAME: rx bytes packets errs drop ... tx bytes packets errs drop ...` (dev_seq_printf_stats;
 * rx drop is rx_dropped + rx_missed_errors, and neither a tap nor a macvtap counts missed frames).
 * null when the device is not there (gone, or moved away).
 */
function procNetDevStats(text: string, ifname: string): DeviceStats | null {
  for (const line of text.split('\n')) {
    const colon = line.indexOf(':');
    if (colon < 0 || line.slice(0, colon).trim() !== ifname) continue;
    const f = line
      .slice(colon + 1)
      .trim()
      .split(/\s+/)
      .map(Number);
    const rxDropped = f[3];
    const txDropped = f[11];
    if (rxDropped === undefined || txDropped === undefined || !(rxDropped >= 0 && txDropped >= 0)) return null;
    return { rxDropped, txDropped };
  }
  return null;
}

/**
 * A reader of the kernel's drops since now (the counters' values at open are the baseline): this
 * namespace's sysfs, or another namespace's /proc/net/dev through an fd opened there at start.
 * Both are read in microseconds, so every reading is fresh. A device that is gone keeps its last
 * counts, and so does a closed port (stop).
 */
export function kernelDropsReader(
  kind: 'tap' | 'macvtap',
  ifname: string,
  netns: string | undefined,
): { read: () => KernelDrops; stop: () => void } {
  const pick = (s: DeviceStats): KernelDrops =>
    kind === 'tap'
      ? { beforeRead: s.txDropped, afterWrite: s.rxDropped }
      : { beforeRead: s.rxDropped, afterWrite: s.txDropped };
  let proc = netns === undefined ? -1 : tapio().nsOpenRead(netnsPath(netns), '/proc/thread-self/net/dev');
  const text = new Uint8Array(16 * 1024);
  let last: KernelDrops = { beforeRead: 0, afterWrite: 0 };
  let stopped = false;
  const refresh = () => {
    if (stopped) return; // the port is closed: its last reading, taken at stop, stands
    try {
      const now = proc < 0 ? sysfsStats(ifname) : procNetDevStats(readWhole(proc, text), ifname);
      if (now !== null) last = pick(now);
    } catch {
      // the device is gone: its last counters stand
    }
  };
  refresh();
  const base = last;
  return {
    read: () => {
      refresh();
      return { beforeRead: last.beforeRead - base.beforeRead, afterWrite: last.afterWrite - base.afterWrite };
    },
    // The final counters are read after the ports close: read once more first.
    stop: () => {
      refresh();
      stopped = true;
      if (proc >= 0) tapio().close(proc);
      proc = -1;
    },
  };
}
