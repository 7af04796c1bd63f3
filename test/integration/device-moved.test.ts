// A tap or macvtap moved to another network namespace while tapyard runs is not deleted: the
// kernel keeps its file attached. tapyard says it moved and goes on; the move set the device
// down, and once it is up in its new namespace frames cross again.

import { execFileSync } from 'node:child_process';
import { afterEach, expect, test } from 'vitest';
import { forwardArgs, type Lab, labUp, startTapyard } from '../helpers/lab.js';

let lab: Lab | null = null;
afterEach(() => {
  lab?.down();
  lab = null;
});

const pings = (l: Lab) => {
  try {
    return l.run('ext', 'ping', '-c', '2', '-i', '0.3', '-W', '1', l.env.GUEST_IP!);
  } catch (err) {
    return String((err as { stdout?: string }).stdout ?? err);
  }
};

test.each([
  ["the guest's tap", 'gst', 'GUEST_IF', /^tapyard: port guest: the tap ty-\w+-gtp \(netns ty-\w+-gst\) moved to /],
  ['the macvtap', 'hv', 'WIRE_IF', /^tapyard: port wire: the macvtap ty-\w+-mvt moved to /],
] as const)('%s moved to another namespace: said once, the run goes on, status 0', async (_what, from, key, said) => {
  lab = await labUp('macvtap');
  const dev = lab.env[key]!;
  const t = startTapyard(lab, forwardArgs(lab));
  await t.waitFor(/forwarding/);
  execFileSync('ip', ['-n', lab.ns(from), 'link', 'set', dev, 'netns', lab.ns('ext')]);
  await t.waitFor(/moved to another network namespace/, 2000);
  await new Promise((r) => setTimeout(r, 500));
  expect(t.child.exitCode).toBeNull();
  if (key === 'WIRE_IF') {
    // Its lower is still in hv: set up where it now is, it carries the guest's traffic again.
    lab.run('ext', 'ip', 'link', 'set', dev, 'up');
    expect(pings(lab)).toMatch(/2 received/);
  }
  const exit = await t.stop('SIGINT');
  expect(exit.code).toBe(0);
  const sentences = t.errors().trim().split('\n');
  expect(sentences).toHaveLength(1);
  expect(sentences[0]).toMatch(said);
  expect(sentences[0]).toMatch(/a move sets it down: frames cross again once it is up there\); its fd still works/);
});
