// One measurement on one path: the lab's endpoints, a fresh forwarder when the path has one
// (so its counters cover exactly this measurement), and the forwarder stopped afterwards
// whatever happened.

import { TapyardError } from '../../src/error.js';
import { type RunningForwarder, startForwarder } from './forwarders.js';
import { inNs, type Lab, need } from './lab.js';
import type { PathDef } from './paths.js';
import { run, sleep } from './process.js';
import type { ForwarderCounters } from './report-schema.js';

export interface Endpoints {
  nsExt: string;
  extIf: string;
  nsGst: string;
  guestIf: string;
  guestIp: string;
  guestMac: string;
}

export function endpoints(lab: Lab): Endpoints {
  return {
    nsExt: need(lab, 'NS_EXT'),
    extIf: need(lab, 'EXT_IF'),
    nsGst: need(lab, 'NS_GST'),
    guestIf: need(lab, 'GUEST_IF'),
    guestIp: need(lab, 'GUEST_IP'),
    guestMac: need(lab, 'GUEST_MAC'),
  };
}

export interface SessionOptions {
  offload: boolean;
  cpu?: number;
}

/**
 * Runs `body` with the path's forwarder running (null for kernel-only paths) and returns what
 * it returned with the forwarder's final counters.
 */
export async function session<T>(
  path: PathDef,
  lab: Lab,
  opts: SessionOptions,
  body: (fwd: RunningForwarder | null) => Promise<T>,
): Promise<{ result: T; counters: ForwarderCounters | null }> {
  const fwd = path.forwarder === null ? null : await startForwarder(path.forwarder, lab, opts);
  let result: T;
  try {
    result = await body(fwd);
  } catch (err) {
    if (fwd) await fwd.stop().catch(() => null);
    throw err;
  }
  return { result, counters: fwd ? await fwd.stop() : null };
}

/** Pings the guest from outside until it answers: ARP resolved, bridge FDB learned, path open. */
export async function warmUp(ep: Endpoints): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      await run(inNs(ep.nsExt, ['ping', '-c', '1', '-W', '1', '-q', ep.guestIp]), 5_000);
      return;
    } catch {
      if (Date.now() > deadline)
        throw new TapyardError('BENCH_PATH', `the guest ${ep.guestIp} did not answer a ping within 10 s`);
      await sleep(100);
    }
  }
}
