// A qemu dgram port has nowhere to send without QEMU's own socket: refused in one sentence before
// anything is bound, for a caller of the library as for `--port NAME=qemu:PATH,proto=dgram`.

import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, test } from 'vitest';
import { TapyardError } from '../../../src/error.js';
import { QemuDgramPort } from '../../../src/port/qemu-dgram.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

test('proto=dgram without a peer is refused before its socket is bound', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ty-dgram-'));
  dirs.push(dir);
  const path = join(dir, 'ours.sock');
  const open = () =>
    new QemuDgramPort(
      { kind: 'qemu', name: 'vm', path, tcp: null, protocol: 'dgram', connect: false, peer: null },
      64,
      () => {},
    );
  expect(open).toThrow(TapyardError);
  expect(open).toThrow(/port vm: proto=dgram needs peer=PATH/);
  expect(existsSync(path)).toBe(false);
});
