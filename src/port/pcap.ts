// Any interface through libpcap (the `cap` binding): capture with a BPF filter, inject with
// pcap_sendpacket. It is the way to reach devices that are neither taps nor macvtaps (a veth,
// a bridge, a NIC), at a price: libpcap puts the device in promiscuous mode, frames arrive one
// callback each, and a capture cannot be paused, so frames read while the loop holds this port
// back are counted as dropped rather than left in the kernel.

import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { constants } from 'node:os';
import { TapyardError } from '../error.js';
import { parseMac } from '../mac.js';
import { Counters } from './counters.js';
import { DropReason } from './drop.js';
import { DEFAULT_BUDGET, HEADROOM, maxFrameForMtu, type Port, type PortListener, type RxBatch } from './port.js';
import { type PortSpec, takeString } from './spec.js';

interface CapHandle {
  open(device: string, filter: string, bufSize: number, buffer: Buffer): string;
  on(event: 'packet', listener: (nbytes: number, truncated: boolean) => void): void;
  send(buffer: Buffer, size: number): void;
  close(): void;
}

const SNAPLEN = 65535;
const KERNEL_BUFFER = 8 * 1024 * 1024;
const WATCH_MS = 200;

export function openPcap(spec: PortSpec, budget = DEFAULT_BUDGET): PcapPort {
  const bpf = takeString(spec, 'bpf');
  const dir = takeString(spec, 'dir') ?? 'in';
  if (dir !== 'in' && dir !== 'both') throw new TapyardError('EUSAGE', `port ${spec.name}: dir=${dir} must be in or both`);
  const sys = `/sys/class/net/${spec.ifname}`;
  if (!existsSync(sys)) throw new TapyardError('ENODEV', `port ${spec.name}: there is no interface ${spec.ifname} in this network namespace`);
  // Without "inbound" libpcap also captures what the host sends on the device, and a forwarder
  // would echo the host's own frames back at it.
  const filter = [dir === 'in' ? 'inbound' : '', bpf ?? ''].filter((f) => f !== '').map((f) => `(${f})`).join(' and ');
  const { Cap } = createRequire(import.meta.url)('cap') as { Cap: new () => CapHandle };
  const cap = new Cap();
  const capture = Buffer.alloc(SNAPLEN);
  try {
    cap.open(spec.ifname, filter, KERNEL_BUFFER, capture);
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    if (/permission|not permitted/i.test(why)) throw new TapyardError('EPERM', `port ${spec.name}: capturing on ${spec.ifname} needs root (CAP_NET_RAW)`);
    throw new TapyardError('EPCAP', `port ${spec.name}: libpcap cannot open ${spec.ifname}: ${why}`);
  }
  const mtu = Number(readFileSync(`${sys}/mtu`, 'utf8'));
  const mac = parseMac(readFileSync(`${sys}/address`, 'utf8'));
  return new PcapPort(spec.name, spec.ifname, cap, capture, mac, maxFrameForMtu(mtu), budget);
}

export class PcapPort implements Port {
  readonly kind = 'pcap' as const;
  readonly device: string;
  readonly counters = new Counters();
  readonly hdrLen = 0;
  readonly offload = false;

  private readonly batch: RxBatch;
  private readonly scratch = Buffer.alloc(SNAPLEN + 1);
  private listener: PortListener | null = null;
  private pos = 0;
  private scheduled = false;
  private reading = true;
  private closed = false;
  private watch: NodeJS.Timeout | null = null;

  constructor(
    readonly name: string,
    private readonly ifname: string,
    private readonly cap: CapHandle,
    private readonly capture: Buffer,
    readonly mac: number | null,
    readonly maxFrame: number,
    readonly budget: number,
  ) {
    this.device = `pcap ${ifname}`;
    this.batch = { buf: new Uint8Array(budget * (HEADROOM + SNAPLEN + 64)), offsets: new Uint32Array(budget), lengths: new Int32Array(budget), count: 0 };
  }

  start(listener: PortListener): void {
    this.listener = listener;
    this.cap.on('packet', (nbytes, truncated) => this.onPacket(nbytes, truncated));
    this.watch = setInterval(() => {
      if (!existsSync(`/sys/class/net/${this.ifname}`)) this.fail(`the interface ${this.ifname} was deleted`);
    }, WATCH_MS);
    this.watch.unref();
  }

  setReading(on: boolean): void {
    this.reading = on;
  }

  /** pcap_sendpacket has no readiness to wait for: try again on the next turn of the loop. */
  setWantWritable(on: boolean): void {
    if (on) setImmediate(() => !this.closed && this.listener?.onWritable(this));
  }

  send(buf: Uint8Array, offsets: Uint32Array, lengths: Uint32Array, count: number, status: Int32Array): number {
    for (let i = 0; i < count; i++) {
      const len = lengths[i]!;
      this.scratch.set(buf.subarray(offsets[i]!, offsets[i]! + len));
      try {
        this.cap.send(this.scratch, len);
        status[i] = 0;
      } catch (err) {
        const why = err instanceof Error ? err.message : '';
        if (/temporarily unavailable|no buffer space/i.test(why)) return i;
        status[i] = /too long/i.test(why) ? constants.errno.EMSGSIZE : /network is down/i.test(why) ? constants.errno.ENETDOWN : constants.errno.EIO;
      }
    }
    return count;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.watch !== null) clearInterval(this.watch);
    this.cap.close();
  }

  private onPacket(nbytes: number, truncated: boolean): void {
    if (this.closed) return;
    if (!this.reading) {
      this.counters.rx(nbytes);
      this.counters.drop(DropReason.RX_WHILE_PAUSED);
      return;
    }
    const { buf, offsets, lengths } = this.batch;
    const n = this.batch.count;
    offsets[n] = this.pos + HEADROOM;
    if (truncated) {
      lengths[n] = -1;
    } else {
      buf.set(this.capture.subarray(0, nbytes), this.pos + HEADROOM);
      lengths[n] = nbytes;
      this.pos += (HEADROOM + nbytes + 63) & ~63;
    }
    this.batch.count = n + 1;
    // libpcap hands frames over one by one; gather those of one poll into a batch.
    if (this.batch.count === offsets.length || this.pos + HEADROOM + SNAPLEN > buf.length) this.deliver();
    else if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.deliver());
    }
  }

  private deliver(): void {
    this.scheduled = false;
    if (this.batch.count === 0 || this.closed) return;
    this.listener!.onBatch(this, this.batch);
    this.batch.count = 0;
    this.pos = 0;
  }

  private fail(sentence: string): void {
    if (this.closed) return;
    this.close();
    this.listener?.onFatal(this, new TapyardError('EDEVGONE', `port ${this.name}: ${sentence}`));
  }
}
