// How tapyard forward ends: a device deleted under it, and Ctrl-C in the middle of traffic.

import { execFileSync, spawn } from 'node:child_process';
import { afterEach, describe, expect, test } from 'vitest';
import { CLI, forwardArgs, type Lab, labUp, startTapyard } from '../helpers/lab.js';

let lab: Lab | null = null;
afterEach(() => {
  lab?.down();
  lab = null;
});

/** One line on stderr, a sentence, no stack trace. */
function expectOneSentence(stderr: string, pattern: RegExp): void {
  const lines = stderr.trim().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(pattern);
  expect(stderr).not.toMatch(/^\s+at /m);
}

describe('a device deleted while tapyard runs', () => {
  // A deleted macvtap gives no poll error at all (TUNGETIFF says ENOLINK); a deleted tap raises
  // POLLERR and its reads fail with EBADFD.
  test.each([
    ['the macvtap', 'macvtap', 'hv', 'WIRE_IF', /^tapyard: port wire: the macvtap ty-\w+-mvt was deleted$/],
    [
      "the guest's tap",
      'macvtap',
      'gst',
      'GUEST_IF',
      /^tapyard: port guest: the tap ty-\w+-gtp \(netns ty-\w+-gst\) was deleted$/,
    ],
    ['the bridged tap', 'bridge', 'hv', 'WIRE_IF', /^tapyard: port wire: the tap ty-\w+-wtp was deleted$/],
  ] as const)('deleting %s is noticed within a second', async (_what, kind, role, key, sentence) => {
    lab = await labUp(kind);
    const t = startTapyard(lab, forwardArgs(lab));
    await t.waitFor(/forwarding/);
    // Keep traffic flowing so that the deletion happens mid-run, not on an idle fd.
    const ping = spawn('ip', ['netns', 'exec', lab.ns('ext'), 'ping', '-i', '0.05', '-W', '1', lab.env.GUEST_IP!], {
      stdio: 'ignore',
    });
    try {
      await new Promise((r) => setTimeout(r, 300));
      const deleted = Date.now();
      execFileSync('ip', ['-n', lab.ns(role), 'link', 'del', lab.env[key]!]);
      const exit = await t.exited();
      const noticedMs = Date.now() - deleted;
      expect(exit.code).toBe(1);
      expect(noticedMs).toBeLessThan(1000);
      expectOneSentence(t.errors(), sentence);
      // The counters up to that moment are still printed.
      expect(t.stdout()).toMatch(/ledger: .*\(balanced\)/);
    } finally {
      ping.kill();
    }
  });
});

test('Ctrl-C while traffic flows: counters printed, exit within a second, lab intact', async () => {
  lab = await labUp('macvtap');
  const t = startTapyard(lab, forwardArgs(lab));
  await t.waitFor(/forwarding/);
  const flood = spawn('ip', ['netns', 'exec', lab.ns('ext'), 'ping', '-f', '-W', '1', lab.env.GUEST_IP!], {
    stdio: 'ignore',
  });
  try {
    await new Promise((r) => setTimeout(r, 1000));
    const stop = await t.stop('SIGINT');
    expect(stop.code).toBe(0);
    expect(stop.stopMs).toBeLessThan(1000);
    const out = t.stdout();
    expect(out).toMatch(/^\s+wire\s+rx [1-9]\d* frames/m);
    expect(out).toMatch(/^\s+guest\s+rx [1-9]\d* frames/m);
    expect(out).toMatch(/ledger: rx \d+ \+ clones 0 = tx \d+ \+ drops \d+\s+\(balanced\)/);
    expect(t.errors().trim()).toBe('');
  } finally {
    flood.kill();
  }
  const status = execFileSync(process.execPath, [CLI, 'lab', 'status', lab.id], { encoding: 'utf8' });
  expect(status).toMatch(/ready/);
  expect(status).not.toMatch(/missing/);
  // The guest tap is still there and usable: a second tapyard forwards again.
  const again = startTapyard(lab, forwardArgs(lab));
  await again.waitFor(/forwarding/);
  expect(lab.run('ext', 'ping', '-c', '1', '-W', '2', lab.env.GUEST_IP!)).toMatch(/1 received/);
  expect((await again.stop('SIGTERM')).code).toBe(0);
});
