// Every topology file shipped in labs/ comes up through `tapyard lab up`, passes a ping where it
// should and fails where the kernel says it must, and `lab down` (by the lab's name) leaves
// nothing behind: no namespace, no state file, no forwarder. An `up` interrupted or failing
// half-way, with a forwarder starting, leaves nothing either.

import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { CLI, ROOT } from '../helpers/lab.js';
import { vmUnavailable } from '../helpers/vm.js';

const RUN_DIR = process.env.TAPYARD_RUN_DIR ?? '/run/tapyard';
const dir = mkdtempSync(join(tmpdir(), 'ty-topo-'));
const ids: string[] = [];
afterAll(() => {
  for (const id of ids) spawnSync(process.execPath, [CLI, 'lab', 'down', id], { stdio: 'ignore' });
  rmSync(dir, { recursive: true, force: true });
});

const freshId = () => {
  const id = `t${Math.random().toString(36).slice(2, 7)}`;
  ids.push(id);
  return id;
};
const ours = (id: string) =>
  execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })
    .split('\n')
    .map((l) => l.split(' ')[0]!)
    .filter((ns) => ns.startsWith(`ty-${id}-`));
const lab = (...args: string[]) => spawnSync(process.execPath, [CLI, 'lab', ...args], { encoding: 'utf8' });
/** Running, not a zombie waiting for init to reap it. */
const pidAlive = (pid: number) => {
  try {
    return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return false;
  }
};

function up(file: string, id: string, ...options: string[]): Record<string, string> {
  const r = lab('up', file, '--id', id, ...options);
  if (r.status !== 0) throw new Error(`lab up ${file}: ${r.stderr}`);
  return Object.fromEntries(
    r.stdout
      .trim()
      .split('\n')
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
}

/** How many of `count` pings from the lab's namespace `role` came back. */
function ping(id: string, role: string, ip: string, count = 3): number {
  const r = spawnSync(
    'ip',
    ['netns', 'exec', `ty-${id}-${role}`, 'ping', '-c', String(count), '-i', '0.05', '-W', '1', ip],
    {
      encoding: 'utf8',
    },
  );
  const m = / (\d+) received/.exec(r.stdout);
  if (m === null) throw new Error(`no ping summary: ${r.stdout}${r.stderr}`);
  return Number(m[1]);
}

/** A shipped file with forwarders added: the same lab, with tapyard between the wire and the guests. */
function withForwarders(kind: string, forwarders: string): string {
  const path = join(dir, `${kind}.yaml`);
  writeFileSync(path, `${readFileSync(join(ROOT, 'labs', `${kind}.yaml`), 'utf8')}forwarders:\n${forwarders}`);
  return path;
}

const FW = (netns: string, name: string, ...ports: string[]) =>
  [
    `  - name: ${name}`,
    `    netns: ${netns}`,
    ...(ports.length > 2 ? ['    switch: pairs'] : []),
    '    ports:',
    ...ports.map((p) => `      - ${p}`),
    '',
  ].join('\n');

interface Case {
  name: string;
  file: () => string;
  options?: string[];
  /** [from namespace, to (a key of what up printed), gets through?] */
  pings: [string, string, boolean][];
}

const cases: Case[] = [
  {
    name: 'macvtap, tapyard between the macvtap and the guest tap',
    file: () => withForwarders('macvtap', FW('hv', 'fw', 'wire=macvtap:mvt', 'guest=tap:gtp,netns=gst')),
    pings: [['ext', 'GUEST_IP', true]],
  },
  {
    name: 'bridge, tapyard between the bridged tap and the guest tap',
    file: () => withForwarders('bridge', FW('hv', 'fw', 'wire=tap:wtp', 'guest=tap:gtp,netns=gst')),
    pings: [['ext', 'GUEST_IP', true]],
  },
  { name: 'ref-veth', file: () => 'ref-veth', pings: [['ext', 'GUEST_IP', true]] },
  { name: 'ref-macvlan', file: () => 'ref-macvlan', pings: [['ext', 'GUEST_IP', true]] },
  { name: 'ref-bridge', file: () => 'ref-bridge', pings: [['ext', 'GUEST_IP', true]] },
  {
    // macvlan never sees what the host sends on the lower itself: hv cannot reach its guest.
    name: 'host-to-guest: ext reaches the guest, the hypervisor does not',
    file: () => withForwarders('host-to-guest', FW('hv', 'fw', 'wire=macvtap:mvt', 'guest=tap:gtp,netns=gst')),
    pings: [
      ['ext', 'GUEST_IP', true],
      ['hv', 'GUEST_IP', false],
    ],
  },
  {
    name: 'host-to-guest --host-macvlan: the hypervisor reaches its guest through a bridge-mode macvlan',
    file: () => withForwarders('host-to-guest', FW('hv', 'fw', 'wire=macvtap:mvt', 'guest=tap:gtp,netns=gst')),
    options: ['--host-macvlan'],
    pings: [['hv', 'GUEST_IP', true]],
  },
  {
    name: 'guests in bridge mode reach each other',
    file: () =>
      withForwarders(
        'guests',
        FW('hv', 'fw', 'w1=macvtap:mvt1', 'g1=tap:gtp1,netns=g1', 'w2=macvtap:mvt2', 'g2=tap:gtp2,netns=g2'),
      ),
    pings: [
      ['g1', 'GUEST_IP_2', true],
      ['g2', 'EXT_IP', true],
    ],
  },
  {
    // VEPA sends sibling traffic to the switch, and a direct cable reflects nothing.
    name: 'guests in vepa mode on a direct cable do not',
    file: () =>
      withForwarders(
        'guests',
        FW('hv', 'fw', 'w1=macvtap:mvt1', 'g1=tap:gtp1,netns=g1', 'w2=macvtap:mvt2', 'g2=tap:gtp2,netns=g2'),
      ),
    options: ['--mode', 'vepa'],
    pings: [
      ['g1', 'GUEST_IP_2', false],
      ['g1', 'EXT_IP', true],
    ],
  },
  {
    name: 'vlan: tagged 15 on the wire between two tapyards',
    file: () =>
      withForwarders(
        'vlan',
        FW('hv', 'fw', 'wire=macvtap:mvt,trunk=15', 'guest=tap:gtp,netns=gst,vlan=15') +
          FW('ext', 'fx', 'trunk=macvtap:xmv,trunk=15', 'host=tap:xtp,vlan=15'),
      ),
    pings: [['gst', 'EXT_IP', true]],
  },
  {
    name: 'vlan: the guest in VLAN 16, the external host in 15',
    file: () =>
      withForwarders(
        'vlan',
        FW('hv', 'fw', 'wire=macvtap:mvt,trunk=15+16', 'guest=tap:gtp,netns=gst,vlan=16') +
          FW('ext', 'fx', 'trunk=macvtap:xmv,trunk=15+16', 'host=tap:xtp,vlan=15'),
      ),
    pings: [['gst', 'EXT_IP', false]],
  },
];

describe('every shipped topology file', () => {
  test.each(cases)('$name', ({ file, options, pings }) => {
    const id = freshId();
    const env = up(file(), id, ...(options ?? []));
    expect(env.LAB_READY).toBe('1');
    const forwarders = Object.entries(env)
      .filter(([k]) => k === 'FORWARDER')
      .map(([, v]) => Number(v.split(':')[1]));
    for (const [from, to, through] of pings) {
      const got = ping(id, from, env[to]!);
      expect(`${from} -> ${to}: ${got}`).toBe(`${from} -> ${to}: ${through ? 3 : 0}`);
    }
    downAndGone(env.LAB_NAME!, id);
    for (const pid of forwarders) expect(pidAlive(pid)).toBe(false);
  });

  test("impaired: one command, 30 % loss toward tapyard's own guest, counted by the forwarder", () => {
    const id = freshId();
    const env = up('impaired', id);
    const got = ping(id, 'ext', env.GUEST_IP!, 100);
    // A ping is lost when the request or the reply is: about half (1 - 0.7^2) come back.
    expect(got).toBeGreaterThan(20);
    expect(got).toBeLessThan(80);
    const down = lab('down', 'impaired');
    if (down.status !== 0) throw new Error(down.stderr);
    expect(down.stdout).toMatch(/forwarder fw: .*\(balanced\)/);
    expect(ours(id)).toEqual([]);
  });

  test.skipIf(vmUnavailable() !== null)('vm: a QEMU guest on the macvtap answers ext', { timeout: 150_000 }, () => {
    const id = freshId();
    const env = up('vm', id);
    const pid = Number(env.VM_PID);
    expect(pidAlive(pid)).toBe(true);
    expect(ping(id, 'ext', env.GUEST_IP!)).toBe(3);
    downAndGone('vm', id);
    expect(pidAlive(pid)).toBe(false);
    expect(existsSync(env.VM_DIR!)).toBe(false);
  });
});

function downAndGone(name: string, id: string): void {
  // By name while it is the only lab of that name; tests in other files may bring up the same kinds.
  const r = lab('down', lab('status', name).status === 0 ? name : id);
  if (r.status !== 0) throw new Error(`lab down: ${r.stderr}`);
  expect(ours(id)).toEqual([]);
  expect(existsSync(join(RUN_DIR, `lab-${id}.env`))).toBe(false);
  expect(readdirSync(RUN_DIR).filter((f) => f.startsWith(`lab-${id}-`))).toEqual([]);
}

describe('status and exec take the lab name', () => {
  test('status names the lab, its namespaces and its forwarder; exec runs in a namespace', () => {
    const id = freshId();
    const path = withForwarders('macvtap', FW('hv', 'fw', 'wire=macvtap:mvt', 'guest=tap:gtp,netns=gst'));
    writeFileSync(path, readFileSync(path, 'utf8').replace('name: macvtap', `name: named-${id}`));
    up(path, id);
    const s = lab('status', `named-${id}`);
    expect(s.stdout).toMatch(new RegExp(`^lab named-${id} \\(${id}\\): .* ready$`, 'm'));
    expect(s.stdout).toMatch(new RegExp(`ty-${id}-hv: ty-${id}-eth\\(UP\\) ty-${id}-mvt\\(UP\\)`));
    expect(s.stdout).toMatch(/forwarder fw: pid \d+, running/);
    const e = lab('exec', `named-${id}`, 'gst', 'ip', '-br', 'addr', 'show', `ty-${id}-gtp`);
    expect(e.stdout).toMatch(/10\.77\.0\.2\/24/);
    expect(lab('exec', `named-${id}`, 'nope', 'true').stderr).toMatch(
      /^tapyard: lab named-\w+ has no namespace 'nope'/,
    );
    downAndGone(`named-${id}`, id);
  });
});

describe('a failure or a signal half-way leaves nothing', () => {
  test.skipIf(vmUnavailable() !== null)(
    'Ctrl-C while the VM boots: QEMU stopped, its files and the lab gone',
    async () => {
      const id = freshId();
      const child = spawn(process.execPath, [CLI, 'lab', 'up', 'vm', '--id', id], { stdio: 'ignore' });
      const state = join(RUN_DIR, `lab-${id}.env`);
      const vm = () => (existsSync(state) ? /^VM_PID=(\d+)$/m.exec(readFileSync(state, 'utf8')) : null);
      while (vm() === null) await new Promise((r) => setTimeout(r, 5));
      const pid = Number(vm()![1]);
      const vmDir = /^VM_DIR=(.*)$/m.exec(readFileSync(state, 'utf8'))![1]!;
      expect(/^LAB_READY=/m.test(readFileSync(state, 'utf8'))).toBe(false);
      child.kill('SIGINT');
      const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
      expect(code).toBe(130);
      expect(pidAlive(pid)).toBe(false);
      expect(existsSync(vmDir)).toBe(false);
      expect(ours(id)).toEqual([]);
      expect(existsSync(state)).toBe(false);
    },
  );

  test('a forwarder that cannot open its port: up fails, and removes the lab', () => {
    const id = freshId();
    // gtp is a tap: opening it as a macvtap fails once the lab exists.
    const path = withForwarders('macvtap', FW('hv', 'fw', 'wire=macvtap:gtp', 'guest=tap:mvt'));
    const r = lab('up', path, '--id', id);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^tapyard: lab up failed, removed lab \w+: forwarder fw did not start: /);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(ours(id)).toEqual([]);
    expect(existsSync(join(RUN_DIR, `lab-${id}.env`))).toBe(false);
  });

  test.each(['the first namespace', 'the forwarder'])('Ctrl-C once %s exists: nothing left', async (when) => {
    const id = freshId();
    const path = withForwarders('macvtap', FW('hv', 'fw', 'wire=macvtap:mvt', 'guest=tap:gtp,netns=gst'));
    const child = spawn(process.execPath, [CLI, 'lab', 'up', path, '--switch', '--id', id], { stdio: 'ignore' });
    const state = join(RUN_DIR, `lab-${id}.env`);
    const reached = () =>
      when === 'the first namespace'
        ? ours(id).length > 0
        : existsSync(state) && /^FORWARDER=/m.test(readFileSync(state, 'utf8'));
    while (!reached()) await new Promise((r) => setTimeout(r, 2));
    const pid = when === 'the forwarder' ? Number(/^FORWARDER=fw:(\d+):/m.exec(readFileSync(state, 'utf8'))![1]) : null;
    child.kill('SIGINT');
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    expect(code).toBe(130);
    expect(ours(id)).toEqual([]);
    expect(existsSync(state)).toBe(false);
    if (pid !== null) expect(pidAlive(pid)).toBe(false);
  });
});
