// What the qemu ports (qemu-dgram.ts, qemu-stream-port.ts) share whatever their netdev: a VM's
// virtio-net NIC without a vnet header, the counters of its frames and of its peer, the ring the
// loop reads, and the state of the loop's flow control.

import { Counters } from './counters.js';
import { maxFrameForMtu, type PortListener, type RxBatch } from './port.js';
import type { QemuPortConfig } from './qemu.js';
import { newPeerCounters, type QemuPeerCounters } from './qemu-peer.js';

/** How often tapyard dials a QEMU that is not there (yet, or again). */
export const REDIAL_MS = 200;

export abstract class QemuPortBase {
  readonly kind = 'qemu' as const;
  readonly name: string;
  readonly counters = new Counters();
  readonly peer: QemuPeerCounters = newPeerCounters();
  readonly hdrLen = 0;
  readonly mac = null;
  /** The guest's virtio-net has MTU 1500 unless told otherwise. */
  readonly maxFrame = maxFrameForMtu(1500);
  readonly offload = false;

  protected readonly batch: RxBatch;
  protected listener: PortListener | null = null;
  /** The loop's flow control: it reads this port, and it waits for room to write. */
  protected reading = true;
  protected wantWritable = false;
  protected closed = false;

  constructor(
    config: QemuPortConfig,
    readonly budget: number,
    ringBytes: number,
    protected readonly warn: (sentence: string) => void,
  ) {
    this.name = config.name;
    this.batch = {
      buf: new Uint8Array(ringBytes),
      offsets: new Uint32Array(budget),
      lengths: new Int32Array(budget),
      count: 0,
    };
  }
}
