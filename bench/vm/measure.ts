// Ping RTT and TCP throughput from the lab's external namespace to a real QEMU guest, on the four
// ways a VM reaches the wire: QEMU's own tap backend as libvirt wires it (a macvtap's fd passed
// to QEMU; the bridge's tap by name) and QEMU through tapyard's qemu port onto the same two wires.
// Every row names its accelerator: under plain emulation the guest's speed is not the host's, so
// VM rows compare with each other only.

import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TapyardError } from '../../src/error.js';
import { packageRoot } from '../../src/package-root.js';
import { GuestLine, GuestService } from '../../src/vm/guest.js';
import { type Accel, Vm } from '../../src/vm/vm.js';
import { type Lab, labDown, labUp, need, ns, run, type WireKind } from './lab.js';

/** Who carries the VM's frames to the wire. */
export type Backend = 'qemu-tap' | 'tapyard';

export interface VmPath {
  backend: Backend;
  wire: WireKind;
}

export const VM_PATHS: readonly VmPath[] = [
  { backend: 'qemu-tap', wire: 'macvtap' },
  { backend: 'tapyard', wire: 'macvtap' },
  { backend: 'qemu-tap', wire: 'bridge' },
  { backend: 'tapyard', wire: 'bridge' },
];

export interface VmRow {
  path: string;
  backend: Backend;
  wire: WireKind;
  accel: Accel;
  pings: number;
  pingReplies: number;
  rttMinMs: number;
  rttAvgMs: number;
  rttMaxMs: number;
  tcpBytes: number;
  /** The bytes the guest's sink counted: equal to tcpBytes or the row says so. */
  tcpBytesArrived: number;
  tcpSeconds: number;
  tcpMbitPerS: number;
  /** iperf3 ext -> guest: the path's rate without the guest's md5 in the way; null without iperf3. */
  iperf3MbitPerS: number | null;
  /** tapyard's ledger at the end of the run; null on QEMU's own backend. */
  ledgerBalanced: boolean | null;
}

export interface VmBenchOptions {
  accel: Accel;
  paths?: readonly VmPath[];
  pings?: number;
  tcpMiB?: number;
  iperfSeconds?: number;
}

export const pathName = (p: VmPath): string => `${p.backend}/${p.wire}`;

export async function measureVmPaths(options: VmBenchOptions): Promise<VmRow[]> {
  const rows: VmRow[] = [];
  for (const path of options.paths ?? VM_PATHS) rows.push(await measurePath(path, options));
  return rows;
}

async function measurePath(path: VmPath, options: VmBenchOptions): Promise<VmRow> {
  const lab = labUp(path.wire);
  let vm: Vm | null = null;
  let tapyard: ChildProcess | null = null;
  let fd: number | null = null;
  try {
    const guest = { accel: options.accel, mac: need(lab, 'GUEST_MAC'), ip: `${need(lab, 'GUEST_IP')}/24` };
    let report: Promise<string> | null = null;
    if (path.backend === 'tapyard') {
      const sock = join(tmpdir(), `ty-${lab.id}-vm.sock`);
      leftovers.add(sock);
      const started = startTapyard(lab, sock);
      tapyard = started.child;
      report = started.report;
      await started.forwarding;
      vm = await Vm.boot({ ...guest, netdev: `stream,id=n0,server=off,addr.type=unix,addr.path=${sock}` });
    } else if (path.wire === 'macvtap') {
      fd = openMacvtap(lab);
      vm = await Vm.boot({ ...guest, netdev: 'tap,id=n0,fd=3', fds: [fd] });
    } else {
      const tap = need(lab, 'WIRE_IF');
      vm = await Vm.boot({ ...guest, netdev: `tap,id=n0,ifname=${tap},script=no,downscript=no`, netns: ns(lab, 'hv') });
    }
    leftovers.add(vm.dir);
    const ping = await pingGuest(lab, options.pings ?? 20);
    const tcp = await sendToGuest(lab, vm, (options.tcpMiB ?? 20) * 1024 * 1024);
    const iperf3MbitPerS = await iperfToGuest(lab, options.iperfSeconds ?? 3);
    await vm.stop();
    vm = null;
    let ledgerBalanced: boolean | null = null;
    if (tapyard !== null && report !== null) {
      tapyard.kill('SIGINT');
      ledgerBalanced = (JSON.parse(await report) as { balanced: boolean }).balanced;
      tapyard = null;
    }
    return { path: pathName(path), ...path, accel: options.accel, ...ping, ...tcp, iperf3MbitPerS, ledgerBalanced };
  } finally {
    if (vm !== null) await vm.stop();
    if (tapyard !== null && tapyard.exitCode === null) tapyard.kill('SIGKILL');
    if (fd !== null) closeSync(fd);
    labDown(lab);
  }
}

const tapyards = new Set<ChildProcess>();
/** Files a signal could leave: a SIGKILLed tapyard's socket, a VM's directory (vm.ts kills QEMU). */
const leftovers = new Set<string>();
// A benchmark stopped by a signal leaves no tapyard and no file behind.
process.on('exit', () => {
  for (const child of tapyards) if (child.exitCode === null) child.kill('SIGKILL');
  for (const path of leftovers) rmSync(path, { recursive: true, force: true });
});

/** `tapyard forward` in the hypervisor namespace: the wire, and a qemu port listening at `sock`. */
function startTapyard(lab: Lab, sock: string) {
  const cli = join(packageRoot(), 'dist', 'src', 'cli', 'main.js');
  const wire = `wire=${need(lab, 'WIRE_KIND')}:${need(lab, 'WIRE_IF')}`;
  const args = ['netns', 'exec', ns(lab, 'hv'), 'node', cli, 'forward', '--json', '--port', wire];
  const child = spawn('ip', [...args, '--port', `vm=qemu:${sock}`], { stdio: ['ignore', 'pipe', 'pipe'] });
  tapyards.add(child);
  child.once('exit', () => tapyards.delete(child));
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
  });
  const forwarding = new Promise<void>((resolve, reject) => {
    child.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      if (/forwarding/.test(err)) resolve();
    });
    child.once('exit', () => reject(new TapyardError('BENCH_RUN', `tapyard exited: ${err.trim()}`)));
  });
  const report = new Promise<string>((resolve) => child.once('close', () => resolve(out.trim().split('\n').pop()!)));
  return { child, forwarding, report };
}

/** The macvtap's queue opened as libvirt does for type='direct': by the major:minor sysfs gives. */
function openMacvtap(lab: Lab): number {
  const ifname = need(lab, 'WIRE_IF');
  const hv = ns(lab, 'hv');
  const sys = `/sys/class/net/${ifname}/macvtap`;
  const sh = (cmd: string) => execFileSync('ip', ['netns', 'exec', hv, 'sh', '-c', cmd], { encoding: 'utf8' }).trim();
  const queue = sh(`ls ${sys}`).split('\n')[0]!;
  const [major, minor] = sh(`cat ${sys}/${queue}/dev`).split(':');
  const dir = mkdtempSync(join(tmpdir(), 'ty-mvt-'));
  try {
    execFileSync('mknod', ['-m', '600', join(dir, 'tap'), 'c', major!, minor!]);
    return openSync(join(dir, 'tap'), 'r+');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function pingGuest(lab: Lab, count: number) {
  const ip = need(lab, 'GUEST_IP');
  const ping = (n: number) =>
    run(['ip', 'netns', 'exec', ns(lab, 'ext'), 'ping', '-q', '-c', String(n), '-i', '0.2', '-W', '5', ip], 120_000);
  await ping(1); // ARP and the first frames out of the way
  const out = await ping(count);
  const rtt = /= ([\d.]+)\/([\d.]+)\/([\d.]+)\//.exec(out);
  if (rtt === null) throw new TapyardError('BENCH_RUN', `the guest at ${ip} answered no ping`);
  return {
    pings: count,
    pingReplies: Number(/(\d+) received/.exec(out)?.[1] ?? 0),
    rttMinMs: Number(rtt[1]),
    rttAvgMs: Number(rtt[2]),
    rttMaxMs: Number(rtt[3]),
  };
}

/** `bytes` of zeros ext -> the guest's sink; timed until the guest reports what it counted. */
async function sendToGuest(lab: Lab, vm: Vm, bytes: number) {
  const from = vm.console().length;
  const started = process.hrtime.bigint();
  const send = `head -c ${bytes} /dev/zero | busybox nc ${need(lab, 'GUEST_IP')} ${GuestService.SINK}`;
  await run(['ip', 'netns', 'exec', ns(lab, 'ext'), 'sh', '-c', send], 300_000);
  const line = await vm.waitFor(GuestLine.SINK, 300_000, from);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const arrived = Number(line.trim().split(/\s+/)[3]);
  return { tcpBytes: bytes, tcpBytesArrived: arrived, tcpSeconds: seconds, tcpMbitPerS: (arrived * 8) / seconds / 1e6 };
}

/** The guest runs `iperf3 -s` when build-guest found iperf3 on the host; the client needs it too. */
async function iperfToGuest(lab: Lab, seconds: number): Promise<number | null> {
  if (spawnSync('iperf3', ['--version']).status !== 0) return null;
  const argv = ['iperf3', '-c', need(lab, 'GUEST_IP'), '-p', String(GuestService.IPERF3), '-t', String(seconds), '-J'];
  const out = await run(['ip', 'netns', 'exec', ns(lab, 'ext'), ...argv], (seconds + 30) * 1000);
  const result = JSON.parse(out) as { end: { sum_received: { bits_per_second: number } } };
  return result.end.sum_received.bits_per_second / 1e6;
}
