// tapyard send against the kernel: a crafted frame sent through a macvtap or a pcap port reaches
// the lab's external namespace byte for byte (read there by a packet socket); --expect sees the
// built-in guest's echo come back through the macvtap; a replayed pcapng arrives complete and in
// order; a bad spec is one sentence and status 2.

import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, test } from 'vitest';
import { PcapngWriter } from '../../src/capture/pcapng-writer.js';
import { netnsPath, tapio } from '../../src/port/native.js';
import { buildFrame } from '../../src/spec/build.js';
import { CLI, type Lab, labUp, type Role, startTapyard } from '../helpers/lab.js';

let lab: Lab | null = null;
afterEach(() => {
  lab?.down();
  lab = null;
});
const dir = mkdtempSync(join(tmpdir(), 'ty-send-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

const children = new Set<ChildProcess>();
afterEach(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  children.clear();
});

/** `tapyard send ARGS` in a namespace of the lab, to its end. */
function send(l: Lab, role: Role, args: string[]): Promise<Run> {
  const child = spawn('ip', ['netns', 'exec', l.ns(role), 'node', CLI, 'send', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString();
  });
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

/** A packet socket in the external namespace for one EtherType: what arrived there, in order. */
function listen(l: Lab, etherType: number) {
  const io = tapio();
  const fd = io.packetSocket(l.env.EXT_IF!, etherType, netnsPath(l.ns('ext')));
  const ring = new Uint8Array(1 << 20);
  const offsets = new Uint32Array(64);
  const lengths = new Int32Array(64);
  return {
    drain(): Buffer[] {
      const frames: Buffer[] = [];
      for (;;) {
        const n = io.readBatch(fd, ring, offsets, lengths, 0, 0, 64);
        for (let i = 0; i < n; i++) frames.push(Buffer.from(ring.subarray(offsets[i]!, offsets[i]! + lengths[i]!)));
        if (n < 64) return frames;
      }
    },
    close: () => io.close(fd),
  };
}

const VM_MAC = '02:74:79:00:00:07';

describe.each([
  ['macvtap', 'macvtap', (l: Lab) => `wire=macvtap:${l.env.WIRE_IF}`],
  ['pcap', 'macvtap', (l: Lab) => `lower=pcap:${l.env.LOWER_IF}`],
  ['tap', 'bridge', (l: Lab) => `wire=tap:${l.env.WIRE_IF}`],
] as const)('a crafted UDP frame through a %s port', (kind, labKind, portSpec) => {
  test('arrives in the external namespace byte for byte, as often as asked', async () => {
    const l = await labUp(labKind);
    lab = l;
    const e = l.env;
    const seen = listen(l, 0x0800);
    try {
      const ip = `ipv4 src=${e.GUEST_IP} dst=${e.EXT_IP} ttl=9`;
      // Behind a tap the VM has a MAC of its own, which tapyard cannot know: the spec names it.
      const src = kind === 'tap' ? ` src=${VM_MAC}` : '';
      const spec = `eth dst=${e.EXT_MAC}${src} / ${ip} / udp sport=4242 dport=7 / text tapyard send`;
      const r = await send(l, 'hv', ['--port', portSpec(l), '--count', '3', '--interval', '0.05', '--json', spec]);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      const lines = r.stdout
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line));
      const sent = lines.filter((x) => x.event === 'sent');
      expect(sent).toHaveLength(3);
      expect(lines.at(-1)).toMatchObject({ event: 'summary', planned: 3, sent: 3 });
      // What the kernel's own builder would say it is.
      expect(sent[0].frame).toMatch(/ > .* IPv4 10\.77\.0\.2\.4242 > 10\.77\.0\.1\.7 UDP len 12$/);
      await new Promise((resolve) => setTimeout(resolve, 200));
      const arrived = seen.drain().filter((f) => f.includes(Buffer.from('tapyard send')));
      expect(arrived.map((f) => f.toString('hex'))).toEqual(sent.map((x) => x.hex));
      // The source MAC is the port's own (the macvtap's, the pcap interface's), or the one given.
      const own = spawnSync('ip', ['-n', l.ns('hv'), '-j', 'link', 'show', portSpec(l).split(':')[1]!], {
        encoding: 'utf8',
      });
      const mac = kind === 'tap' ? VM_MAC : (JSON.parse(own.stdout) as { address: string }[])[0]!.address;
      expect(arrived[0]!.subarray(6, 12).toString('hex')).toBe(mac.replaceAll(':', ''));
      if (kind === 'tap') {
        const refused = await send(l, 'hv', ['--port', portSpec(l), `eth dst=${e.EXT_MAC} / ${ip}`]);
        expect(refused.code).toBe(2);
        expect(refused.stderr.trim()).toBe(
          'tapyard: a frame into the tap port wire comes from a station tapyard does not know: ' +
            'give it a source with eth src=MAC',
        );
      }
    } finally {
      seen.close();
    }
  });
});

describe('--expect', () => {
  test("sees the built-in guest's UDP echo and ARP reply through the macvtap, and a timeout is status 3", async () => {
    const l = await labUp('macvtap');
    lab = l;
    const e = l.env;
    const t = startTapyard(l, [
      'forward',
      '--port',
      `wire=macvtap:${e.WIRE_IF}`,
      '--port',
      `vm=guest:${e.GUEST_IP}/24,udp-echo=7`,
    ]);
    await t.waitFor(/forwarding/);
    const port = `x=pcap:${e.EXT_IF}`;
    const echo = await send(l, 'ext', [
      '--port',
      port,
      `eth dst=${e.GUEST_MAC} / ipv4 src=${e.EXT_IP} dst=${e.GUEST_IP} / udp sport=40000 dport=7 / text hello guest`,
      '--expect',
      'udp sport=7 dport=40000 / text hello guest',
      '--timeout',
      '10',
    ]);
    expect(echo.code).toBe(0);
    expect(echo.stdout).toMatch(/^sent +\d+\.\d+ {2}\S+ > \S+ IPv4 10\.77\.0\.1\.40000 > 10\.77\.0\.2\.7 UDP len 11$/m);
    expect(echo.stdout).toMatch(
      /^matched +\d+\.\d+ {2}\S+ > \S+ IPv4 10\.77\.0\.2\.7 > 10\.77\.0\.1\.40000 UDP len 11$/m,
    );
    expect(echo.stderr).toMatch(/^tapyard: sent 1 of 1 frame on x \(pcap ty-\w+-ext\) .*, 1 matching /);

    const arp = await send(l, 'ext', [
      '--port',
      port,
      `arp sender=${e.EXT_IP} target=${e.GUEST_IP}`,
      '--expect',
      'arp op=reply',
    ]);
    expect(arp.code).toBe(0);
    expect(arp.stdout).toContain(`ARP reply ${e.GUEST_IP} is-at ${e.GUEST_MAC}`);

    // Nothing echoes on port 9: the expectation times out, in one sentence and status 3.
    const none = await send(l, 'ext', [
      '--port',
      port,
      `eth dst=${e.GUEST_MAC} / ipv4 src=${e.EXT_IP} dst=${e.GUEST_IP} / udp dport=9`,
      '--expect',
      'udp sport=9',
      '--timeout',
      '1',
    ]);
    expect(none.code).toBe(3);
    expect(none.stderr.trim().split('\n').at(-1)).toBe(
      "tapyard: no frame matched --expect 'udp sport=9' within 1 s of the last frame",
    );
    const stop = await t.stop();
    expect(stop.code).toBe(0);
    expect(t.stdout()).toMatch(/the guest received arp [1-9]\d*, icmp \d+, icmpv6 \d+, udp [2-9]/);
  });
});

describe('--pcap', () => {
  test('a pcapng replays complete, in order, with its spacing, as often as asked', async () => {
    const l = await labUp('macvtap');
    lab = l;
    const e = l.env;
    const path = join(dir, 'replay.pcapng');
    const w = new PcapngWriter(path, ['wire']);
    const start = 1_700_000_000_000_000;
    const N = 20;
    for (let i = 0; i < N; i++) {
      const f = buildFrame({ eth: { dst: e.EXT_MAC!, src: '02:00:00:00:00:01' }, payload: `replay ${i}`, padTo: 60 });
      w.frame(0, start + i * 10_000, f, 0, f.length); // 10 ms apart
    }
    w.close();
    const seen = listen(l, 0x88b5);
    try {
      const r = await send(l, 'hv', ['--port', `wire=macvtap:${e.WIRE_IF}`, '--pcap', path, '--count', '2', '--json']);
      expect(r.code).toBe(0);
      const summary = JSON.parse(r.stdout.trim().split('\n').at(-1)!);
      expect(summary).toMatchObject({ planned: 2 * N, sent: 2 * N, drops: {} });
      // 19 gaps of 10 ms per round, rounds back to back: never faster than that (slower may be).
      expect(summary.seconds).toBeGreaterThanOrEqual(2 * 0.19 - 0.01);
      await new Promise((resolve) => setTimeout(resolve, 200));
      const texts = seen
        .drain()
        .map((f) => f.subarray(14).toString('latin1').replace(/\0+$/, ''))
        .filter((text) => text.startsWith('replay '));
      const expected = Array.from({ length: N }, (_, i) => `replay ${i}`);
      expect(texts).toEqual([...expected, ...expected]);
    } finally {
      seen.close();
    }
  });
});

describe('bad input is one sentence and status 2, before any device is opened', () => {
  test.each([
    [
      ['--port', 'x=pcap:ty-none0', 'ipv4 src=10.0.0.1 dst=10.0.0.2 / udp dport=70000'],
      /^tapyard: frame spec, layer 2 \(udp\): dport must be a whole number from 0 to 65535, not '70000'$/,
    ],
    [
      ['--port', 'x=pcap:ty-none0', 'ipv4 dst=10.0.0.2'],
      /^tapyard: frame spec, layer 1 \(ipv4\): src= is needed to send \(src=IPV4\)$/,
    ],
    [
      ['--port', 'x=pcap:ty-none0', 'udp dport=7', '--expect', 'udp sprt=7'],
      /^tapyard: frame spec: udp needs an ipv4 or ipv6 layer/,
    ],
    [
      ['--port', 'x=pcap:ty-none0', 'eth', '--expect', 'udp sprt=7'],
      /^tapyard: --expect, layer 1 \(udp\): unknown option 'sprt' \(did you mean sport\?\)$/,
    ],
    [['--port', 'x=pcap:ty-none0', '--hex', '0102zz'], /^tapyard: --hex must be bytes in hex digits/],
    [
      ['--port', 'x=pcap:ty-none0', '--pcap', '/nonexistent/ty.pcap'],
      /^tapyard: cannot read --pcap '\/nonexistent\/ty.pcap': ENOENT$/,
    ],
    [
      ['--port', 'x=pcap:ty-none0', 'eth', '--rate', '10', '--interval', '1'],
      /^tapyard: --interval and --rate say the same thing: give one$/,
    ],
    [
      ['--port', 'x=pcap:ty-none0', 'eth', '--timeout', '1'],
      /^tapyard: --timeout is how long --expect waits: give --expect too$/,
    ],
    [['--port', 'x=pcap:ty-none0'], /^tapyard: send needs a frame: a spec/],
    [['eth'], /^tapyard: send needs --port NAME=KIND:TARGET$/],
    [
      ['--port', 'x=pcap:ty-none0,rx-filter', 'eth'],
      /^tapyard: port x: rx-filter plays a guest NIC's filter for forward/,
    ],
    [
      ['--port', 'x=pcap:ty-none0', 'eth', '--hex', '00'],
      /^tapyard: send takes one of a frame spec, --hex and --pcap$/,
    ],
    [
      ['--port', 'x=macvtap:ty-none0,spoof=drop', 'eth'],
      /^tapyard: port x: spoof=drop stops what a guest sends through forward; send writes what it is given$/,
    ],
  ])('%j', (args, message) => {
    const r = spawnSync('node', [CLI, 'send', ...args], { encoding: 'utf8', timeout: 20_000 });
    expect(r.status).toBe(2);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(message);
    expect(r.stdout).toBe('');
  });

  test('a port that fails to open is status 1, one sentence', () => {
    const r = spawnSync('node', [CLI, 'send', '--port', 'x=pcap:ty-none0', 'eth'], {
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(r.status).toBe(1);
    expect(r.stderr.trim()).toBe('tapyard: port x: there is no interface ty-none0 in this network namespace');
  });
});
