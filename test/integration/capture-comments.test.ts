// --capture writes each frame's fate as its pcapng comment; tshark (Debian's, installed by
// scripts/setup) reads the comments back, and they must say what the forwarder's counters say.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { finalReport, type Lab, labUp, port, startTapyard } from '../helpers/lab.js';

let lab: Lab;
let dir: string;
beforeAll(async () => {
  lab = await labUp('macvtap');
  dir = mkdtempSync(join(tmpdir(), 'tapyard-comments-'));
  // No ARP: the frames to the guest are ping's alone, and their fates are known in advance.
  const mac = lab.run('hv', 'cat', `/sys/class/net/${lab.env.WIRE_IF}/address`).trim();
  lab.run(
    'ext',
    'ip',
    'neigh',
    'replace',
    lab.env.GUEST_IP!,
    'lladdr',
    mac,
    'dev',
    lab.env.EXT_IF!,
    'nud',
    'permanent',
  );
});
afterAll(() => {
  lab?.down();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

function pingFromExt(...args: string[]): string {
  try {
    return lab.run('ext', 'ping', '-n', ...args);
  } catch (err) {
    return String((err as { stdout?: string }).stdout ?? ''); // exit 1: some or all were lost
  }
}

test("each captured frame's comment is its fate, and the comments add up to the counters", async () => {
  const e = lab.env;
  const file = join(dir, 'run.pcapng');
  const t = startTapyard(lab, [
    'forward',
    '--port',
    `wire=macvtap:${e.WIRE_IF}`,
    '--port',
    `vm=guest:${e.GUEST_IP}/24,rx-filter=on,rx-mode=nobcast,loss=40%,seed=2`,
    '--json',
    '--capture',
    file,
  ]);
  let replies: number;
  try {
    await t.waitFor(/impairing the frames written to vm/);
    replies = [...pingFromExt('-c', '40', '-i', '0.02', '-W', '2', e.GUEST_IP!).matchAll(/icmp_seq=/g)].length;
    // Broadcast pings: the guest NIC's filter (nobcast) refuses them before any impairment.
    const broadcast = e.GUEST_IP!.replace(/\.\d+$/, '.255');
    pingFromExt('-b', '-c', '3', '-i', '0.2', '-W', '1', broadcast);
  } finally {
    await t.stop();
  }
  const r = finalReport(t);
  const vm = port(r, 'vm');
  const wire = port(r, 'wire');

  const rows = execFileSync(
    'tshark',
    ['-r', file, '-T', 'fields', '-E', 'separator=/t', '-e', 'frame.interface_name', '-e', 'frame.comment'],
    { encoding: 'utf8' },
  )
    .trim()
    .split('\n')
    .map((line) => {
      const [iface = '', comment = ''] = line.split('\t');
      return { iface, comment };
    });
  expect(rows).toHaveLength(r.ledger.rx);
  const count = (iface: string, comment: string) =>
    rows.filter((x) => x.iface === iface && x.comment === comment).length;

  const lost = count('wire', 'to vm (cross-peer) dropped: impair-loss');
  const refused = count('wire', 'to vm (cross-peer) dropped: rx-filter-nobcast');
  const delivered = count('wire', 'to vm (cross-peer)');
  expect(lost + refused + delivered).toBe(wire.rxFrames); // no other fate on the wire
  expect(lost).toBe(vm.drops['impair-loss']);
  expect(lost).toBeGreaterThan(5);
  expect(refused).toBe(3);
  expect(refused).toBe(vm.drops['rx-filter-nobcast']);
  expect(delivered).toBe(vm.txFrames);
  expect(delivered).toBe(replies);
  // What the guest sent (its replies and its gratuitous ARP) all went to the wire.
  expect(count('vm', 'to wire (cross-peer)')).toBe(vm.rxFrames);
  expect(wire.txFrames).toBe(vm.rxFrames);
  expect(r.balanced).toBe(true);
});
