// A tap has no carrier until a program attaches to it, and the kernel tells the rest of the
// stack (a bridge that has the tap as a port) only when its link watcher runs, up to a second
// later (net/core/link_watch.c; 20-160 ms here). A frame written in between reached a bridge
// port that was still disabled and was lost (2 of 3 frames arrived in a test run, with no
// counter saying so): send waits until the tap's operstate says up.

import { readFileSync } from 'node:fs';
import { showLink } from '../kernel/iproute.js';
import type { DeviceConfig } from '../port/open.js';

const POLL_MS = 20;

function operstate(ifname: string, netns: string | undefined): string {
  try {
    if (netns === undefined) return readFileSync(`/sys/class/net/${ifname}/operstate`, 'utf8').trim();
    return showLink(ifname, { netns }).operstate?.toLowerCase() ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

/** Resolves true once the device can carry frames (at once for all but a tap), false at the timeout. */
export async function carrierUp(device: DeviceConfig, timeoutMs = 3000): Promise<boolean> {
  if (device.kind !== 'tap') return true;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (operstate(device.ifname, device.netns) === 'up') return true;
    if (Date.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}
