// The examples in examples/ run against a real lab and do what they say.

import { execFile, execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { afterEach, expect, test } from 'vitest';
import { BROADCAST, parseMac } from '../../src/mac.js';
import { packageRoot } from '../../src/package-root.js';
import { markedFrames, sendFrames } from '../helpers/frames.js';
import { type Lab, labUp } from '../helpers/lab.js';

let lab: Lab | null = null;
afterEach(() => {
  lab?.down();
  lab = null;
});

const example = (name: string) => join(packageRoot(), 'dist', 'examples', `${name}.js`);

/** Run an example in the lab's hypervisor namespace; its stdout when it ends. */
function runIn(l: Lab, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('ip', ['netns', 'exec', l.ns('hv'), 'node', ...args], { encoding: 'utf8' }, (err, out, errOut) =>
      err === null ? resolve(out) : reject(new Error(errOut)),
    );
  });
}

test('macswap-reflector sends every frame back to its sender', async () => {
  const l = labUp('macvtap');
  lab = l;
  const e = l.env;
  const run = runIn(l, [example('macswap-reflector'), `wire=macvtap:${e.WIRE_IF}`, '2']);
  await new Promise((r) => setTimeout(r, 700));
  const before = l.stat('ext', e.EXT_IF!, 'rx_packets');
  // Broadcasts from ext come back to ext itself: their source becomes their destination.
  await sendFrames(l.ns('ext'), e.EXT_IF!, markedFrames(BROADCAST, parseMac(e.EXT_MAC!)!, 50), 50, 60);
  const result = JSON.parse(await run);
  expect(result.reflected).toBeGreaterThanOrEqual(50);
  expect(result.drops).toBe(0);
  expect(l.stat('ext', e.EXT_IF!, 'rx_packets') - before).toBeGreaterThanOrEqual(50);
});

test('mirror-switch forwards a ping and copies every frame of it to the mirror port', async () => {
  const l = labUp('macvtap');
  lab = l;
  const e = l.env;
  const mirror = `ty-${l.id}-mir`;
  const run = runIn(l, [
    example('mirror-switch'),
    '3',
    `wire=macvtap:${e.WIRE_IF}`,
    `guest=tap:${e.GUEST_IF},netns=${e.NS_GST}`,
    `mirror=tap:${mirror},create`,
  ]);
  await new Promise((r) => setTimeout(r, 700));
  execFileSync('ip', ['-n', l.ns('hv'), 'link', 'set', mirror, 'up']);
  expect(l.run('ext', 'ping', '-c', '3', '-i', '0.2', '-W', '2', e.GUEST_IP!)).toMatch(/3 received/);
  const result = JSON.parse(await run);
  const [wire, guest, copy] = result.ports;
  expect(copy.name).toBe('mirror');
  expect(copy.txFrames).toBe(wire.rxFrames + guest.rxFrames);
  expect(result.ledger.rx + result.ledger.clones).toBe(result.ledger.tx + result.ledger.drops + result.ledger.queued);
});
