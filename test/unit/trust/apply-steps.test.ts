// Changing a trusted macvtap runs ip(8) without holding the event loop: the frames go on moving
// while each step runs. An ip that takes 0.3 s must leave the loop free meanwhile.

import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, test } from 'vitest';
import { applySteps } from '../../../src/trust/macvtap-sync.js';

const savedPath = process.env.PATH;
let dir: string | null = null;
afterEach(() => {
  process.env.PATH = savedPath;
  if (dir !== null) rmSync(dir, { recursive: true, force: true });
  dir = null;
});

/** An `ip` first on PATH that takes 0.3 s and fails when its last argument is `bad`. */
function slowIp(): void {
  dir = mkdtempSync(join(tmpdir(), 'ty-ip-'));
  const ip = join(dir, 'ip');
  writeFileSync(
    ip,
    '#!/bin/sh\nsleep 0.3\nfor a; do last=$a; done\n' +
      '[ "$last" != bad ] || { echo "RTNETLINK answers: nope" >&2; exit 2; }\n',
  );
  chmodSync(ip, 0o755);
  process.env.PATH = `${dir}:${savedPath}`;
}

test('the loop ticks while ip runs, and each step says how it went', async () => {
  slowIp();
  let ticks = 0;
  const timer = setInterval(() => ticks++, 10);
  const result = await applySteps([
    { args: ['link', 'set', 'dev', 'x', 'allmulticast', 'on'], says: 'allmulticast on' },
    { args: ['maddr', 'add', '01:00:5e:01:01:01', 'dev', 'bad'], says: 'maddr add 01:00:5e:01:01:01' },
  ]);
  clearInterval(timer);
  expect(ticks).toBeGreaterThan(10);
  expect(result).toEqual({
    done: ['allmulticast on'],
    failed: ['maddr add 01:00:5e:01:01:01: RTNETLINK answers: nope'],
  });
});
