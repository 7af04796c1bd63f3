// trust-guest-rx-filters changes the macvtap while the run lasts; at the end the macvtap gets
// back what it had: its MAC, its allmulticast flag, and no group tapyard added.

import { execFileSync } from 'node:child_process';
import { afterEach, expect, test } from 'vitest';
import { forwardArgs, type Lab, labUp, startTapyard } from '../helpers/lab.js';

let lab: Lab | null = null;
afterEach(() => {
  lab?.down();
  lab = null;
});

const NEW_MAC = '02:11:22:33:44:55';
const GROUP_MAC = '01:00:5e:01:01:07';

interface Link {
  address: string;
  flags: string[];
}
const link = (ns: string, dev: string) =>
  (JSON.parse(execFileSync('ip', ['-n', ns, '-j', 'link', 'show', 'dev', dev], { encoding: 'utf8' })) as Link[])[0]!;
const staticGroups = (ns: string, dev: string) =>
  execFileSync('ip', ['-n', ns, 'maddr', 'show', 'dev', dev], { encoding: 'utf8' });

async function until(check: () => boolean, ms: number): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end; await new Promise((r) => setTimeout(r, 50)))
    if (check()) return true;
  return check();
}

test("the guest's MAC, allmulti and group leave the macvtap with the run", async () => {
  lab = await labUp('macvtap');
  const e = lab.env;
  const before = link(e.NS_HV!, e.WIRE_IF!);
  const args = forwardArgs(lab);
  args[2] += ',trust-guest-rx-filters=on';
  const t = startTapyard(lab, args);
  await t.waitFor(/forwarding/);
  lab.run('gst', 'ip', 'link', 'set', 'dev', e.GUEST_IF!, 'address', NEW_MAC);
  lab.run('gst', 'ip', 'link', 'set', 'dev', e.GUEST_IF!, 'allmulticast', 'on');
  lab.run('gst', 'ip', 'maddr', 'add', GROUP_MAC, 'dev', e.GUEST_IF!);
  expect(
    await until(() => {
      const now = link(e.NS_HV!, e.WIRE_IF!);
      return (
        now.address === NEW_MAC &&
        now.flags.includes('ALLMULTI') &&
        staticGroups(e.NS_HV!, e.WIRE_IF!).includes(GROUP_MAC)
      );
    }, 2000),
  ).toBe(true);
  const exit = await t.stop('SIGINT');
  expect(exit.code).toBe(0);
  const after = link(e.NS_HV!, e.WIRE_IF!);
  expect(after.address).toBe(before.address);
  expect(after.flags.includes('ALLMULTI')).toBe(before.flags.includes('ALLMULTI'));
  expect(staticGroups(e.NS_HV!, e.WIRE_IF!)).not.toContain(GROUP_MAC);
  expect(t.stderr()).toMatch(new RegExp(`rx-filter wire \\(${e.WIRE_IF}\\) restored: address ${before.address}`));
});
