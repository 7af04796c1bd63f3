// A qemu port's target: a unix socket path, or TCP on loopback however it is written. HOST:PORT
// with any other host is refused, not taken for a file named so in the current directory.

import { expect, test } from 'vitest';
import { readForwardConfig } from '../../../src/config/forward.js';

function qemuTarget(target: string) {
  const config = readForwardConfig(['--port', `vm=qemu:${target}`, '--port', 'g=guest:10.0.0.2/24']);
  const device = config!.ports[0]!.device;
  if (device.kind !== 'qemu') throw new Error('not a qemu port');
  return device;
}

test.each([
  ['127.0.0.1:5555', '127.0.0.1'],
  ['localhost:5555', '127.0.0.1'],
  ['[::1]:5555', '::1'],
])('%s is TCP on loopback', (target, host) => {
  expect(qemuTarget(target).tcp).toEqual({ host, port: 5555 });
});

test.each(['./localhost:5555', '/tmp/vm.sock', 'vm.sock'])('%s is a unix socket file', (target) => {
  expect(qemuTarget(target).tcp).toBeNull();
});

test.each(['example.org:5555', '[fe80::1]:5555', '10.0.0.1:5555'])('%s is refused in one sentence', (target) => {
  expect(() => qemuTarget(target)).toThrow(/^port vm: QEMU over TCP is served on loopback only/);
});
