// tapyard send's --quiet, --out and --interface against the kernel: the built-in guest behind a
// macvtap echoes what the lab's external namespace sends; the replies a run matched are saved as
// pcapng that tcpdump reads back; one interface of a two-interface capture is replayed and only
// its frames reach the external namespace.

import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { PcapngWriter } from '../../src/capture/pcapng-writer.js';
import { netnsPath, tapio } from '../../src/port/native.js';
import { readCaptureFile } from '../../src/send/capture-file.js';
import { buildFrame } from '../../src/spec/build.js';
import { CLI, type Lab, labUp, type Role, startTapyard, type Tapyard } from '../helpers/lab.js';

let lab: Lab;
let guest: Tapyard;
const dir = mkdtempSync(join(tmpdir(), 'ty-send-options-'));
beforeAll(async () => {
  lab = await labUp('macvtap');
  const e = lab.env;
  guest = startTapyard(lab, [
    'forward',
    '--port',
    `wire=macvtap:${e.WIRE_IF}`,
    '--port',
    `vm=guest:${e.GUEST_IP}/24,udp-echo=7`,
  ]);
  await guest.waitFor(/forwarding/);
});
afterAll(async () => {
  if (guest !== undefined) await guest.stop();
  lab?.down();
  rmSync(dir, { recursive: true, force: true });
});

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function send(role: Role, args: string[]): Promise<Run> {
  const child = spawn('ip', ['netns', 'exec', lab.ns(role), 'node', CLI, 'send', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
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

/** Five UDP echoes from the external namespace, matched as they come back. */
const echoes = (...extra: string[]) => {
  const e = lab.env;
  return send('ext', [
    '--port',
    `x=pcap:${e.EXT_IF}`,
    `eth dst=${e.GUEST_MAC} / ipv4 src=${e.EXT_IP} dst=${e.GUEST_IP} / udp sport=40001 dport=7 / text echo me`,
    '--count',
    '5',
    '--interval',
    '0.02',
    '--expect',
    'udp sport=7 dport=40001 / text echo me',
    '--timeout',
    '5',
    ...extra,
  ]);
};

describe('--quiet', () => {
  test('prints the summary only: no line per frame sent or matched', async () => {
    const loud = await echoes();
    expect(loud.code).toBe(0);
    expect(loud.stdout.match(/^sent /gm)).toHaveLength(5);
    expect(loud.stdout.match(/^matched /gm)).toHaveLength(5);

    const quiet = await echoes('--quiet');
    expect(quiet.code).toBe(0);
    expect(quiet.stdout).toBe('');
    expect(quiet.stderr.trim()).toMatch(/^tapyard: sent 5 of 5 frames on x \(pcap ty-\w+-ext\) .*, 5 matching /);

    const json = await echoes('-q', '--json');
    expect(json.code).toBe(0);
    const lines = json.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({ event: 'summary', planned: 5, sent: 5, matched: 5, met: true });
  });
});

describe('--out', () => {
  test('saves the matched replies as pcapng, which tcpdump reads back', async () => {
    const path = join(dir, 'replies.pcapng');
    const r = await echoes('--quiet', '--out', path);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(new RegExp(`; saved 5 to ${path}\\n$`));
    const saved = readCaptureFile(path);
    expect(saved.format).toBe('pcapng');
    expect(saved.frames).toHaveLength(5);
    const e = lab.env;
    const read = execFileSync('tcpdump', ['-r', path, '-nn', '-e'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    const lines = read.trim().split('\n');
    expect(lines).toHaveLength(5);
    for (const line of lines) {
      expect(line).toContain(`${e.GUEST_MAC} > ${e.EXT_MAC}`);
      expect(line).toContain(`${e.GUEST_IP}.7 > ${e.EXT_IP}.40001: UDP, length 7`);
    }
  });
});

/** A packet socket in the external namespace for the experimental EtherType: what arrived, in order. */
function listen() {
  const io = tapio();
  const fd = io.packetSocket(lab.env.EXT_IF!, 0x88b5, netnsPath(lab.ns('ext')));
  const ring = new Uint8Array(1 << 20);
  const offsets = new Uint32Array(64);
  const lengths = new Int32Array(64);
  return {
    texts(): string[] {
      const out: string[] = [];
      for (;;) {
        const n = io.readBatch(fd, ring, offsets, lengths, 0, 0, 64);
        for (let i = 0; i < n; i++) {
          const f = Buffer.from(ring.subarray(offsets[i]! + 14, offsets[i]! + lengths[i]!));
          out.push(f.toString('latin1').replace(/\0+$/, ''));
        }
        if (n < 64) return out;
      }
    },
    close: () => io.close(fd),
  };
}

describe('--interface', () => {
  /** A capture as forward --capture writes one: interface 0 is wire, 1 is guest, frames interleaved. */
  function twoInterfaces(): string {
    const path = join(dir, 'two.pcapng');
    const w = new PcapngWriter(path, ['wire', 'guest']);
    const start = 1_700_000_000_000_000;
    for (let i = 0; i < 6; i++) {
      const port = i % 2;
      const text = `${port === 0 ? 'wire' : 'guest'} ${i}`;
      const f = buildFrame({ eth: { dst: lab.env.EXT_MAC!, src: '02:00:00:00:00:01' }, payload: text, padTo: 60 });
      w.frame(port, start + i * 5_000, f, 0, f.length);
    }
    w.close();
    return path;
  }

  test('replays one interface of a capture, by name or by index, and only its frames', async () => {
    const path = twoInterfaces();
    const seen = listen();
    try {
      // The macvtap has its reader (the guest's forward): the frames go out through the lower instead.
      const wire = `lower=pcap:${lab.env.LOWER_IF}`;
      const byName = await send('hv', ['--port', wire, '--pcap', path, '--interface', 'guest', '--quiet']);
      expect(byName.code).toBe(0);
      expect(byName.stderr).toMatch(/^tapyard: sent 3 of 3 frames/);
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(seen.texts().filter((t) => /^(wire|guest) /.test(t))).toEqual(['guest 1', 'guest 3', 'guest 5']);

      const byIndex = await send('hv', ['--port', wire, '--pcap', path, '--interface', '0', '--quiet']);
      expect(byIndex.code).toBe(0);
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(seen.texts().filter((t) => /^(wire|guest) /.test(t))).toEqual(['wire 0', 'wire 2', 'wire 4']);

      const none = await send('hv', ['--port', wire, '--pcap', path, '--interface', 'lower']);
      expect(none.code).toBe(2);
      expect(none.stderr).toBe(
        `tapyard: --pcap '${path}': holds no frames on an interface named 'lower' (its interfaces: 0 wire, 1 guest)\n`,
      );
    } finally {
      seen.close();
    }
  });
});

describe('the new options refuse what they cannot do, in one sentence and status 2', () => {
  test.each([
    [['--interface', '1', 'eth / text x'], 'tapyard: --interface picks an interface of a --pcap file: give --pcap too'],
    [
      ['--out', '/tmp/x.pcapng', 'eth / text x'],
      'tapyard: --out saves the frames that match --expect: give --expect too',
    ],
    [['--quiet=yes', 'eth / text x'], 'tapyard: --quiet takes no value'],
  ])('send %j', async (args, sentence) => {
    const r = await send('ext', ['--port', `x=pcap:${lab.env.EXT_IF}`, ...args]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`${sentence}\n`);
    expect(r.stdout).toBe('');
  });
});
