// Any interface through libpcap (the `cap` binding): capture with a BPF filter, inject with
// pcap_sendpacket. It reaches devices that are neither taps nor macvtaps (a veth, a bridge, a
// NIC), at a price: libpcap puts the device in promiscuous mode, and every frame crosses a pipe
// to and from the capture process (pcap-worker.ts, which exists so that cap's abort on a vanished
// interface cannot take the forwarder with it).

import { type ChildProcessByStdio, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { TapyardError } from '../error.js';
import { parseMac } from '../mac.js';
import { packageRoot } from '../package-root.js';
import { Counters } from './counters.js';
import type { KernelDrops } from './kernel-drops.js';
import { PcapMessage, SNAPLEN } from './pcap-protocol.js';
import { DEFAULT_BUDGET, HEADROOM, maxFrameForMtu, type Port, type PortListener, type RxBatch } from './port.js';

const IFF_UP = 0x1;

export interface PcapConfig {
  readonly kind: 'pcap';
  readonly name: string;
  readonly ifname: string;
  /** A capture filter (BPF expression), and-ed with the direction. */
  readonly bpf: string | undefined;
  /** in: only what arrives on the interface; both: also what it sends. */
  readonly dir: 'in' | 'both';
}

export function openPcap(config: PcapConfig, budget = DEFAULT_BUDGET): PcapPort {
  const { bpf, dir } = config;
  const fail = (code: string, sentence: string) => new TapyardError(code, `port ${config.name}: ${sentence}`);
  const sys = `/sys/class/net/${config.ifname}`;
  if (!existsSync(sys)) throw fail('ENODEV', `there is no interface ${config.ifname} in this network namespace`);
  if ((Number(readFileSync(`${sys}/flags`, 'utf8')) & IFF_UP) === 0)
    throw fail('EDOWN', `${config.ifname} is down (libpcap captures only on an interface that is up)`);
  // Without "inbound" libpcap also captures what the host sends on the device, and a forwarder
  // would echo the host's own frames back at it.
  const filter = [dir === 'in' ? 'inbound' : '', bpf ?? '']
    .filter((f) => f !== '')
    .map((f) => `(${f})`)
    .join(' and ');
  const mtu = Number(readFileSync(`${sys}/mtu`, 'utf8'));
  const mac = parseMac(readFileSync(`${sys}/address`, 'utf8'));
  const port = new PcapPort({
    name: config.name,
    ifname: config.ifname,
    filter,
    mac,
    maxFrame: maxFrameForMtu(mtu),
    budget,
  });
  // The capture buffer's own drops are not to be had through cap (no pcap_stats); but without a
  // filter the capture should see every frame the interface received, so the difference is what
  // was lost before tapyard's read. With bpf= some frames are left out on purpose: unknown then.
  if (bpf === undefined && dir === 'in') port.kernelDrops = capturedShortfall(config.ifname, port);
  return port;
}

function capturedShortfall(ifname: string, port: PcapPort): () => KernelDrops {
  const received = () => Number(readFileSync(`/sys/class/net/${ifname}/statistics/rx_packets`, 'utf8'));
  const base = received();
  let last = base;
  return () => {
    try {
      last = received();
    } catch {
      // the interface is gone: its last count stands
    }
    return { beforeRead: Math.max(0, last - base - port.counters.rxFrames), afterWrite: 0 };
  };
}

/** The compiled worker (also when this file runs as TypeScript source, under the test runner). */
function workerPath(): string {
  return join(packageRoot(), 'dist', 'src', 'port', 'pcap-worker.js');
}

/** What a PcapPort is opened with, once openPcap has checked the interface. */
export interface PcapPortOptions {
  readonly name: string;
  readonly ifname: string;
  /** The libpcap filter expression; '' captures everything. */
  readonly filter: string;
  readonly mac: number | null;
  readonly maxFrame: number;
  readonly budget: number;
}

export class PcapPort implements Port {
  readonly kind = 'pcap' as const;
  readonly device: string;
  readonly counters = new Counters();
  readonly hdrLen = 0;
  readonly offload = false;
  kernelDrops: (() => KernelDrops) | undefined;

  private readonly batch: RxBatch;
  private child: ChildProcessByStdio<Writable, Readable, Readable> | null = null;
  private listener: PortListener | null = null;
  private pending: Buffer = Buffer.alloc(0);
  private pos = 0;
  private isReady = false;
  private markReady: () => void = () => {};
  readonly ready = new Promise<void>((resolve) => {
    this.markReady = resolve;
  });
  private closed = false;
  private errors = '';

  readonly name: string;
  readonly mac: number | null;
  readonly maxFrame: number;
  readonly budget: number;
  private readonly ifname: string;
  private readonly filter: string;

  constructor({ name, ifname, filter, mac, maxFrame, budget }: PcapPortOptions) {
    this.name = name;
    this.ifname = ifname;
    this.filter = filter;
    this.mac = mac;
    this.maxFrame = maxFrame;
    this.budget = budget;
    this.device = `pcap ${ifname}`;
    this.batch = {
      buf: new Uint8Array(HEADROOM + SNAPLEN + 64 + budget * 2048),
      offsets: new Uint32Array(budget),
      lengths: new Int32Array(budget),
      count: 0,
    };
  }

  start(listener: PortListener): void {
    this.listener = listener;
    // The worker runs as root too: it gets the launcher's permission model (bin/tapyard), under
    // which no SIGUSR1 opens Node's debugger; nothing else of this process's Node options.
    const guard = process.execArgv.filter((a) => /^--(experimental-permission|allow-|disable-warning)/.test(a));
    const child = spawn(process.execPath, [...guard, workerPath(), this.ifname, this.filter], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    this.child = child;
    child.stdout.on('data', (chunk: Buffer) => this.onData(chunk));
    child.stderr.on('data', (chunk: Buffer) => {
      this.errors += chunk.toString();
    });
    child.stdin.on('error', () => {}); // a dead worker is reported by 'exit'
    child.on('exit', (code, signal) => this.onExit(code, signal));
  }

  setReading(on: boolean): void {
    if (on) this.child?.stdout.resume();
    else this.child?.stdout.pause();
  }

  setWantWritable(on: boolean): void {
    if (on) this.child?.stdin.once('drain', () => !this.closed && this.listener?.onWritable(this));
  }

  /** Frames go to the worker's stdin; a full pipe is this port's EAGAIN. */
  send(buf: Uint8Array, offsets: Uint32Array, lengths: Uint32Array, count: number, status: Int32Array): number {
    const stdin = this.child?.stdin;
    if (stdin === undefined || this.closed) return count;
    for (let i = 0; i < count; i++) {
      const message = Buffer.allocUnsafe(4 + lengths[i]!);
      message.writeUInt32LE(lengths[i]!, 0);
      message.set(buf.subarray(offsets[i]!, offsets[i]! + lengths[i]!), 4);
      status[i] = 0;
      if (!stdin.write(message)) return i + 1;
    }
    return count;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.child?.stdin.end();
    this.child?.kill();
  }

  /** The worker injects what is in its pipe, then exits when its stdin ends. */
  closeAfterSent(): Promise<void> {
    const child = this.child;
    if (child === null || this.closed || child.exitCode !== null || child.signalCode !== null) {
      this.close();
      return Promise.resolve();
    }
    this.closed = true;
    return new Promise<void>((resolve) => {
      // A worker stuck in a blocking write to a full capture pipe cannot read its stdin: end it.
      const stuck = setTimeout(() => child.kill(), 5000);
      child.once('exit', () => {
        clearTimeout(stuck);
        resolve();
      });
      child.stdout.resume();
      child.stdin.end();
    });
  }

  private onData(chunk: Buffer): void {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    let at = 0;
    while (this.pending.length - at >= 4) {
      const word = this.pending.readUInt32LE(at);
      if (word === PcapMessage.READY) {
        this.isReady = true;
        this.markReady();
        at += 4;
        continue;
      }
      if (word === PcapMessage.TRUNCATED) {
        this.add(at, -1);
        at += 4;
        continue;
      }
      if (this.pending.length - at - 4 < word) break;
      this.add(at + 4, word);
      at += 4 + word;
    }
    this.pending = this.pending.subarray(at);
    this.deliver();
  }

  /** Copy one frame into the ring; a full ring is handed over at once. */
  private add(from: number, length: number): void {
    const { buf, offsets, lengths } = this.batch;
    if (this.batch.count === offsets.length || this.pos + HEADROOM + Math.max(length, 0) > buf.length) this.deliver();
    const n = this.batch.count++;
    offsets[n] = this.pos + HEADROOM;
    lengths[n] = length;
    if (length > 0) {
      buf.set(this.pending.subarray(from, from + length), this.pos + HEADROOM);
      this.pos += (HEADROOM + length + 63) & ~63;
    }
  }

  private deliver(): void {
    if (this.batch.count > 0 && !this.closed) this.listener!.onBatch(this, this.batch);
    this.batch.count = 0;
    this.pos = 0;
  }

  private onExit(code: number | null, signal: NodeJS.Signals | null): void {
    if (this.closed) return;
    this.closed = true;
    const why = this.errors
      .trim()
      .split('\n')
      .filter((l) => !/^Warning:/.test(l))[0];
    let sentence: string;
    if (!existsSync(`/sys/class/net/${this.ifname}`)) sentence = `the interface ${this.ifname} was deleted`;
    else if ((Number(readFileSync(`/sys/class/net/${this.ifname}/flags`, 'utf8')) & IFF_UP) === 0)
      sentence = `the interface ${this.ifname} went down`;
    else if (!this.isReady)
      sentence = `libpcap cannot capture on ${this.ifname}: ${why ?? `the capture process exited (${code ?? signal})`}`;
    else sentence = `the capture on ${this.ifname} ended: ${why ?? `the capture process exited (${code ?? signal})`}`;
    this.listener?.onFatal(this, new TapyardError('EDEVGONE', `port ${this.name}: ${sentence}`));
  }
}
