// A tap moved to another network namespace while tapyard runs is not deleted: the kernel keeps its
// file attached, so frames still cross. tapyard says it moved and goes on.

import { execFileSync } from 'node:child_process';
import { afterEach, expect, test } from 'vitest';
import { forwardArgs, type Lab, labUp, startTapyard } from '../helpers/lab.js';

let lab: Lab | null = null;
afterEach(() => {
  lab?.down();
  lab = null;
});

test("the guest's tap moved to another namespace: said once, the run goes on, status 0 at the end", async () => {
  lab = labUp('macvtap');
  const t = startTapyard(lab, forwardArgs(lab));
  await t.waitFor(/forwarding/);
  execFileSync('ip', ['-n', lab.ns('gst'), 'link', 'set', lab.env.GUEST_IF!, 'netns', lab.ns('ext')]);
  await t.waitFor(/moved to another network namespace/, 2000);
  await new Promise((r) => setTimeout(r, 1000));
  expect(t.child.exitCode).toBeNull();
  const exit = await t.stop('SIGINT');
  expect(exit.code).toBe(0);
  expect(t.errors().trim()).toMatch(
    /^tapyard: port guest: the tap ty-\w+-gtp \(netns ty-\w+-gst\) moved to another network namespace: frames still/,
  );
  expect(t.errors()).not.toMatch(/deleted/);
});
