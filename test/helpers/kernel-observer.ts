// Marked frames and the packet sockets that count them.
//
// A marked frame carries the local experimental ethertype 0x88b5 and, in its payload, a magic,
// this run's tag and a case number, so that a count can never include anybody else's traffic.
//
// An observer is an AF_PACKET socket bound to one device and to one ethertype, 0x88b5 unless told
// (never ETH_P_ALL, never promiscuous): it is delivered after the device's rx_handler, so observing changes
// neither what a macvlan accepts nor what it passes up. Two kernel facts about what such a
// socket sees (__netif_receive_skb_core):
// - it never sees frames its own device transmits (only ETH_P_ALL taps do);
// - on a macvlan lower it sees what macvlan passed up to the host stack AND every unicast frame
//   macvlan redirected to an endpoint with RX_HANDLER_ANOTHER, because the device-bound list of
//   the original device (orig_dev) is walked after the redirect too. Copies macvlan re-injects
//   with netif_rx (broadcast clones, source-mode clones) start over on the endpoint and are not
//   seen on the lower.

import { MAX_FRAME, netnsPath, tapio } from '../../src/port/native.js';

export const MARK_ETHERTYPE = 0x88b5;
const MAGIC = [0x54, 0x59, 0x43, 0x46]; // "TYCF"
const FRAME_LEN = 60;
const BUDGET = 64;

/** A 60-byte marked frame: dst, src, 0x88b5, magic, run tag (4 bytes), case number (u32). */
/** The 12 bytes that mark a frame: magic, run tag, case number (to put in any payload). */
export function mark(runTag: number, caseId: number): Uint8Array {
  const bytes = new Uint8Array(12);
  bytes.set(MAGIC, 0);
  new DataView(bytes.buffer).setUint32(4, runTag >>> 0);
  new DataView(bytes.buffer).setUint32(8, caseId >>> 0);
  return bytes;
}

export function markedFrame(dst: string, src: string, runTag: number, caseId: number): Uint8Array {
  const bytes = new Uint8Array(FRAME_LEN);
  const put = (text: string, at: number) =>
    text.split(':').forEach((b, i) => {
      bytes[at + i] = parseInt(b, 16);
    });
  put(dst, 0);
  put(src, 6);
  bytes[12] = MARK_ETHERTYPE >>> 8;
  bytes[13] = MARK_ETHERTYPE & 0xff;
  bytes.set(MAGIC, 14);
  new DataView(bytes.buffer).setUint32(18, runTag >>> 0);
  new DataView(bytes.buffer).setUint32(22, caseId >>> 0);
  return bytes;
}

export class Observer {
  private readonly fd: number;
  private readonly ring = new Uint8Array(MAX_FRAME + 128 * BUDGET);
  private readonly offsets = new Uint32Array(BUDGET);
  private readonly lengths = new Int32Array(BUDGET);
  /** Marked frames seen so far, by case number. */
  private readonly counts = new Map<number, number>();

  constructor(
    readonly name: string,
    readonly ns: string,
    readonly device: string,
    private readonly runTag: number,
    /** The ethertype bound to; for another than 0x88b5 the mark may lie anywhere in the payload
     *  (inside an IP datagram, after an IGMP message, ...). */
    etherType = MARK_ETHERTYPE,
  ) {
    this.fd = tapio().packetSocket(device, etherType, netnsPath(ns));
  }

  /** Read everything queued and count this run's marked frames. */
  drain(): void {
    const io = tapio();
    for (;;) {
      const n = io.readBatch(this.fd, this.ring, this.offsets, this.lengths, 0, 0, BUDGET);
      for (let i = 0; i < n; i++) {
        const at = this.offsets[i]!;
        const len = this.lengths[i]!;
        const b = this.ring;
        let mark = 14;
        while (mark + 12 <= len && !MAGIC.every((m, k) => b[at + mark + k] === m)) mark++;
        if (mark + 12 > len) continue;
        const view = new DataView(b.buffer, b.byteOffset + at, len);
        if (view.getUint32(mark + 4) !== this.runTag >>> 0) continue;
        const id = view.getUint32(mark + 8);
        this.counts.set(id, (this.counts.get(id) ?? 0) + 1);
      }
      if (n < BUDGET) return;
    }
  }

  count(caseId: number): number {
    return this.counts.get(caseId) ?? 0;
  }

  /** Send one frame out of this socket's device. */
  send(frame: Uint8Array): void {
    const status = new Int32Array(1);
    const done = tapio().writeBatch(this.fd, frame, Uint32Array.of(0), Uint32Array.of(frame.length), 1, status);
    if (done !== 1 || status[0] !== 0) throw new Error(`sending on ${this.device} failed (errno ${status[0]})`);
  }

  close(): void {
    tapio().close(this.fd);
  }
}

/**
 * Wait until no observer's count for `caseId` has changed for `quietMs` (macvlan delivers
 * broadcasts from a workqueue, so copies keep arriving after the send returns). With `expected`
 * (the model's counts, per observer), first wait for at least those — a loaded machine can run
 * the workqueue later than any quiet period — then for the quiet period, which catches extras.
 */
export async function settle(
  observers: readonly Observer[],
  caseId: number,
  quietMs = 120,
  maxMs = 3000,
  expected?: readonly number[],
): Promise<void> {
  const start = Date.now();
  let last = '';
  let since = Date.now();
  for (;;) {
    for (const o of observers) o.drain();
    const counts = observers.map((o) => o.count(caseId));
    const now = counts.join(',');
    const short = expected !== undefined && counts.some((c, i) => c < expected[i]!);
    if (now !== last) {
      last = now;
      since = Date.now();
    } else if (!short && Date.now() - since >= quietMs) return;
    if (Date.now() - start > maxMs) return;
    await new Promise((r) => setTimeout(r, 10));
  }
}
