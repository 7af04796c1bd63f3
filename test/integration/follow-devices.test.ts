// tapyard follows the devices it uses while it runs: a raised MTU is taken up (no false
// `oversize` drops), a link set down or without carrier and a changed address are said while the
// run goes on, and a deleted guest namespace ends the run with one sentence.

import { execFileSync } from 'node:child_process';
import { afterEach, expect, test } from 'vitest';
import { EtherType, emitEthernet } from '../../src/frame/ethernet.js';
import { parseMac } from '../../src/mac.js';
import { sendFrames } from '../helpers/frames.js';
import { forwardArgs, type Lab, labUp, startTapyard } from '../helpers/lab.js';

let lab: Lab | null = null;
afterEach(() => {
  lab?.down();
  lab = null;
});

const setMtu = (l: Lab, role: 'ext' | 'hv' | 'gst', ifname: string, mtu: number) =>
  execFileSync('ip', ['-n', l.ns(role), 'link', 'set', ifname, 'mtu', String(mtu)]);

test('raising the MTU while tapyard runs: big frames cross, none is dropped as oversize', async () => {
  const l = await labUp('macvtap');
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

test('a link set down, a lost carrier and a new address are each said, and the run goes on', async () => {
  const l = await labUp('macvtap');
  lab = l;
  const e = l.env;
  const t = startTapyard(l, forwardArgs(l, '--json'));
  await t.waitFor(/forwarding/);
  const link = (role: 'hv' | 'gst', ifname: string, ...args: string[]) =>
    execFileSync('ip', ['-n', l.ns(role), 'link', 'set', ifname, ...args]);
  const again = (n: number) => new RegExp(`(is up and running again[\\s\\S]*){${n}}`);
  link('hv', e.WIRE_IF!, 'down');
  await t.waitFor(/port wire: the macvtap ty-\w+-mvt was set down: the kernel drops what tapyard writes to it/);
  link('hv', e.WIRE_IF!, 'up');
  await t.waitFor(again(1));
  // A macvtap's carrier follows its lower device.
  link('hv', e.LOWER_IF!, 'down');
  await t.waitFor(/port wire: the macvtap ty-\w+-mvt lost its carrier \(its lower device is down\)/);
  link('hv', e.LOWER_IF!, 'up');
  await t.waitFor(again(2));
  link('gst', e.GUEST_IF!, 'down');
  await t.waitFor(/port guest: the tap ty-\w+-gtp \(netns ty-\w+-gst\) was set down/);
  link('gst', e.GUEST_IF!, 'up');
  await t.waitFor(again(3));
  link('hv', e.WIRE_IF!, 'address', '02:00:00:aa:bb:cc');
  await t.waitFor(/port wire: the macvtap ty-\w+-mvt's address changed from [0-9a-f:]{17} to 02:00:00:aa:bb:cc/);
  // Still forwarding, once the guest takes the macvtap's new address too (the kernel now
  // delivers only frames for it) and ext learns it by ARP.
  link('gst', e.GUEST_IF!, 'address', '02:00:00:aa:bb:cc');
  l.run('ext', 'ip', 'neigh', 'flush', 'all');
  l.run('ext', 'ping', '-c', '3', '-i', '0.2', '-w', '10', e.GUEST_IP!);
  const stop = await t.stop();
  expect(stop.code).toBe(0);
  expect(JSON.parse(t.stdout().trim().split('\n').at(-1)!).balanced).toBe(true);
});

test("deleting the guest's namespace ends the run with one sentence", async () => {
  const l = await labUp('macvtap');
  lab = l;
  const t = startTapyard(l, forwardArgs(l));
  await t.waitFor(/forwarding/);
  execFileSync('ip', ['netns', 'del', l.ns('gst')]);
  const exit = await t.exited();
  expect(exit.code).toBe(1);
  expect(t.errors().trim()).toMatch(/^tapyard: port guest: the network namespace ty-\w+-gst was deleted$/);
});

test('frames the kernel drops after our write (a macvtap that is down) are counted beside the ledger', async () => {
  const l = await labUp('macvtap');
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

test('three stacked VLAN tags cross the cross-connect untouched, from the wire into the guest tap', async () => {
  const l = await labUp('macvtap');
  lab = l;
  const t = startTapyard(l, forwardArgs(l, '--json'));
  await t.waitFor(/forwarding/);
  // To the macvtap's own MAC, so that macvlan hands the frames to its queue.
  const dst = parseMac(
    execFileSync('ip', ['-n', l.ns('hv'), '-j', 'link', 'show', l.env.WIRE_IF!], { encoding: 'utf8' }).match(
      /"address":"([0-9a-f:]{17})"/,
    )![1]!,
  )!;
  const frames = new Uint8Array(20 * 72);
  for (let i = 0; i < 20; i++) {
    const tags = [0x88a8, 0x8100, 0x8100].map((tpid, j) => ({ tpid, tci: 100 + j }));
    emitEthernet({ dst, src: 0x02_00_00_00_00_0e, tags, etherType: EtherType.EXPERIMENTAL }, frames, i * 72);
  }
  const before = l.stat('gst', l.env.GUEST_IF!, 'rx_packets');
  await sendFrames(l.ns('ext'), l.env.EXT_IF!, frames, 20, 72);
  await new Promise((r) => setTimeout(r, 500));
  await t.stop();
  const report = JSON.parse(t.stdout().trim().split('\n').at(-1)!);
  const wire = report.ports.find((p: { name: string }) => p.name === 'wire');
  const guest = report.ports.find((p: { name: string }) => p.name === 'guest');
  expect(wire.rxFrames).toBe(20);
  expect(wire.drops).toEqual({});
  expect(guest.txFrames).toBe(20);
  // The tap's own counter: the kernel received all twenty from tapyard's writes.
  expect(l.stat('gst', l.env.GUEST_IF!, 'rx_packets') - before).toBe(20);
});
