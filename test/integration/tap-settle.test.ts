// A tap gets its carrier when tapyard attaches it, but a bridge's port on it forwards only once
// the kernel's link watcher has set its operstate up and told the bridge. A frame written in
// between is dropped in br_handle_frame (BRIDGE_INGRESS_STP_STATE) with no counter anywhere, and
// tapyard counted it as sent. Left alone, the window is a fraction of a millisecond on an idle
// machine (tens of milliseconds under load); a tap in link mode dormant holds it open until the
// test lets the operstate go up, so that what tapyard does meanwhile can be seen: it holds the
// frames (queued) and writes them once the port forwards.

import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { afterEach, expect, test } from 'vitest';
import { markedFrame, Observer, settle } from '../helpers/kernel-observer.js';
import { CLI, type Lab, labUp, startTapyard } from '../helpers/lab.js';

let lab: Lab | null = null;
afterEach(() => {
  lab?.down();
  lab = null;
});

const TAG = 0x5e771e24;

test('frames for a tap whose bridge port does not forward yet are held, then all arrive', async () => {
  const l = await labUp('bridge');
  lab = l;
  const e = l.env;
  const ip = (...args: string[]) => l.run('hv', 'ip', ...args);
  const portState = () => l.run('hv', 'cat', `/sys/class/net/${e.WIRE_IF}/brport/state`).trim();
  // Dormant: the carrier tapyard brings makes the operstate dormant, not up (RFC 2863), and the
  // bridge keeps its port disabled.
  ip('link', 'set', e.WIRE_IF!, 'mode', 'dormant');

  const child = spawn(
    'ip',
    ['netns', 'exec', l.ns('hv'), process.execPath, CLI, 'forward', '--inject', '--json'].concat([
      '--port',
      `wire=tap:${e.WIRE_IF}`,
      '--port',
      `guest=tap:${e.GUEST_IF},netns=${e.NS_GST}`,
    ]),
    { stdio: ['pipe', 'pipe', 'pipe'] },
  );
  const lines: string[] = [];
  createInterface({ input: child.stdout! }).on('line', (line) => lines.push(line));
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  for (let i = 0; i < 100 && !/forwarding/.test(stderr); i++) await new Promise((r) => setTimeout(r, 100));
  expect(stderr).toMatch(/forwarding/);

  const ext = new Observer('ext', l.ns('ext'), e.EXT_IF!, TAG);
  try {
    for (const id of [1, 2, 3]) {
      const frame = markedFrame('ff:ff:ff:ff:ff:ff', '02:00:00:00:24:01', TAG, id);
      child.stdin!.write(`${JSON.stringify({ port: 'guest', hex: Buffer.from(frame).toString('hex') })}\n`);
    }
    await new Promise((r) => setTimeout(r, 300));
    // The window was real: the port still does not forward (0: disabled).
    expect(portState()).toBe('0');
    // Back to the default link mode; a carrier flap makes the link watcher set the operstate up.
    ip('link', 'set', e.WIRE_IF!, 'mode', 'default');
    ip('link', 'set', e.WIRE_IF!, 'carrier', 'off');
    ip('link', 'set', e.WIRE_IF!, 'carrier', 'on');
    await settle([ext], 3, 200, 3000, [1]);
    for (const id of [1, 2, 3]) expect(ext.count(id), `frame ${id} on the wire`).toBe(1);
    expect(portState()).toBe('3');
  } finally {
    ext.close();
  }
  child.stdin!.end();
  expect(await exited).toBe(0);
  const final = JSON.parse(lines.at(-1)!);
  const wire = final.ports.find((p: { name: string }) => p.name === 'wire');
  expect(wire.txFrames).toBe(3);
  expect(final.balanced).toBe(true);
  expect(stderr).not.toMatch(/is not running 1 s after/);
});

test('a tap whose link never comes up is waited for one second, said in one line, then written', async () => {
  const l = await labUp('bridge');
  lab = l;
  const e = l.env;
  l.run('hv', 'ip', 'link', 'set', e.WIRE_IF!, 'mode', 'dormant');
  const t = startTapyard(l, [
    'forward',
    '--json',
    '--port',
    `wire=tap:${e.WIRE_IF}`,
    '--port',
    `guest=tap:${e.GUEST_IF},netns=${e.NS_GST}`,
  ]);
  await t.waitFor(/forwarding/);
  const started = Date.now();
  await t.waitFor(/port wire: the tap ty-\w+-wtp is not running 1 s after tapyard attached it/, 5000);
  expect(Date.now() - started).toBeGreaterThanOrEqual(700);
  // The run goes on: the guest's ARP request is written to the tap (and the kernel drops it, so
  // the ping itself fails).
  expect(() => l.run('gst', 'ping', '-c', '1', '-W', '1', e.EXT_IP!)).toThrow();
  const r = await t.stop();
  expect(r.code).toBe(0);
  const final = JSON.parse(t.stdout().trim().split('\n').at(-1)!);
  const wire = final.ports.find((p: { name: string }) => p.name === 'wire');
  expect(wire.txFrames).toBeGreaterThanOrEqual(1);
  expect(final.balanced).toBe(true);
});
