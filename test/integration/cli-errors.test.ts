// Bad input gets one clear sentence and a non-zero exit, never a stack trace or a hang.

import { spawnSync } from 'node:child_process';
import { chmodSync, cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { CLI, type Lab, labUp, ROOT, startTapyard } from '../helpers/lab.js';

let lab: Lab;
let nobodyCopy: string;
beforeAll(async () => {
  lab = await labUp('macvtap');
  // An unprivileged user may not be able to enter the checkout (a clone under /root, or in a
  // 0700 directory): it runs a copy of the built CLI that everyone can read. The CLI imports
  // no package, so dist, the addon and package.json are all it needs.
  nobodyCopy = mkdtempSync(join(tmpdir(), 'tapyard-nobody-'));
  chmodSync(nobodyCopy, 0o755);
  for (const part of ['package.json', 'dist', 'build/Release/tapio.node'])
    cpSync(join(ROOT, part), join(nobodyCopy, part), { recursive: true });
});
afterAll(() => {
  lab?.down();
  if (nobodyCopy !== undefined) rmSync(nobodyCopy, { recursive: true, force: true });
});

/** Run tapyard in the lab's hypervisor namespace, optionally as an unprivileged user. */
function tapyard(args: string[], asNobody = false) {
  const prefix = asNobody ? ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups'] : [];
  const cli = asNobody ? join(nobodyCopy, 'dist', 'src', 'cli', 'main.js') : CLI;
  const r = spawnSync('ip', ['netns', 'exec', lab.ns('hv'), ...prefix, 'node', cli, ...args], {
    encoding: 'utf8',
    timeout: 10_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, timedOut: r.error !== undefined };
}

function expectOneSentence(r: ReturnType<typeof tapyard>, code: number, pattern: RegExp): void {
  expect(r.timedOut).toBe(false);
  expect(r.code).toBe(code);
  const lines = r.stderr.trim().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(pattern);
  expect(r.stderr).not.toMatch(/^\s+at |Error:/m);
}

describe('tapyard forward refuses bad input in one sentence', () => {
  const guest = () => `guest=tap:${lab.env.GUEST_IF},netns=${lab.env.NS_GST}`;

  test('a missing interface', () => {
    expectOneSentence(
      tapyard(['forward', '--port', 'wire=macvtap:ty-nope0', '--port', guest()]),
      1,
      /^tapyard: port wire: there is no interface ty-nope0 in this network namespace/,
    );
    expectOneSentence(
      tapyard([
        'forward',
        '--port',
        `wire=macvtap:${lab.env.WIRE_IF}`,
        '--port',
        `guest=tap:ty-nope1,netns=${lab.env.NS_GST}`,
      ]),
      1,
      /^tapyard: port guest: there is no interface ty-nope1 in network namespace ty-\w+-gst/,
    );
  });

  test('a name that is not a macvtap', () => {
    expectOneSentence(
      tapyard(['forward', '--port', `wire=macvtap:${lab.env.LOWER_IF}`, '--port', guest()]),
      1,
      /^tapyard: port wire: ty-\w+-eth is not a macvtap \(it is a veth\)$/,
    );
  });

  test('a name that is not a tap', () => {
    expectOneSentence(
      tapyard(['forward', '--port', `wire=tap:${lab.env.LOWER_IF}`, '--port', guest()]),
      1,
      /^tapyard: port wire: ty-\w+-eth is not a tap \(it is a veth\)$/,
    );
  });

  test('a multi-queue mismatch says which way', () => {
    const wire = `wire=macvtap:${lab.env.WIRE_IF}`;
    expectOneSentence(
      tapyard(['forward', '--port', wire, '--port', `${guest()},mq=on`]),
      1,
      /^tapyard: port guest: the tap ty-\w+-gtp is not multi-queue: drop mq=on$/,
    );
  });

  test('a namespace that does not exist', () => {
    expectOneSentence(
      tapyard(['forward', '--port', `wire=macvtap:${lab.env.WIRE_IF}`, '--port', 'guest=tap:x0,netns=ty-nope-gst']),
      1,
      /^tapyard: port guest: there is no network namespace ty-nope-gst$/,
    );
  });

  test('not root', () => {
    expectOneSentence(
      tapyard(['forward', '--port', `wire=macvtap:${lab.env.WIRE_IF}`, '--port', guest()], true),
      1,
      /^tapyard: port wire: opening the macvtap ty-\w+-mvt needs root/,
    );
  });

  test.each([
    [
      ['forward', '--budget', 'lots', '--port', 'a=tap:x', '--port', 'b=tap:y'],
      /--budget must be a whole number from 1 to 1024, not 'lots'/,
    ],
    [['forward', '--budget', '0', '--port', 'a=tap:x', '--port', 'b=tap:y'], /--budget must be a whole number/],
    [['forward', '--port', 'wire'], /bad --port 'wire': no NAME=/],
    [['forward', '--port', 'a=tap:x'], /needs at least two --port/],
    [['forward', '--port', 'a=tap:x', '--port', 'a=tap:y'], /two ports are named 'a'/],
    [['forward', '--frobnicate'], /unknown option '--frobnicate'/],
    [
      ['forward', '--duration=-1', '--port', 'a=tap:x', '--port', 'b=tap:y'],
      /--duration must be a number of seconds above 0 and at most \d+, not '-1'/,
    ],
    [
      ['forward', '--duration', '--port', 'a=tap:x', '--port', 'b=tap:y'],
      /--duration must be a number of seconds above 0 and at most \d+, not '--port'/,
    ],
    [['forward', '--switch', 'router', '--port', 'a=tap:x', '--port', 'b=tap:y'], /--switch 'router' is not a switch/],
    [
      ['forward', '--port', 'a=tap:x,offload=maybe', '--port', 'b=tap:y'],
      /port a: offload must be on or off, not 'maybe'/,
    ],
    [['teleport'], /unknown command 'teleport'/],
    // A command is looked up among the commands, not among what every object inherits.
    [['constructor'], /unknown command 'constructor'/],
    [['help', 'toString'], /unknown command 'toString'/],
    // Nothing unknown is ignored, and nothing is opened before the whole command line is read.
    [['forward', '--port', 'a=tap:x,bogus=1', '--port', 'b=tap:y'], /port a: unknown option 'bogus'/],
    [
      ['forward', '--port', 'a=tap:x,ofload=on', '--port', 'b=tap:y'],
      /unknown option 'ofload' \(did you mean offload\?\)/,
    ],
    [
      ['forward', '--budget', '-3', '--port', 'a=tap:x', '--port', 'b=tap:y'],
      /--budget must be a whole number from 1 to 1024, not '-3'/,
    ],
    [
      ['forward', '--switch', 'hub', '--port', 'a=tap:x,mode=vepa', '--port', 'b=tap:y'],
      /mode means nothing to the hub switch/,
    ],
    [['forward', '--port', 'a=tap:x,bpf=udp', '--port', 'b=tap:y'], /bpf is a pcap option; tap ports do not take it/],
    [['forward', '--switch', 'bridge,ageng=3', '--port', 'a=tap:x', '--port', 'b=tap:y'], /did you mean ageing\?/],
    [['help', 'teleport'], /unknown command 'teleport'/],
    [['forward', '--port', 'a=tap:x', '--port', 'b=tap:x'], /ports a and b name the same device 'x'/],
    [['forward', '--port', 'a=tap:x,netns=../etc', '--port', 'b=tap:y'], /netns must be a network namespace name/],
    [['forward', '--port', 'a=tap:x,netns=/etc', '--port', 'b=tap:y'], /netns must be a network namespace name/],
    [
      ['forward', '--duration', '2200000', '--port', 'a=tap:x', '--port', 'b=tap:y'],
      /--duration must be a number of seconds above 0 and at most/,
    ],
    [['forward', '--port', 'a=tap:x\u001b[31m', '--port', 'b=tap:y'], /\\x1b\[31m/],
  ])('a malformed command line: %j', (args, pattern) => {
    expectOneSentence(tapyard(args), 2, pattern);
  });

  test('one reader per macvtap: a second tapyard is refused unless told shared', async () => {
    const first = startTapyard(lab, ['forward', '--port', `wire=macvtap:${lab.env.WIRE_IF}`, '--port', guest()]);
    try {
      await first.waitFor(/forwarding/);
      const wire = `wire=macvtap:${lab.env.WIRE_IF}`;
      const other = `guest=tap:ty-${lab.id}-x2,create`;
      expectOneSentence(
        tapyard(['forward', '--port', wire, '--port', other, '--duration', '0.5']),
        1,
        /^tapyard: port wire: the macvtap ty-\w+-mvt is already open in node \(pid \d+\): two readers split its flows/,
      );
      const shared = tapyard(['forward', '--port', `${wire},shared`, '--port', other, '--duration', '0.5']);
      expect(shared.code).toBe(0);
    } finally {
      await first.stop();
    }
  });

  test('a 10 000-character name is quoted and cut in the sentence', () => {
    const r = tapyard(['forward', '--port', `a=tap:${'x'.repeat(1000)}`, '--port', 'b=tap:y']);
    expectOneSentence(r, 2, /^tapyard: port a: the tap name must be an interface name .*, not 'x{64}…'$/);
    expect(r.stderr.length).toBeLessThan(200);
    const huge = tapyard(['forward', '--port', `a=tap:${'x'.repeat(10_000)}`, '--port', 'b=tap:y']);
    expectOneSentence(huge, 2, /^tapyard: --port is longer than 4096 characters$/);
  });

  test('--version and help COMMAND', () => {
    expect(tapyard(['--version']).stdout).toMatch(/^tapyard \d+\.\d+\.\d+\n$/);
    const r = tapyard(['help', 'forward']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/usage: tapyard forward/);
  });

  test('--help explains and gives an example', () => {
    const r = tapyard(['forward', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/usage: tapyard forward/);
    expect(r.stdout).toMatch(/Example/);
  });
});
