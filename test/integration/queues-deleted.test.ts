// forward --queues 2 when the macvtap (or its lower) is deleted under it: every queue loses the device at once;
// the run ends within a second with one sentence about the device and the counters so far.

import { execFileSync } from 'node:child_process';
import { afterEach, expect, test } from 'vitest';
import { type Lab, labUp, startTapyard } from '../helpers/lab.js';

let lab: Lab | null = null;
afterEach(() => {
  lab?.down();
  lab = null;
});

test.each([
  ['the macvtap', 'WIRE_IF'],
  ['its lower device (which takes the macvtap with it)', 'LOWER_IF'],
])('deleting %s under two queues ends the run within a second, with one sentence', async (_what, key) => {
  lab = await labUp('macvtap', '--mq');
  const e = lab.env;
  const t = startTapyard(lab, [
    'forward',
    '--queues',
    '2',
    '--port',
    `wire=macvtap:${e.WIRE_IF}`,
    '--port',
    `guest=tap:${e.GUEST_IF},netns=${e.NS_GST},mq`,
  ]);
  await t.waitFor(/forwarding/);
  await new Promise((r) => setTimeout(r, 300));
  const deleted = Date.now();
  execFileSync('ip', ['-n', lab.ns('hv'), 'link', 'del', e[key]!]);
  const exit = await t.exited();
  expect(Date.now() - deleted).toBeLessThan(1000);
  expect(exit.code).toBe(1);
  const sentences = t.errors().trim().split('\n');
  expect(sentences).toHaveLength(1);
  expect(sentences[0]).toMatch(/^tapyard: (queue \d: )?port wire: the macvtap ty-\w+-mvt was deleted$/);
  expect(t.stdout()).toMatch(/total ledger: .*\(balanced\)/);
});
