// One QEMU VM running the tapyard guest: booted with the netdev the caller gives, its serial
// console in a log file, waited for until the guest says READY, and stopped (poweroff typed on
// the console, then SIGKILL) with its directory removed, also when the boot fails.

import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TapyardError } from '../error.js';
import { type GuestImage, GuestLine, guestImage } from './guest.js';

/** tcg: plain emulation. kvm: this host's KVM, which may hang a guest for good (see docs/vm.md). */
export type Accel = 'tcg' | 'kvm';

export interface VmOptions {
  accel?: Accel;
  /**
   * The `-netdev` value, e.g. `stream,id=n0,server=off,addr.type=unix,addr.path=/run/x.sock`; id
   * must be n0. Not with vhostUser, which makes its own.
   */
  netdev?: string;
  /** The guest NIC's MAC (a VM behind a macvtap must carry the macvtap's). */
  mac: string;
  /** The guest's eth0 address, e.g. 10.77.0.2/24. */
  ip: string;
  /** Run QEMU in this network namespace (where its tap lives). */
  netns?: string;
  /** Open fds handed to QEMU as 3, 4, ... (`-netdev tap,fd=3`, as libvirt passes a macvtap). */
  fds?: number[];
  /**
   * A vhost-user back-end's socket: the netdev is then `vhost-user` on it, the guest's memory a
   * shared memfd (the back-end maps it), and the NIC has no MSI-X (`vectors=0`): QEMU 7.2 under
   * TCG crashes in msix_set_vector_notifiers when a vhost-user device starts with MSI-X.
   */
  vhostUser?: string;
  /** QEMU listens on that socket (chardev server=on) and waits for the back-end to connect. */
  vhostUserServer?: boolean;
  /**
   * The NIC without MSI-X (`vectors=0`, INTx interrupts) on any netdev, as a vhost-user NIC always
   * is: to measure what that costs QEMU's own backends.
   */
  intx?: boolean;
  memoryMiB?: number;
  /** Let the machine reboot (reboot()); otherwise QEMU exits when the guest reboots or panics. */
  rebootable?: boolean;
  /** How long the guest may take to say READY. */
  bootTimeoutMs?: number;
  image?: GuestImage;
}

const live = new Set<Vm>();
// A test runner or CLI that exits leaves no QEMU behind.
process.on('exit', () => {
  for (const vm of live) vm.kill();
});

export class Vm {
  readonly dir: string;
  readonly consoleLog: string;
  readonly accel: Accel;
  private readonly child: ChildProcess;
  private exited: Promise<void>;
  private exitCode: number | null = null;
  private stderr = '';

  private constructor(options: VmOptions, image: GuestImage) {
    this.accel = options.accel ?? 'tcg';
    this.dir = mkdtempSync(join(tmpdir(), 'ty-vm-'));
    this.consoleLog = join(this.dir, 'console.log');
    const memory = options.memoryMiB ?? 256;
    const nic = `virtio-net-pci,netdev=n0,mac=${options.mac}`;
    const net =
      options.vhostUser === undefined
        ? ['-netdev', options.netdev ?? '', '-device', options.intx ? `${nic},vectors=0` : nic]
        : [
            ...['-object', `memory-backend-memfd,id=mem,size=${memory}M,share=on`, '-numa', 'node,memdev=mem'],
            ...['-chardev', `socket,id=vhu0,path=${options.vhostUser}${options.vhostUserServer ? ',server=on' : ''}`],
            ...['-netdev', 'vhost-user,id=n0,chardev=vhu0', '-device', `${nic},vectors=0`],
          ];
    const args = [
      ...['-accel', this.accel, '-m', String(memory), '-smp', '1'],
      ...['-nodefaults', '-display', 'none', ...(options.rebootable ? [] : ['-no-reboot']), '-no-user-config'],
      ...['-kernel', image.kernel, '-initrd', image.initrd],
      ...['-append', `console=ttyS0 quiet panic=-1 ty.ip=${options.ip}`],
      '-chardev',
      `socket,id=ser0,path=${join(this.dir, 'console.sock')},server=on,wait=off,logfile=${this.consoleLog}`,
      ...['-serial', 'chardev:ser0'],
      ...['-monitor', `unix:${join(this.dir, 'monitor.sock')},server=on,wait=off`],
      ...net,
    ];
    const [cmd, argv] = options.netns
      ? ['ip', ['netns', 'exec', options.netns, 'qemu-system-x86_64', ...args]]
      : ['qemu-system-x86_64', args];
    const fds = options.fds ?? [];
    this.child = spawn(cmd, argv, { stdio: ['ignore', 'ignore', 'pipe', ...fds] });
    this.child.stderr!.setEncoding('utf8');
    this.child.stderr!.on('data', (text: string) => {
      this.stderr = (this.stderr + text).slice(-2000);
    });
    this.exited = new Promise((resolve) => {
      this.child.on('exit', (code, signal) => {
        this.exitCode = code ?? (signal ? 128 : 1);
        live.delete(this);
        // Nothing of a VM outlives it; its last words are in stderr for the sentence.
        rmSync(this.dir, { recursive: true, force: true });
        resolve();
      });
      this.child.on('error', () => resolve());
    });
    live.add(this);
  }

  /** Boot and wait for READY; on failure nothing is left behind and the sentence says why. */
  static async boot(options: VmOptions): Promise<Vm> {
    const vm = new Vm(options, options.image ?? guestImage());
    try {
      await vm.waitFor(GuestLine.READY, options.bootTimeoutMs ?? 60_000);
      return vm;
    } catch (err) {
      await vm.stop();
      throw err;
    }
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get running(): boolean {
    return this.exitCode === null && this.child.exitCode === null;
  }

  /** The serial console so far. */
  console(): string {
    try {
      return readFileSync(this.consoleLog, 'utf8');
    } catch {
      return '';
    }
  }

  /** Resolve with the first console line after `from` characters that starts with `prefix`. */
  async waitFor(prefix: string, timeoutMs: number, from = 0): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const text = this.console().slice(from);
      const line = text.split(/\r?\n/).find((l) => l.startsWith(prefix));
      if (line !== undefined) return line;
      const failed = text.split(/\r?\n/).find((l) => l.startsWith(GuestLine.FAIL));
      if (failed !== undefined) throw new TapyardError('EVMBOOT', `the VM guest failed: ${failed}`);
      if (!this.running) {
        const why = this.stderr.trim().split('\n').pop() ?? '';
        throw new TapyardError('EVMBOOT', `QEMU exited (${this.exitCode})${why ? `: ${why}` : ''}`);
      }
      if (Date.now() > deadline) {
        throw new TapyardError('EVMBOOT', `the VM (${this.accel}) did not print "${prefix}" within ${timeoutMs} ms`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Type `poweroff` on the console, give the guest a few seconds, then SIGKILL; remove the files. */
  async stop(graceMs = 5000): Promise<void> {
    if (this.running) {
      await this.type('poweroff\n').catch(() => undefined);
      const timer = new Promise<void>((r) => setTimeout(r, graceMs).unref());
      await Promise.race([this.exited, timer]);
    }
    this.kill();
    await this.exited;
    rmSync(this.dir, { recursive: true, force: true });
  }

  /**
   * Last resort, synchronous: for process exit. The directory goes at once, also while QEMU is
   * still dying: its open files outlive their names, and nothing of ours is left in /tmp.
   */
  kill(): void {
    if (this.running) this.child.kill('SIGKILL');
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** eth0's receive counters inside the guest, asked for on the serial console. */
  async guestRx(timeoutMs = 30_000): Promise<{ rxPackets: number; rxDropped: number }> {
    const from = this.console().length;
    await this.type('stats\n');
    const line = await this.waitFor(GuestLine.STATS, timeoutMs, from);
    const field = (name: string) => Number(new RegExp(`${name}=(\\d+)`).exec(line)?.[1] ?? Number.NaN);
    return { rxPackets: field('rx_packets'), rxDropped: field('rx_dropped') };
  }

  /** Ping `address` from inside the guest (three echo requests); the replies it got. */
  async pingFromGuest(address: string, timeoutMs = 30_000): Promise<number> {
    const from = this.console().length;
    await this.type(`ping ${address}\n`);
    const line = await this.waitFor(`${GuestLine.PING} ${address} `, timeoutMs, from);
    return Number(/received=(\d+)/.exec(line)?.[1] ?? 0);
  }

  /**
   * Reset the machine (QEMU's system_reset: the guest reboots, its NIC's rings start again) and
   * wait for READY again. Needs `rebootable` (with -no-reboot QEMU would exit instead).
   */
  async reboot(timeoutMs = 60_000): Promise<void> {
    const from = this.console().length;
    await this.type('system_reset\n', 'monitor.sock');
    await this.waitFor(GuestLine.READY, timeoutMs, from);
  }

  /** Write to the guest's serial console (or QEMU's monitor). */
  private type(text: string, socketName = 'console.sock'): Promise<void> {
    return new Promise((resolve, reject) => {
      const socket: Socket = connect(join(this.dir, socketName));
      socket.on('error', reject);
      socket.on('connect', () => socket.end(text, () => resolve()));
    });
  }
}
