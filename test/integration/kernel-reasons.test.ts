// forward --kernel-reasons: the kernel's own reason for the drops on a port's device, beside the
// counters. tapyard is stopped (SIGSTOP) while frames pour into the guest's tap, whose ring then
// overflows: the kernel frees each frame it cannot queue in tun_net_xmit as FULL_RING and counts it
// as a tx drop, which tapyard reports as dropped before its read; the reasons must add up to it.

import { afterEach, describe, expect, it } from 'vitest';
import { netnsPath, tapio } from '../../src/port/native.js';
import { finalReport, forwardArgs, type Lab, labUp, startTapyard } from '../helpers/lab.js';

let lab: Lab | null = null;
afterEach(() => {
  lab?.down();
  lab = null;
});

function flood(ns: string, dev: string, frames: number): void {
  const io = tapio();
  const fd = io.packetSocket(dev, 0, netnsPath(ns));
  const bytes = new Uint8Array(60).fill(0xab);
  bytes.set([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0, 0, 0, 0x33, 0x33, 0x88, 0xb5], 0);
  const status = new Int32Array(1);
  try {
    for (let i = 0; i < frames; i++) io.writeBatch(fd, bytes, Uint32Array.of(0), Uint32Array.of(60), 1, status);
  } finally {
    io.close(fd);
  }
}

describe('forward --kernel-reasons', () => {
  it('names FULL_RING in tun_net_xmit for a guest tap tapyard did not read, adding up to its count', async () => {
    lab = await labUp('macvtap', '--mode', 'bridge');
    const t = startTapyard(lab, forwardArgs(lab, '--kernel-reasons', '--json'));
    await t.waitFor(/tapyard: forwarding/, 30_000);
    expect(t.stderr()).not.toMatch(/not shown/);
    process.kill(t.child.pid!, 'SIGSTOP');
    try {
      flood(lab.ns('gst'), lab.env.GUEST_IF!, 3000);
    } finally {
      process.kill(t.child.pid!, 'SIGCONT');
    }
    await new Promise((r) => setTimeout(r, 1200));
    await t.stop();
    const guest = finalReport(t).ports.find((p) => p.name === 'guest')!;
    expect(guest.kernel!.beforeRead).toBeGreaterThan(1000);
    const reasons = guest.kernel!.reasons!;
    expect(reasons).toContainEqual(expect.objectContaining({ reason: 'FULL_RING', fn: 'tun_net_xmit' }));
    expect(reasons.reduce((a, r) => a + r.count, 0)).toBe(guest.kernel!.beforeRead);
  });

  it('says in one sentence when it cannot watch, and forwards on', async () => {
    lab = await labUp('macvtap', '--mode', 'bridge');
    const e = lab.env;
    const t = startTapyard(lab, [
      'forward',
      '--port',
      `wire=pcap:${e.WIRE_IF}`,
      '--port',
      'guest=guest:10.99.0.2/24',
      '--kernel-reasons',
    ]);
    await t.waitFor(/tapyard: forwarding/, 30_000);
    expect(t.stderr()).toContain("tapyard: the kernel's drop reasons are not shown: no macvtap or tap port to watch");
    const r = await t.stop();
    expect(r.code).toBe(0);
  });
});
