// tapyard follows the devices it uses while it runs: a raised MTU is taken up (no false
// `oversize` drops), and a deleted guest namespace ends the run with one sentence.

import { execFileSync } from 'node:child_process';
import { afterEach, expect, test } from 'vitest';
import { forwardArgs, type Lab, labUp, startTapyard } from '../helpers/lab.js';

let lab: Lab | null = null;
afterEach(() => {
  lab?.down();
  lab = null;
});

const setMtu = (l: Lab, role: 'ext' | 'hv' | 'gst', ifname: string, mtu: number) =>
  execFileSync('ip', ['-n', l.ns(role), 'link', 'set', ifname, 'mtu', String(mtu)]);

test('raising the MTU while tapyard runs: big frames cross, none is dropped as oversize', async () => {
  const l = labUp('macvtap');
  lab = l;
  const e = l.env;
  const t = startTapyard(l, forwardArgs(l, '--json'));
  await t.waitFor(/forwarding/);
  setMtu(l, 'ext', e.EXT_IF!, 4000);
  setMtu(l, 'hv', e.LOWER_IF!, 4000);
  setMtu(l, 'hv', e.WIRE_IF!, 4000);
  setMtu(l, 'gst', e.GUEST_IF!, 4000);
  await t.waitFor(/the tap ty-\w+-gtp \(netns ty-\w+-gst\) now carries frames up to 4018 bytes/);
  await t.waitFor(/the macvtap ty-\w+-mvt now carries frames up to 4018 bytes/);
  // 3000-byte pings, not fragmented: each must fit the new MTU end to end.
  l.run('ext', 'ping', '-c', '3', '-i', '0.2', '-W', '2', '-M', 'do', '-s', '3000', e.GUEST_IP!);
  await t.stop();
  const report = JSON.parse(t.stdout().trim().split('\n').at(-1)!);
  for (const p of report.ports) expect(p.drops).toEqual({});
  expect(report.balanced).toBe(true);
});

test("deleting the guest's namespace ends the run with one sentence", async () => {
  const l = labUp('macvtap');
  lab = l;
  const t = startTapyard(l, forwardArgs(l));
  await t.waitFor(/forwarding/);
  execFileSync('ip', ['netns', 'del', l.ns('gst')]);
  const exit = await t.exited();
  expect(exit.code).toBe(1);
  expect(t.errors().trim()).toMatch(/^tapyard: port guest: the network namespace ty-\w+-gst was deleted$/);
});

test('frames the kernel drops after our write (a macvtap that is down) are counted beside the ledger', async () => {
  const l = labUp('macvtap');
  lab = l;
  const t = startTapyard(l, forwardArgs(l, '--json'));
  await t.waitFor(/forwarding/);
  execFileSync('ip', ['-n', l.ns('hv'), 'link', 'set', l.env.WIRE_IF!, 'down']);
  // The guest's ARP requests for ext: tapyard reads them and writes them to the macvtap, whose
  // link is down, so the kernel takes each write and drops the frame.
  try {
    l.run('gst', 'ping', '-c', '4', '-i', '0.2', '-W', '1', l.env.EXT_IP!);
  } catch {
    // no reply is expected
  }
  await t.stop();
  const report = JSON.parse(t.stdout().trim().split('\n').at(-1)!);
  const wire = report.ports.find((p: { name: string }) => p.name === 'wire');
  expect(wire.txFrames).toBeGreaterThanOrEqual(2);
  expect(wire.kernel.afterWrite).toBe(wire.txFrames);
  expect(l.stat('hv', l.env.WIRE_IF!, 'tx_dropped')).toBe(wire.kernel.afterWrite);
});
