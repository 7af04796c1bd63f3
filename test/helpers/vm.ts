// The VM side of the e2e tests: whether this machine can boot the guest at all (and, if not, the
// one sentence the tests skip with), the guest booted on a netdev, a macvtap fd opened the way
// libvirt opens one for QEMU, and a TCP transfer checked end to end by the guest's md5.

import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chooseAccel } from '../../src/vm/accel.js';
import { GuestLine, GuestService } from '../../src/vm/guest.js';
import { type Accel, Vm, type VmOptions } from '../../src/vm/vm.js';
import { type Lab, ROOT } from './lab.js';

/** Why the VM tests cannot run here, or null when they can. The guest is built on the way. */
export function vmUnavailable(): string | null {
  if (process.getuid?.() !== 0) return 'the VM tests need root (they build namespaces, taps and macvtaps)';
  if (spawnSync('qemu-system-x86_64', ['--version']).status !== 0) {
    return 'qemu-system-x86_64 is not installed (scripts/setup installs qemu-system-x86)';
  }
  const built = spawnSync(join(ROOT, 'scripts', 'vm', 'build-guest'), { encoding: 'utf8' });
  if (built.status !== 0) return `the VM guest cannot be built: ${built.stderr.trim().split('\n').pop()}`;
  return null;
}

let accel: Promise<Accel> | null = null;
/** TAPYARD_VM_ACCEL=tcg|kvm|auto; plain emulation unless asked (this host's KVM hangs guests). */
export function testAccel(): Promise<Accel> {
  const choice = process.env.TAPYARD_VM_ACCEL ?? 'tcg';
  accel ??= chooseAccel(choice === 'kvm' || choice === 'auto' ? choice : 'tcg');
  return accel;
}

export async function bootGuest(lab: Lab, netdev: string, extra: Partial<VmOptions> = {}): Promise<Vm> {
  return Vm.boot({ accel: await testAccel(), netdev, mac: lab.env.GUEST_MAC!, ip: `${lab.env.GUEST_IP}/24`, ...extra });
}

/** A TCP port on 127.0.0.1 that nobody listens on now, from the kernel. */
export async function freeTcpPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export const streamNetdev = (path: string) => `stream,id=n0,server=off,addr.type=unix,addr.path=${path}`;

/**
 * The macvtap's queue opened as libvirt does for type='direct': its character device found by the
 * major:minor sysfs gives (in the macvtap's namespace), through a private node. The caller closes it.
 */
export function openMacvtapFd(lab: Lab): number {
  const ifname = lab.env.WIRE_IF!;
  const queue = lab.run('hv', 'sh', '-c', `ls /sys/class/net/${ifname}/macvtap`).trim().split('\n')[0]!;
  const dev = lab.run('hv', 'cat', `/sys/class/net/${ifname}/macvtap/${queue}/dev`).trim();
  const [major, minor] = dev.split(':');
  const dir = mkdtempSync(join(tmpdir(), 'ty-mvt-'));
  try {
    execFileSync('mknod', ['-m', '600', join(dir, 'tap'), 'c', major!, minor!]);
    return openSync(join(dir, 'tap'), 'r+');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function closeFd(fd: number): void {
  closeSync(fd);
}

export interface Transfer {
  bytes: number;
  sentMd5: string;
  /** `md5 bytes` as the guest's sink printed them. */
  guestMd5: string;
  guestBytes: number;
  seconds: number;
}

/** Send `bytes` of random data from the external namespace to the guest's sink; compare its md5. */
export async function transferToGuest(lab: Lab, vm: Vm, bytes: number): Promise<Transfer> {
  const dir = mkdtempSync(join(tmpdir(), 'ty-xfer-'));
  const file = join(dir, 'data');
  try {
    execFileSync('head', ['-c', String(bytes), '/dev/urandom'], { stdio: ['ignore', openSync(file, 'w'), 'ignore'] });
    const sentMd5 = execFileSync('md5sum', [file], { encoding: 'utf8' }).slice(0, 32);
    const from = vm.console().length;
    const started = Date.now();
    await runAsync('ip', [
      'netns',
      'exec',
      lab.ns('ext'),
      'sh',
      '-c',
      `busybox nc ${lab.env.GUEST_IP} ${GuestService.SINK} <${file}`,
    ]);
    const line = await vm.waitFor(GuestLine.SINK, 120_000, from);
    const [, , md5, count] = line.trim().split(/\s+/);
    return { bytes, sentMd5, guestMd5: md5!, guestBytes: Number(count), seconds: (Date.now() - started) / 1000 };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Run a command without blocking the loop (tapyard's port lives in this process in some tests). */
export function runAsync(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
    });
    child.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`${cmd} ${args.join(' ')}: ${err}`))));
  });
}

/** Ping the guest from the external namespace; the count of replies. */
export async function pingGuest(lab: Lab, count = 3): Promise<number> {
  const out = await runAsync('ip', [
    'netns',
    'exec',
    lab.ns('ext'),
    'ping',
    '-c',
    String(count),
    '-i',
    '0.2',
    '-W',
    '5',
    lab.env.GUEST_IP!,
  ]);
  return Number(/(\d+) received/.exec(out)?.[1] ?? 0);
}

/** Boot options for the guest on a vhost-user back-end listening on `path`. */
export const vhostUserVm = (path: string): Partial<VmOptions> => ({ vhostUser: path });

export interface EchoTransfer {
  sentMd5: string;
  echoedMd5: string;
  echoedBytes: number;
}

/**
 * Send `bytes` of random data from the external namespace to the guest's echo (port 5002) and
 * read all of it back: the data crosses both ways, and what came back is checked by its md5.
 */
export async function echoThroughGuest(lab: Lab, bytes: number): Promise<EchoTransfer> {
  // Python: write everything, half-close, read until the guest's end (busybox nc would stop
  // reading at the end of its input, before the echo has all come back).
  const script = [
    'import hashlib, os, socket, sys, threading',
    'n = int(sys.argv[2]); data = os.urandom(n)',
    's = socket.create_connection((sys.argv[1], 5002), timeout=120)',
    'def send():',
    '    s.sendall(data); s.shutdown(socket.SHUT_WR)',
    'threading.Thread(target=send, daemon=True).start()',
    'h = hashlib.md5(); got = 0',
    'while True:',
    '    b = s.recv(1 << 16)',
    '    if not b: break',
    '    h.update(b); got += len(b)',
    'print(hashlib.md5(data).hexdigest(), h.hexdigest(), got)',
  ].join('\n');
  const out = await runAsync('ip', [
    'netns',
    'exec',
    lab.ns('ext'),
    'python3',
    '-c',
    script,
    lab.env.GUEST_IP!,
    String(bytes),
  ]);
  const [sentMd5 = '', echoedMd5 = '', echoed = '0'] = out.trim().split(/\s+/);
  return { sentMd5, echoedMd5, echoedBytes: Number(echoed) };
}
