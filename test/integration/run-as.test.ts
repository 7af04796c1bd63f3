// --user NAME: tapyard opens every device as root, then runs as that user, and still forwards.

import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { CLI, forwardArgs, type Lab, labUp, startTapyard } from '../helpers/lab.js';

let lab: Lab;
beforeAll(async () => {
  lab = await labUp('macvtap');
});
afterAll(() => lab?.down());

test("--user nobody: every uid and gid is nobody's once forwarding, and ping still crosses", async () => {
  const t = startTapyard(lab, forwardArgs(lab, '--json', '--user', 'nobody'));
  await t.waitFor(/running as nobody/);
  const pid = Number(
    execFileSync('pgrep', ['-n', '-f', `${CLI} forward --port wire=macvtap:${lab.env.WIRE_IF}`], {
      encoding: 'utf8',
    }).trim(),
  );
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  expect(status).toMatch(/^Uid:\s+65534\s+65534\s+65534\s+65534$/m);
  expect(status).toMatch(/^Gid:\s+65534\s+65534\s+65534\s+65534$/m);
  expect(status).toMatch(/^CapEff:\s+0+$/m);
  lab.run('ext', 'ping', '-c', '3', '-i', '0.2', '-W', '2', lab.env.GUEST_IP!);
  const stop = await t.stop();
  expect(stop.code).toBe(0);
  const report = JSON.parse(t.stdout().trim().split('\n').at(-1)!);
  expect(report.balanced).toBe(true);
  expect(report.ports.find((p: { name: string }) => p.name === 'guest').txFrames).toBeGreaterThanOrEqual(3);
});

test('--user with an unknown name is a usage error before anything is opened', async () => {
  const t = startTapyard(lab, forwardArgs(lab, '--user', 'ty-no-such-user'));
  const exit = await t.exited();
  expect(exit.code).toBe(2);
  expect(t.errors().trim()).toBe('tapyard: --user: there is no user "ty-no-such-user" on this machine');
});
