// What the loop benchmarks share: ports that take every frame and keep nothing, and one batch of
// 64-byte frames laid out as a port's ring, so that only the forwarder's own work is measured.

import { Counters } from '../../src/port/counters.js';
import { HEADROOM, type Port, type RxBatch } from '../../src/port/port.js';
import { buildFrame } from '../../src/spec/build.js';

/** Frames per batch, as a port's default budget reads them. */
export const BATCH = 64;

/** A port that takes every frame and keeps nothing: only the loop's work is left to measure. */
export class SinkPort implements Port {
  readonly kind = 'memory' as const;
  readonly device = 'sink';
  readonly counters = new Counters();
  readonly mac = null;
  readonly maxFrame = 1518;
  readonly offload = false;
  readonly budget = BATCH;
  constructor(
    readonly name: string,
    readonly hdrLen: number,
  ) {}
  start(): void {}
  setReading(): void {}
  setWantWritable(): void {}
  send(_buf: Uint8Array, _offsets: Uint32Array, _lengths: Uint32Array, count: number, status: Int32Array): number {
    status.fill(0, 0, count);
    return count;
  }
  close(): void {}
}

/**
 * BATCH UDP frames of 64 bytes (68 with a VLAN tag), each after the headroom (a vnet header there
 * stays zero: no offload).
 */
export function batchOf64(vlan: number | null = null): RxBatch {
  const frame = buildFrame({
    eth: { src: 0x020000000001, dst: 0x020000000002, ...(vlan === null ? {} : { vlan }) },
    ipv4: { src: '10.77.0.1', dst: '10.77.0.2' },
    udp: { srcPort: 40000, dstPort: 7777 },
    payload: new Uint8Array(22),
  });
  const slot = 128;
  const batch: RxBatch = {
    buf: new Uint8Array(BATCH * slot),
    offsets: new Uint32Array(BATCH),
    lengths: new Int32Array(BATCH),
    count: BATCH,
  };
  for (let i = 0; i < BATCH; i++) {
    batch.offsets[i] = i * slot + HEADROOM;
    batch.lengths[i] = frame.length;
    batch.buf.set(frame, i * slot + HEADROOM);
  }
  return batch;
}
