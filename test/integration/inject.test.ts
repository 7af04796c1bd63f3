// forward --inject: a frame written to tapyard's standard input is switched as if a port had
// read it. Injected "from the guest", a marked broadcast reaches the lab's external namespace;
// the answer says where its copy went, the ledger counts it as the guest port's rx, and a bad
// line is answered with its error while forwarding goes on.

import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { afterEach, expect, test } from 'vitest';
import type { InjectAnswer } from '../../src/run/inject-channel.js';
import { markedFrame, Observer, settle } from '../helpers/kernel-observer.js';
import { CLI, type Lab, labUp } from '../helpers/lab.js';
import { InjectedSchema } from '../schema/forward-output.js';

let lab: Lab | null = null;
afterEach(() => {
  lab?.down();
  lab = null;
});

test('an injected frame crosses to the wire, is answered and counted, and a bad line changes nothing', async () => {
  const l = await labUp('macvtap');
  lab = l;
  const e = l.env;
  const child = spawn(
    'ip',
    ['netns', 'exec', l.ns('hv'), process.execPath, CLI, 'forward', '--inject', '--json'].concat([
      '--port',
      `wire=macvtap:${e.WIRE_IF}`,
      '--port',
      `guest=tap:${e.GUEST_IF},netns=${e.NS_GST}`,
    ]),
    { stdio: ['pipe', 'pipe', 'pipe'] },
  );
  const lines: string[] = [];
  const waiting: (() => void)[] = [];
  createInterface({ input: child.stdout! }).on('line', (line) => {
    lines.push(line);
    for (const w of waiting.splice(0)) w();
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const nextLine = (n: number) =>
    new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no answer ${n}; stderr: ${stderr}`)), 10_000);
      const check = () => {
        if (lines.length >= n) {
          clearTimeout(timer);
          resolve(lines[n - 1]!);
        } else waiting.push(check);
      };
      check();
    });
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  for (let i = 0; i < 100 && !/forwarding/.test(stderr); i++) await new Promise((r) => setTimeout(r, 100));

  const ext = new Observer('ext', l.ns('ext'), e.EXT_IF!, 0x1a2b3c4d);
  try {
    const frame = markedFrame('ff:ff:ff:ff:ff:ff', '02:00:00:00:77:01', 0x1a2b3c4d, 1);
    child.stdin!.write(`${JSON.stringify({ id: 'one', port: 'guest', hex: Buffer.from(frame).toString('hex') })}\n`);
    const answer = InjectedSchema.parse(JSON.parse(await nextLine(1))) as InjectAnswer;
    expect(answer).toEqual({
      type: 'injected',
      id: 'one',
      port: 'guest',
      bytes: 60,
      tx: ['wire'],
      drops: [],
      queued: 0,
    });
    await settle([ext], 1, 200, 3000, [1]);
    expect(ext.count(1)).toBe(1);

    child.stdin!.write('{"port": "guest", "hex": "zz"}\n');
    const bad = InjectedSchema.parse(JSON.parse(await nextLine(2)));
    expect(bad.error).toBe('"hex" must be the frame as pairs of hex digits');
    expect(bad.tx).toEqual([]);
  } finally {
    ext.close();
  }
  child.kill('SIGINT');
  expect(await exited).toBe(0);
  const final = JSON.parse(lines.at(-1)!);
  expect(final.type).toBe('final');
  const guest = final.ports.find((p: { name: string }) => p.name === 'guest');
  const wire = final.ports.find((p: { name: string }) => p.name === 'wire');
  expect(guest.rxFrames).toBeGreaterThanOrEqual(1);
  expect(wire.txFrames).toBeGreaterThanOrEqual(1);
  expect(final.balanced).toBe(true);
});
