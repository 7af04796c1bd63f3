// The kernel confirms the model, or does not: the frames the model sent are sent again through
// the same topology built for real (lab.ts), while a BPF program reports every skb:kfree_skb in
// the lab's namespaces (kernel/drop-watch.ts). Each frame carries the model's addresses and, in
// its payload, this run's tag and its own number, under the local experimental ethertype 0x88b5:
// no protocol takes that ethertype, so every copy that reaches a station's stack is freed there by
// __netif_receive_skb_core as UNHANDLED_PROTO, on the station's own device. That is how the lab
// sees deliveries, in the kernel's own words, and every other drop of the frame is a loss.

import { TapyardError } from '../error.js';
import { u16 } from '../frame/bytes.js';
import { ARRIVAL, counterpartText, KERNEL_COUNTERPARTS } from '../kernel/counterparts.js';
import { type DropWatch, dropWatchUnavailable, type KernelDrop, netnsInode, watchDrops } from '../kernel/drop-watch.js';
import { netnsPath, tapio } from '../port/native.js';
import { describeReason } from '../reason.js';
import { buildKernelLab, type KernelLab, type LabTopology, unbuildable } from './lab.js';

/** One frame as the model saw it. */
export interface ModelFrame {
  name: string;
  from: string;
  /** The station that must get it (why); null when nobody in particular (trace). */
  to: string | null;
  /** The model's frame: its addresses are what the lab sends. */
  bytes: Uint8Array;
  /** Copies per station. */
  copies: Readonly<Record<string, number>>;
  /** Every drop the model made on the way, and where. */
  drops: readonly { hop: string; reason: string }[];
  /** Where the copy for `to` was lost, in the model's words (null when it arrived or no `to`). */
  lost: string | null;
}

export interface KernelDropSeen {
  reason: string;
  fn: string;
  /** The station or lab device the skb was on. */
  where: string;
}

export interface VerifiedFrame {
  name: string;
  model: { copies: Record<string, number>; drops: { hop: string; reason: string; kernel: string | null }[] };
  kernel: { copies: Record<string, number>; drops: KernelDropSeen[] };
  agree: boolean;
  /** Each way the kernel differed, as a sentence (empty when it agrees). */
  differences: string[];
}

export interface Verification {
  /** Why the kernel could not be asked (no root, no BPF, ...); null when it was. */
  unavailable: string | null;
  /** Parts of the topology the lab could not build, one sentence each. */
  cannot: string[];
  frames: VerifiedFrame[];
}

const ETHERTYPE = 0x88b5;
const FRAME_LEN = 60;
/** How long nothing new must happen before a frame counts as settled (macvlan's bc workqueue). */
const QUIET_MS = 250;
const LONG_QUIET_MS = 600;
const CANARY_MS = 5000;
const MAX_MS = 3000;

function markedFrame(model: Uint8Array, tag: number, index: number): Uint8Array {
  const bytes = new Uint8Array(FRAME_LEN);
  bytes.set(model.subarray(0, 12), 0);
  const view = new DataView(bytes.buffer);
  view.setUint16(12, ETHERTYPE);
  bytes[14] = 0x54; // "TY"
  bytes[15] = 0x59;
  view.setUint32(16, tag);
  view.setUint32(20, index);
  return bytes;
}

function isMarked(head: Uint8Array, tag: number, index: number): boolean {
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  return (
    view.getUint16(12) === ETHERTYPE &&
    head[14] === 0x54 &&
    head[15] === 0x59 &&
    view.getUint32(16) === tag &&
    view.getUint32(20) === index
  );
}

/** What the lab cannot do with these frames (tagged ones), one sentence each. */
function unsendable(frames: readonly ModelFrame[]): string[] {
  return frames
    .filter((f) => f.bytes.length >= 14 && u16(f.bytes, 12) === 0x8100)
    .map((f) => `${f.name}: a VLAN-tagged frame (the lab sends untagged frames only)`);
}

/**
 * Send the model's frames through the real topology and compare. Never throws for what the
 * machine lacks: that comes back as `unavailable`, so the model's answer still prints.
 */
export async function verifyFrames(
  topology: LabTopology,
  frames: readonly ModelFrame[],
  cannotAlso: readonly string[] = [],
): Promise<Verification> {
  const cannot = [...cannotAlso, ...unbuildable(topology), ...unsendable(frames)];
  const unavailable = dropWatchUnavailable();
  if (unavailable !== null) return { unavailable, cannot, frames: [] };
  let lab: KernelLab | null = null;
  let watch: DropWatch | null = null;
  try {
    lab = await buildKernelLab(topology);
    watch = await watchDrops(lab.namespaces);
    await canary(lab.namespaces[0]!, watch);
    const sendable = frames.filter((f) => !(f.bytes.length >= 14 && u16(f.bytes, 12) === 0x8100));
    const tag = (Math.random() * 0xffffffff) >>> 0;
    const out: VerifiedFrame[] = [];
    for (const [i, frame] of sendable.entries())
      out.push(await verifyOne(lab, watch, frame, markedFrame(frame.bytes, tag, i), (h) => isMarked(h, tag, i)));
    return { unavailable: null, cannot, frames: out };
  } catch (err) {
    if (err instanceof TapyardError && (err.code === 'ENOWATCH' || err.code === 'ELAB'))
      return { unavailable: err.message, cannot, frames: [] };
    throw err;
  } finally {
    await watch?.stop();
    lab?.close();
  }
}

async function verifyOne(
  lab: KernelLab,
  watch: DropWatch,
  frame: ModelFrame,
  bytes: Uint8Array,
  ours: (head: Uint8Array) => boolean,
): Promise<VerifiedFrame> {
  const place = lab.stations.get(frame.from);
  if (place === undefined) throw new TapyardError('ELAB', `the lab has no station ${frame.from}`);
  const inodes = new Map(lab.namespaces.map((ns) => [netnsInode(ns), ns]));
  const seen: KernelDrop[] = [];
  let read = watch.drops.length;
  const collect = () => {
    seen.push(...watch.drops.slice(read).filter((d) => ours(d.head)));
    read = watch.drops.length;
  };
  const expected = Object.values(frame.copies).reduce((a, b) => a + b, 0);
  send(place.ns, place.dev, bytes);
  const start = Date.now();
  let last = -1;
  let since = Date.now();
  for (;;) {
    await new Promise((r) => setTimeout(r, 10));
    collect();
    if (seen.length !== last) {
      last = seen.length;
      since = Date.now();
    }
    const quiet = Date.now() - since;
    const arrivals = seen.filter(isArrival).length;
    if ((arrivals >= expected && quiet >= QUIET_MS) || quiet >= LONG_QUIET_MS || Date.now() - start > MAX_MS) break;
  }
  const where = (d: KernelDrop) => lab.devices.get(`${inodes.get(d.netns)}/${d.device}`) ?? d.device;
  const kernelCopies: Record<string, number> = {};
  const kernelDrops: KernelDropSeen[] = [];
  for (const d of seen) {
    const key = `${inodes.get(d.netns)}/${d.device}`;
    if (isArrival(d) && key === lab.switchStack) continue;
    const station = [...lab.stations].find(([, p]) => `${p.ns}/${p.dev}` === key)?.[0];
    if (isArrival(d) && station !== undefined) kernelCopies[station] = (kernelCopies[station] ?? 0) + 1;
    else kernelDrops.push({ reason: d.reason, fn: d.fn, where: where(d) });
  }
  return compare(frame, kernelCopies, kernelDrops);
}

/**
 * bpftrace says it is ready before the kernel delivers every event to it: send marked frames on the
 * lab's loopback (they come back in and die as UNHANDLED_PROTO on lo, touching no switch of the
 * topology) until one is seen, so that no frame of the check is sent into a blind watch.
 */
async function canary(ns: string, watch: DropWatch): Promise<void> {
  const tag = 0x63616e61; // "cana"
  const bytes = markedFrame(new Uint8Array(12), tag, 0);
  const deadline = Date.now() + CANARY_MS;
  for (;;) {
    send(ns, 'lo', bytes);
    await new Promise((r) => setTimeout(r, 50));
    if (watch.drops.some((d) => d.device === 'lo' && isMarked(d.head, tag, 0))) return;
    if (Date.now() > deadline) throw new TapyardError('ENOWATCH', 'bpftrace attached but reported no drop in the lab');
  }
}

function isArrival(d: KernelDrop): boolean {
  return d.reason === ARRIVAL.reason && d.fn === ARRIVAL.fn;
}

function send(ns: string, dev: string, bytes: Uint8Array): void {
  const io = tapio();
  // Protocol 0: the socket receives nothing, so it takes no copy away from the stack.
  const fd = io.packetSocket(dev, 0, netnsPath(ns));
  try {
    const status = new Int32Array(1);
    const done = io.writeBatch(fd, bytes, Uint32Array.of(0), Uint32Array.of(bytes.length), 1, status);
    if (done !== 1 || status[0] !== 0) throw new TapyardError('ELAB', `the lab could not send on ${dev}`);
  } finally {
    io.close(fd);
  }
}

/** The model's copies and drops against the kernel's. */
export function compare(
  frame: ModelFrame,
  kernelCopies: Record<string, number>,
  kernelDrops: KernelDropSeen[],
): VerifiedFrame {
  const differences: string[] = [];
  const stations = new Set([...Object.keys(frame.copies), ...Object.keys(kernelCopies)]);
  for (const s of [...stations].sort()) {
    const m = frame.copies[s] ?? 0;
    const k = kernelCopies[s] ?? 0;
    if (m !== k) differences.push(`${s}: the model delivers ${m} cop${m === 1 ? 'y' : 'ies'}, the kernel ${k}`);
  }
  const modelDrops = frame.drops.map((d) => {
    const c = KERNEL_COUNTERPARTS[d.reason];
    return { ...d, kernel: c === undefined ? null : counterpartText(c) };
  });
  const unmapped = modelDrops.filter((d) => d.kernel === null);
  if (unmapped.length === 0) {
    const left = kernelDrops.map((d) => `${d.reason} in ${d.fn}`);
    for (const d of modelDrops) {
      if (d.kernel === null) continue; // none is: unmapped is empty
      const at = left.indexOf(d.kernel);
      if (at >= 0) left.splice(at, 1);
      else differences.push(`the model drops it at ${d.hop} (${d.reason}); the kernel has no ${d.kernel} for it`);
    }
    for (const k of left) differences.push(`the kernel dropped a copy (${k}) that the model does not drop`);
  }
  return {
    name: frame.name,
    model: { copies: { ...frame.copies }, drops: modelDrops },
    kernel: { copies: kernelCopies, drops: kernelDrops },
    agree: differences.length === 0,
    differences,
  };
}

/** The model's drop, in words, for the report. */
export function modelDropText(d: { hop: string; reason: string }): string {
  return `${d.hop}: ${describeReason(d.reason)} (${d.reason})`;
}
