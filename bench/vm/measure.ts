// The real-VM rows of `tapyard bench`: a QEMU guest on the four ways a VM reaches the wire, QEMU's
// own tap backend as libvirt wires it (a macvtap's fd passed to QEMU; the bridge's tap by name) and
// QEMU through tapyard's qemu port onto the same two wires. Each path is opened once (lab, boot);
// then rounds (section.ts alternates the paths): TCP both ways (iperf3), 64-byte frames flat out
// (counted by the guest's eth0), ICMP round trips from the external namespace; last the seed
// experiment with the VM idle: frames to a MAC nobody owns, and what they cost QEMU and tapyard.
// Every row names its accelerator: under emulation, VM rows compare with each other only.

import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TapyardError } from '../../src/error.js';
import { packageRoot } from '../../src/package-root.js';
import { GuestService } from '../../src/vm/guest.js';
import { type Accel, Vm } from '../../src/vm/vm.js';
import { processCpuNs } from '../datapath/cpu.js';
import { baselineBin } from '../datapath/forwarders.js';
import { linkStats } from '../datapath/lab.js';
import { median } from '../datapath/paired.js';
import { lastJson } from '../datapath/process.js';
import type { VmBackend, VmRound, VmRow } from '../datapath/report-schema.js';
import { percentile } from '../datapath/stats.js';
import { type Lab, labDown, labUp, need, ns, run, type WireKind } from './lab.js';
import { steadyCount } from './steady.js';

export interface VmPath {
  /** QEMU's own tap backend (MSI-X or INTx), tapyard's qemu port (no virtio-net header) or vhost-user port. */
  backend: VmBackend;
  wire: WireKind;
}

/** The VM paths a run boots unless --paths names others. */
export const VM_PATHS: readonly VmPath[] = [
  { backend: 'qemu-tap', wire: 'macvtap' },
  { backend: 'tapyard', wire: 'macvtap' },
  { backend: 'tapyard-vhost', wire: 'macvtap' },
  { backend: 'qemu-tap', wire: 'bridge' },
  { backend: 'tapyard', wire: 'bridge' },
  { backend: 'tapyard-vhost', wire: 'bridge' },
];

/**
 * Every VM path --paths may name: the default ones, and QEMU's own tap backend with the NIC's
 * `vectors=0` (INTx), to tell what the vhost-user NIC's interrupts cost from what the back-end does.
 */
export const VM_PATHS_ALL: readonly VmPath[] = [
  ...VM_PATHS,
  { backend: 'qemu-tap-intx', wire: 'macvtap' },
  { backend: 'qemu-tap-intx', wire: 'bridge' },
];

export const pathName = (p: VmPath): string => `${p.backend}/${p.wire}`;

/** A path has drained when two reads of the guest's count 0.2 s apart agree (steady.ts). */
const DRAIN = { stepMs: 200, maxMs: 10_000 };

/** The foreign flood's rate: one the namespace rows also use (the quick run's only one). */
export const VM_FOREIGN_RATE = 100_000;

export interface VmSetup {
  accel: Accel;
  tcpSeconds: number;
  rateSeconds: number;
  /** Pings per round. */
  pings: number;
  foreignSeconds: number;
  /** A locally administered MAC no interface has. */
  foreignMac: string;
  generatorCpu: number;
}

/** One VM path booted and ready for rounds: its lab, QEMU, and tapyard when it is the backend. */
export interface OpenVm {
  path: VmPath;
  lab: Lab;
  vm: Vm;
  tapyard: Tapyard | null;
  fd: number | null;
}

/** Builds the path's lab and boots the guest on it; everything made is undone if the boot fails. */
export async function openVmPath(path: VmPath, setup: VmSetup): Promise<OpenVm> {
  const lab = await labUp(path.wire);
  let tapyard: Tapyard | null = null;
  let fd: number | null = null;
  try {
    const guest = {
      accel: setup.accel,
      mac: need(lab, 'GUEST_MAC'),
      ip: `${need(lab, 'GUEST_IP')}/24`,
      intx: path.backend === 'qemu-tap-intx',
    };
    let vm: Vm;
    if (path.backend === 'tapyard') {
      const sock = join(tmpdir(), `ty-${lab.id}-vm.sock`);
      leftovers.add(sock);
      tapyard = startTapyard(lab, `vm=qemu:${sock}`, false);
      await tapyard.forwarding;
      vm = await Vm.boot({ ...guest, netdev: `stream,id=n0,server=off,addr.type=unix,addr.path=${sock}` });
    } else if (path.backend === 'tapyard-vhost') {
      // QEMU shares the guest's memory with tapyard and connects to its socket (vectors=0: vm.ts).
      const sock = join(tmpdir(), `ty-${lab.id}-vhost.sock`);
      leftovers.add(sock);
      // QEMU hands a vhost-user back-end no receive filter (its control queue stays in QEMU), so
      // tapyard plays virtio-net's own for the guest's MAC, as QEMU does for its tap backend.
      tapyard = startTapyard(lab, `vm=vhost-user:${sock},rx-filter,mac=${guest.mac}`, true);
      await tapyard.forwarding;
      vm = await Vm.boot({ ...guest, vhostUser: sock });
    } else if (path.wire === 'macvtap') {
      fd = openMacvtap(lab);
      vm = await Vm.boot({ ...guest, netdev: 'tap,id=n0,fd=3', fds: [fd] });
    } else {
      const tap = need(lab, 'WIRE_IF');
      vm = await Vm.boot({ ...guest, netdev: `tap,id=n0,ifname=${tap},script=no,downscript=no`, netns: ns(lab, 'hv') });
    }
    leftovers.add(vm.dir);
    // ARP and the bridge's FDB out of the way before the first round.
    await run(inExt(lab, ['ping', '-q', '-c', '1', '-W', '5', need(lab, 'GUEST_IP')]), 30_000);
    return { path, lab, vm, tapyard, fd };
  } catch (err) {
    if (tapyard !== null && tapyard.child.exitCode === null) tapyard.child.kill('SIGKILL');
    if (fd !== null) closeSync(fd);
    await labDown(lab);
    throw err;
  }
}

/** One round on an open path: TCP both ways, 64-byte frames flat out, and ICMP round trips. */
export async function measureVmRound(open: OpenVm, setup: VmSetup, round: number): Promise<VmRound> {
  const tcpExtToGuestBitsPerSecond = await iperf(open.lab, setup.tcpSeconds, false);
  const tcpGuestToExtBitsPerSecond = await iperf(open.lab, setup.tcpSeconds, true);
  const rate64 = await flood64(open.lab, open.vm, setup);
  // The round trips are an idle path's: they start once what the flood left in the path has reached the guest.
  await steadyCount(async () => (await open.vm.guestRx()).rxPackets, DRAIN);
  const rttNs = await pingGuest(open.lab, setup.pings);
  return { round, tcpExtToGuestBitsPerSecond, tcpGuestToExtBitsPerSecond, rate64, rttNs };
}

/** After the rounds: the foreign flood with the VM idle, then QEMU and tapyard stopped (the ledger read). */
export async function finishVmPath(open: OpenVm, setup: VmSetup, rounds: VmRound[]): Promise<VmRow> {
  const foreign = await foreignFlood(open.lab, open.vm, open.tapyard, setup);
  await open.vm.stop();
  let ledgerBalanced: boolean | null = null;
  if (open.tapyard !== null) {
    open.tapyard.child.kill('SIGINT');
    ledgerBalanced = (JSON.parse(await open.tapyard.report) as { balanced: boolean }).balanced;
  }
  const rtt = rounds.flatMap((r) => r.rttNs);
  const sum = (pick: (r: VmRound) => number) => rounds.reduce((a, r) => a + pick(r), 0);
  const durationS = sum((r) => r.rate64.durationS);
  const deliveredFrames = sum((r) => r.rate64.deliveredFrames);
  return {
    path: pathName(open.path),
    ...open.path,
    accel: setup.accel,
    rounds,
    tcpExtToGuestBitsPerSecond: median(rounds.map((r) => r.tcpExtToGuestBitsPerSecond)),
    tcpGuestToExtBitsPerSecond: median(rounds.map((r) => r.tcpGuestToExtBitsPerSecond)),
    rate64: {
      durationS,
      sentFrames: sum((r) => r.rate64.sentFrames),
      deliveredFrames,
      deliveredPerSecond: durationS > 0 ? deliveredFrames / durationS : 0,
    },
    rtt: {
      sent: setup.pings * rounds.length,
      received: rtt.length,
      p50Ns: percentile(rtt, 50),
      p99Ns: percentile(rtt, 99),
      maxNs: Math.max(...rtt),
    },
    foreign,
    ledgerBalanced,
  };
}

/** Undoes whatever of an open path is still up: QEMU, tapyard, the macvtap fd, the lab. */
export async function closeVmPath(open: OpenVm): Promise<void> {
  await open.vm.stop();
  if (open.tapyard !== null && open.tapyard.child.exitCode === null) open.tapyard.child.kill('SIGKILL');
  if (open.fd !== null) closeSync(open.fd);
  await labDown(open.lab);
}

interface Tapyard {
  child: ChildProcess;
  forwarding: Promise<void>;
  /** The final JSON line, once it exited. */
  report: Promise<string>;
}

const tapyards = new Set<ChildProcess>();
/** Files a signal could leave: a SIGKILLed tapyard's socket, a VM's directory (vm.ts kills QEMU). */
const leftovers = new Set<string>();
// A benchmark stopped by a signal leaves no tapyard and no file behind.
process.on('exit', () => {
  for (const child of tapyards) if (child.exitCode === null) child.kill('SIGKILL');
  for (const path of leftovers) rmSync(path, { recursive: true, force: true });
});

/** `tapyard forward` in the hypervisor namespace: the wire and the VM's port (`vmPort`, a --port spec). */
function startTapyard(lab: Lab, vmPort: string, offload: boolean): Tapyard {
  const cli = join(packageRoot(), 'dist', 'src', 'cli', 'main.js');
  const wire = `wire=${need(lab, 'WIRE_KIND')}:${need(lab, 'WIRE_IF')}`;
  const args = ['netns', 'exec', ns(lab, 'hv'), 'node', cli, 'forward', '--json', '--port', wire];
  const flags = offload ? ['--offload'] : [];
  const child = spawn('ip', [...args, '--port', vmPort, ...flags], { stdio: ['ignore', 'pipe', 'pipe'] });
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
  forwarding.catch(() => undefined);
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

const inExt = (lab: Lab, argv: string[]) => ['ip', 'netns', 'exec', ns(lab, 'ext'), ...argv];

/** ICMP echo from the external namespace, one every 20 ms: every round trip the guest answered, in ns. */
async function pingGuest(lab: Lab, count: number): Promise<number[]> {
  const ip = need(lab, 'GUEST_IP');
  const out = await run(inExt(lab, ['ping', '-c', String(count), '-i', '0.02', '-W', '2', ip]), 120_000);
  const ns = [...out.matchAll(/time=([\d.]+) ms/g)].map((m) => Number(m[1]) * 1e6);
  if (ns.length === 0) throw new TapyardError('BENCH_RUN', `the guest at ${ip} answered no ping`);
  return ns;
}

/** iperf3 from the external namespace to the guest's `iperf3 -s` (-R: the guest sends). */
async function iperf(lab: Lab, seconds: number, reverse: boolean): Promise<number> {
  const argv = ['iperf3', '-c', need(lab, 'GUEST_IP'), '-p', String(GuestService.IPERF3), '-t', String(seconds), '-J'];
  let error = '';
  // The guest's one iperf3 server may still be closing the last test ("busy"): it is asked again.
  // "No route to host" is the external namespace's neighbour entry for the guest failed (now and then,
  // on QEMU's own backend; why its ARP went unanswered is not known): a ping resolves it again first.
  for (let attempt = 0; attempt < 4; attempt++) {
    const out = await run(inExt(lab, [...argv, ...(reverse ? ['-R'] : [])]), (seconds + 30) * 1000).catch(
      (err: Error) => JSON.stringify({ error: err.message }),
    );
    const result = JSON.parse(out) as { error?: string; end?: { sum_received?: { bits_per_second: number } } };
    const bps = result.end?.sum_received?.bits_per_second;
    if (bps !== undefined && result.error === undefined) return bps;
    error = result.error ?? 'no result';
    await new Promise((r) => setTimeout(r, 1000));
    if (/No route to host/.test(error))
      await run(inExt(lab, ['ping', '-q', '-c', '3', '-W', '2', need(lab, 'GUEST_IP')]), 30_000).catch(() => '');
  }
  throw new TapyardError('BENCH_RUN', `iperf3${reverse ? ' -R' : ''} to the guest failed: ${error}`);
}

function tygen(lab: Lab, setup: VmSetup, dst: string, seconds: number, rate: number | null): string[] {
  const pace = rate === null ? [] : ['--rate', String(rate), '--burst', '32'];
  const gen = [baselineBin('tygen'), '--if', need(lab, 'EXT_IF'), '--dst', dst, '--size', '60', ...pace];
  return inExt(lab, ['taskset', '-c', String(setup.generatorCpu), ...gen, '--seconds', String(seconds), '--json']);
}

/** 64-byte frames (60 without the FCS) flat out to the guest's MAC; the guest's eth0 counts them. */
async function flood64(lab: Lab, vm: Vm, setup: VmSetup): Promise<VmRound['rate64']> {
  const before = await vm.guestRx();
  const g = lastJson(await run(tygen(lab, setup, need(lab, 'GUEST_MAC'), setup.rateSeconds, null), 120_000), 'tygen');
  // What QEMU still holds reaches the guest first. Not all a deep buffer holds: the socket netdev's
  // stream carries ~0.7 s of these frames, and counting all of them would credit it with a burst's
  // worth no sustained rate has (steady.ts drains it before the round trips instead).
  await new Promise((r) => setTimeout(r, 500));
  const after = await vm.guestRx();
  const durationS = Number(g.seconds);
  const deliveredFrames = after.rxPackets - before.rxPackets;
  return { durationS, sentFrames: Number(g.sent), deliveredFrames, deliveredPerSecond: deliveredFrames / durationS };
}

/**
 * The VM idle, frames to a MAC nobody owns at VM_FOREIGN_RATE: the CPU QEMU and tapyard spend
 * beyond their idle, and how many frames the wire device handed toward its reader. A bridge
 * floods them to the tap; a macvlan finds no owner and never queues them on the macvtap.
 */
async function foreignFlood(lab: Lab, vm: Vm, tapyard: Tapyard | null, setup: VmSetup): Promise<VmRow['foreign']> {
  const hv = ns(lab, 'hv');
  const wire = need(lab, 'WIRE_IF');
  const reached = async () => {
    const s = await linkStats(hv, wire);
    return lab.kind === 'bridge' ? s.txPackets : s.rxPackets;
  };
  const cpu = () => ({
    at: performance.now(),
    qemu: processCpuNs(vm.pid!),
    tapyard: tapyard === null ? 0 : processCpuNs(tapyard.child.pid!),
  });
  const idle0 = cpu();
  await new Promise((r) => setTimeout(r, setup.foreignSeconds * 1000));
  const idle1 = cpu();
  // The guest's count starts with the flood: what it still took in while idle (the tail of the
  // measurements before) is not the flood's.
  const rx0 = await vm.guestRx();
  const reached0 = await reached();
  const gen = await run(tygen(lab, setup, setup.foreignMac, setup.foreignSeconds, VM_FOREIGN_RATE), 120_000);
  const flood1 = cpu();
  const reached1 = await reached();
  const rx1 = await vm.guestRx();
  const g = lastJson(gen, 'tygen');
  const cores = (a: ReturnType<typeof cpu>, b: ReturnType<typeof cpu>, who: 'qemu' | 'tapyard') =>
    (b[who] - a[who]) / 1e6 / (b.at - a.at);
  const extra = (who: 'qemu' | 'tapyard') => cores(idle1, flood1, who) - cores(idle0, idle1, who);
  return {
    offeredPerSecond: VM_FOREIGN_RATE,
    durationS: Number(g.seconds),
    offeredFrames: Number(g.sent),
    reachedReaderFrames: reached1 - reached0,
    qemuExtraCores: extra('qemu'),
    tapyardExtraCores: tapyard === null ? null : extra('tapyard'),
    guestRxFrames: rx1.rxPackets - rx0.rxPackets,
  };
}
