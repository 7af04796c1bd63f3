// The loop: what QEMU's tap backend does between an fd and a NIC, for N ports.
//
// One breath, per readable port: the port drains up to `budget` frames into its ring; each
// frame is checked, handed to the switch, and its copies queued per egress; then every egress
// queue is written in one batch. When an egress reports EAGAIN, the frames it did not take are
// copied aside and every ingress that feeds it stops reading until it drains: frames wait in the
// kernel (back-pressure) instead of being dropped here. The egress queues are tx-queue.ts's.
//
// Nothing is lost silently. For the whole forwarder, at every moment:
//     rx + clones = tx + drops + queued
// where clones are the extra copies a switch made (a flood to three ports is one rx, two
// clones) or an impairment wrote (dup=), and queued are copies waiting for a full egress or
// held by an impairment (delay=, rate=, reorder=). Without impairments, queued is 0 when the
// loop is idle.
//
// Impairments (src/impair/) act on the copies for one egress. A port without any costs one
// check per copy: its copies take the plain path below, unchanged. Held copies are released
// by one timer for the whole forwarder, re-armed in one place (arm(), as QEMU's tap backend
// re-arms its fd handlers in tap_update_fd_handler), and at the end of every batch; a busy-
// polling loop releases them on every turn instead. At stop() what is still held is counted
// (impair-shutdown), not written early.
//
// VLANs (src/vlan/): when the ports are VLAN-aware, each frame is given its VLAN on the way in
// (or refused: vlan-not-member, ...), the switch's outputs are cut to the ports that carry that
// VLAN, and a copy whose tag must go on or come off is rewritten into its egress's own buffer:
// the other copies of a flood keep the bytes they were read into. A port without VLANs costs
// nothing of this.
//
// A plain cross-connect (nothing observed, filtered, impaired or tagged by the ports) needs
// nothing of this loop for most frames, so it is spliced (splice()): each port writes the
// frames that need no decision straight to its peer below JavaScript, as the C reference loop
// does, and counts them; every other frame, and every frame a full egress refuses, comes here as
// before. Back-pressure, drop reasons and the ledger are unchanged.

import { TapyardError } from '../error.js';
import { isAccepted, type RxFilter } from '../filter/rx-filter.js';
import { completePartialChecksum } from '../frame/checksum.js';
import { FrameError } from '../frame/error.js';
import { EthernetView, VLAN_TAG_LEN } from '../frame/ethernet.js';
import { GsoType, VNET_HDR_LEN, VnetFlag, VnetView } from '../frame/vnet.js';
import type { ImpairConfig } from '../impair/config.js';
import { Impairment } from '../impair/impairment.js';
import type { Counters } from '../port/counters.js';
import { DropReason } from '../port/drop.js';
import type { Port, PortListener, RxBatch } from '../port/port.js';
import { CrossConnect } from '../switch/cross-connect.js';
import { Decision, type Switch, type SwitchPort } from '../switch/decision.js';
import { VlanReason } from '../vlan/reason.js';
import { VlanAction, VlanMembership } from '../vlan/vlan-membership.js';
import type { VlanConfig } from '../vlan/vlan-port.js';
import { Feeders, PackBuffer, TxQueue } from './tx-queue.js';

export interface Ledger {
  rx: number;
  clones: number;
  tx: number;
  drops: number;
  queued: number;
}

export interface ForwarderOptions {
  /** A guest NIC's receive filter per port (by index): frames it refuses are not written there. */
  rxFilters?: readonly (RxFilter | null)[];
  /** A port failed for good (device deleted): the forwarder has stopped itself. */
  onFatal?: (error: TapyardError) => void;
  /** A port's device changed in a way worth a sentence (its MTU); forwarding goes on. */
  onNote?: (sentence: string) => void;
  /**
   * Never sleep: read every port on every turn of the event loop instead of waiting for
   * readiness. Lower latency, one core always busy. Every port must support it.
   */
  busyPoll?: boolean;
  /** Sees every frame read (a capture file), before the switch decides, and then its fate. */
  observer?: FrameObserver;
  /** Impairments of the frames written to each port (by index); null: none. */
  impairments?: readonly (ImpairConfig | null)[];
  /** The ports' VLANs (one entry per port); null: frames pass with the tags they have. */
  vlan?: VlanConfig | null;
}

export interface FrameObserver {
  /** A frame arrived on port `port` at `micros` (microseconds since 1970). */
  frame(port: number, micros: number, bytes: Uint8Array, offset: number, length: number): void;
  /** What became of the frame frame() was last given: called once for each, before the next. */
  fate?(fate: FrameFate): void;
}

/** One frame's fate as the loop decided it (reused from frame to frame: read it, keep nothing). */
export interface FrameFate {
  /** Why the frame went nowhere (a bad header, the switch's drop); null: it has outputs. */
  drop: string | null;
  /** The egress ports the switch chose, and its reason for each. */
  readonly outputs: readonly number[];
  readonly reasons: readonly string[];
  /**
   * Per output: null when the copy was written (or queued to be, this batch), else what
   * happened to it: a drop reason's key (`rx-filter-unicast`), `queued: the egress is full`,
   * or what an impairment did in words. What the kernel answers to the write comes later.
   */
  readonly outcomes: readonly (string | null)[];
}

/** A copy behind a full egress, for a fate. */
const QUEUED = 'queued: the egress is full';

export class Forwarder implements PortListener {
  clones = 0;

  private readonly index = new Map<Port, number>();
  private readonly queues: TxQueue[];
  private readonly eth = new EthernetView();
  /** A rewritten copy, for the egress's receive filter: it sees the tags the port will write. */
  private readonly egressEth = new EthernetView();
  private readonly vnet = new VnetView();
  private readonly egressVnet = new VnetView();
  private readonly vlan: VlanMembership | null;
  /** What each output of the frame in hand does with its VLAN tag (VlanAction), by output. */
  private readonly vlanActions: Int8Array;
  private readonly decision = new Decision();
  private readonly outcomes: (string | null)[] = [];
  private readonly fate: FrameFate = {
    drop: null,
    outputs: this.decision.outputs,
    reasons: this.decision.reasons,
    outcomes: this.outcomes,
  };
  private running = false;
  private readonly anyTagStack: boolean;
  /** Whether any egress has impairments: the loop then keeps a clock and a timer. */
  private readonly impaired: boolean;
  /** The time of this batch (performance.now() ms) when impairments need it. */
  private now = 0;
  private timer: NodeJS.Timeout | null = null;
  /** When the timer fires, or Infinity. */
  private timerAt = Number.POSITIVE_INFINITY;

  constructor(
    readonly ports: readonly Port[],
    readonly sw: Switch,
    private readonly options: ForwarderOptions = {},
  ) {
    // A batch can fan out to every port; the queue for one egress holds a whole batch's copies.
    const capacity = Math.max(...ports.map((p) => p.budget));
    const start = performance.now();
    const feeders = new Feeders(ports, () => this.running);
    const pack = new PackBuffer();
    this.queues = ports.map((port, i) => {
      this.index.set(port, i);
      const impair = options.impairments?.[i] ?? null;
      const impairment = impair === null ? null : new Impairment(impair, port.hdrLen, port.counters, start);
      return new TxQueue({ port, capacity, impairment, feeders, pack });
    });
    this.vlan = options.vlan == null ? null : new VlanMembership(options.vlan);
    this.vlanActions = new Int8Array(ports.length);
    this.anyTagStack = sw.anyTagStack === true;
    this.impaired = this.queues.some((q) => q.impairment !== null);
  }

  /** Port `i`'s impairments, or null. */
  impairment(i: number): Impairment | null {
    return this.queues[i]?.impairment ?? null;
  }

  start(): void {
    const described: SwitchPort[] = this.ports.map((port) => ({ name: port.name, mac: port.mac }));
    this.sw.bind?.(described);
    if (this.options.busyPoll) {
      const slow = this.ports.find((p) => p.enterBusyPoll === undefined || p.pollOnce === undefined);
      if (slow !== undefined)
        throw new TapyardError(
          'EUSAGE',
          `busy polling needs ports that can poll (macvtap, tap, vhost-user); ${slow.name} is a ${slow.kind} port`,
        );
    }
    this.running = true;
    this.splice();
    for (const port of this.ports) port.start(this);
    if (this.options.busyPoll) {
      for (const port of this.ports) port.enterBusyPoll!();
      this.spin();
    }
  }

  /**
   * Lets frames skip this loop, but only where it would write each plain frame to the peer
   * unchanged. Each direction is spliced if both its ports can (Port.spliceTo). A port's receive
   * filter goes with it: the splice takes only frames it accepts in any state, the loop the rest.
   */
  private splice(): void {
    const o = this.options;
    const [a, b] = this.ports;
    if (!(this.sw instanceof CrossConnect) || a === undefined || b === undefined) return;
    if (o.busyPoll || o.observer !== undefined || this.vlan !== null || this.impaired) return;
    const filter = (i: number) => o.rxFilters?.[i]?.spliceCell ?? null;
    a.spliceTo?.(b, filter(1));
    b.spliceTo?.(a, filter(0));
  }

  /** One turn of busy polling; setImmediate lets timers and signals in between turns. */
  private spin(): void {
    if (!this.running) return;
    for (const port of this.ports) port.pollOnce!();
    if (this.impaired) this.releaseDue();
    setImmediate(() => this.spin());
  }

  /** Stop reading, count what is still queued or held as dropped, and close every port. */
  stop(): void {
    if (!this.running) return;
    this.running = false;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.ports.forEach((port, i) => {
      this.queues[i]!.shutdown();
      port.close();
    });
  }

  ledger(): Ledger {
    let rx = 0;
    let tx = 0;
    let drops = 0;
    let queued = 0;
    let clones = this.clones;
    this.ports.forEach((port, i) => {
      rx += port.counters.rxFrames;
      tx += port.counters.txFrames;
      drops += port.counters.dropped;
      const q = this.queues[i]!;
      queued += q.backlog.length;
      if (q.impairment !== null) {
        queued += q.impairment.held;
        clones += q.impairment.duplicated;
      }
    });
    return { rx, clones, tx, drops, queued };
  }

  // --- PortListener -------------------------------------------------------------------------

  onBatch(port: Port, batch: RxBatch): void {
    const ingress = this.index.get(port)!;
    const { buf, offsets, lengths, count } = batch;
    const hdrLen = port.hdrLen;
    const counters = port.counters;
    const observer = this.options.observer;
    // One clock read per batch: its frames arrived together.
    const micros = observer === undefined ? 0 : Math.round((performance.timeOrigin + performance.now()) * 1000);
    if (this.impaired) this.now = performance.now();
    for (let i = 0; i < count; i++) {
      const off = offsets[i]!;
      const len = lengths[i]!;
      if (len < 0) {
        counters.rx(0);
        counters.drop(DropReason.TRUNCATED);
        continue;
      }
      counters.rx(len);
      observer?.frame(ingress, micros, buf, off, len);
      if (!this.running) {
        this.discard(counters, DropReason.SHUTDOWN);
        continue;
      }
      let offloaded = false;
      if (hdrLen > 0) {
        this.vnet.wrap(buf, off - hdrLen);
        const bad = this.vnet.check(len);
        if (bad !== null) {
          this.discard(counters, bad);
          continue;
        }
        offloaded = this.vnet.needsOffload;
      }
      const bad = this.eth.parse(buf, off, len);
      // A view that stopped at its tag limit still has both MACs and the outer tags right.
      if (bad !== null && !(bad === FrameError.TOO_MANY_TAGS && this.anyTagStack)) {
        this.discard(counters, bad);
        continue;
      }
      const vlan = this.vlan;
      if (vlan !== null) {
        const refused = vlan.classify(ingress, this.eth);
        if (refused !== null) {
          this.discard(counters, refused);
          continue;
        }
      }
      const decision = this.decision.reset();
      this.sw.decide(ingress, this.eth, decision);
      const outputs = decision.outputs;
      const chosen = outputs.length;
      if (vlan !== null) this.keepVlanMembers(vlan, decision);
      if (outputs.length === 0) {
        this.discard(counters, decision.drop ?? (chosen > 0 ? VlanReason.NO_MEMBER_EGRESS : DropReason.NO_OUTPUT));
        continue;
      }
      this.clones += outputs.length - 1;
      if (offloaded) offloaded = this.finishChecksumFor(outputs, buf, off, len);
      const outcomes = this.outcomes;
      for (let o = 0; o < outputs.length; o++) {
        const action = vlan === null ? VlanAction.KEEP : (this.vlanActions[o]! as VlanAction);
        outcomes[o] = this.enqueue(outputs[o]!, ingress, buf, off, len, hdrLen, offloaded, action);
      }
      if (observer?.fate !== undefined) {
        this.fate.drop = null;
        observer.fate(this.fate);
      }
    }
    // Every queue is empty again when a batch ends: the ring is reused for the next one.
    for (let e = 0; e < this.queues.length; e++) if (this.queues[e]!.count > 0) this.queues[e]!.flush(ingress);
    if (this.impaired) {
      this.releaseDue();
      this.arm();
    }
  }

  onWritable(port: Port): void {
    this.queues[this.index.get(port)!]!.drain();
  }

  /** A guest's offloads (vhost-user): every device that may hand the loop offloaded frames follows. */
  onGuestOffloads(port: Port, flags: number): void {
    for (const other of this.ports) if (other !== port) other.setOffloads?.(flags);
  }

  onNote(_port: Port, sentence: string): void {
    this.options.onNote?.(sentence);
  }

  /** One port failed for good: the whole forwarder stops (nothing is written to a dead port). */
  onFatal(_port: Port, error: TapyardError): void {
    this.stop();
    this.options.onFatal?.(error);
  }

  /** A frame that goes nowhere: counted on its ingress, and its fate told. */
  private discard(counters: Counters, reason: string): void {
    counters.drop(reason);
    const observer = this.options.observer;
    if (observer?.fate !== undefined) {
      this.fate.drop = reason;
      observer.fate(this.fate);
    }
  }

  /**
   * The switch's outputs, cut to the ports that carry the frame's VLAN (as a VLAN-aware bridge
   * floods within the VLAN), each with what it does to the tag. In place: nothing allocated.
   */
  private keepVlanMembers(vlan: VlanMembership, decision: Decision): void {
    const { outputs, reasons } = decision;
    let kept = 0;
    for (let o = 0; o < outputs.length; o++) {
      const action = vlan.action(outputs[o]!);
      if (action === VlanAction.PRUNE) continue;
      outputs[kept] = outputs[o]!;
      reasons[kept] = reasons[o]!;
      this.vlanActions[kept++] = action;
    }
    while (outputs.length > kept) {
      outputs.pop();
      reasons.pop();
    }
  }

  // --- one copy at a time -------------------------------------------------------------------

  /**
   * A frame with offload work pending (GSO, or a partial checksum) can go to a port with a vnet
   * header as it is: the kernel finishes the work on the way out. A port without one cannot take
   * it. A partial checksum is cheap to finish here, in place and so for every copy, with the
   * header flag cleared so that nobody finishes it twice; a GSO frame stays as it is, and plain
   * ports drop it. Returns whether the frame still carries offload work.
   */
  private finishChecksumFor(outputs: readonly number[], buf: Uint8Array, off: number, len: number): boolean {
    let plain = false;
    for (let o = 0; o < outputs.length; o++) if (this.ports[outputs[o]!]!.hdrLen === 0) plain = true;
    if (!plain || this.vnet.isGso) return true;
    // check() already proved the checksum field lies inside the frame.
    completePartialChecksum(buf, off, len, this.vnet.csumStart, this.vnet.csumOffset);
    this.vnet.setFlags(this.vnet.flags & ~VnetFlag.NEEDS_CSUM);
    return false;
  }

  private enqueue(
    egress: number,
    ingress: number,
    buf: Uint8Array,
    off: number,
    len: number,
    srcHdr: number,
    offloaded: boolean,
    action: VlanAction,
  ): string | null {
    const port = this.ports[egress]!;
    const q = this.queues[egress]!;
    const hdr = port.hdrLen;
    // A copy whose VLAN tag changes is written from the egress's own buffer, header and all.
    let view = this.eth;
    if (action !== VlanAction.KEEP) {
      const at = q.reserve(ingress, hdr + len + VLAN_TAG_LEN) + hdr;
      const out = q.rewritten!;
      len = this.vlan!.rewrite(action, buf, off, len, out, at);
      if (hdr > 0) this.rewriteHeader(out, at - hdr, buf, off, srcHdr, VlanMembership.growth(action));
      this.egressEth.parse(out, at, len);
      view = this.egressEth;
      buf = out;
      off = at;
      srcHdr = hdr;
    }
    const filter = this.options.rxFilters?.[egress];
    if (filter != null) {
      const verdict = filter.check(view);
      if (!isAccepted(verdict)) {
        port.counters.drop(verdict);
        return verdict;
      }
    }
    if (hdr === 0 && offloaded) {
      port.counters.drop(DropReason.GSO_TO_PLAIN_PORT);
      return DropReason.GSO_TO_PLAIN_PORT;
    }
    if (len > port.maxFrame && !(offloaded && this.vnet.gsoType !== GsoType.NONE)) {
      // The kernel would take the write and drop the frame without a word (tap_get_user).
      port.counters.drop(DropReason.OVERSIZE);
      return DropReason.OVERSIZE;
    }
    if (hdr > 0 && srcHdr === 0) this.vnet.wrap(buf, off - VNET_HDR_LEN).clear();
    if (buf === q.rewritten) q.rewrittenAt = off + len;
    if (q.impairment !== null) return this.impair(q, ingress, buf, off - hdr, len + hdr);
    if (q.backlog.length > 0) {
      // Order matters: behind a full egress, new copies wait behind the old ones.
      q.backlog.push(buf.slice(off - hdr, off + len));
      q.hold(ingress);
      return QUEUED;
    }
    q.place(ingress, buf, off - hdr, len + hdr);
    return null;
  }

  /** The vnet header of a rewritten copy: the ingress's, its offsets moved with the tag, or none. */
  private rewriteHeader(out: Uint8Array, at: number, src: Uint8Array, off: number, srcHdr: number, growth: number) {
    if (srcHdr === 0) {
      out.fill(0, at, at + VNET_HDR_LEN);
      return;
    }
    // Ten bytes: a loop is cheaper than a subarray view and a native copy.
    for (let i = 0; i < srcHdr; i++) out[at + i] = src[off - srcHdr + i]!;
    this.egressVnet.wrap(out, at).shift(growth);
  }

  /**
   * A copy for an impaired egress, buf[start, start + total) with its header: what the
   * impairment does not lose or hold is queued as on the plain path; a full egress stops the
   * feeder as it does there, whether or not the copy was held.
   */
  private impair(q: TxQueue, ingress: number, buf: Uint8Array, start: number, total: number) {
    const impairment = q.impairment!;
    for (let direct = impairment.admit(buf, start, total, this.now); direct > 0; direct--) {
      if (q.backlog.length > 0) q.backlog.push(buf.slice(start, start + total));
      else q.place(ingress, buf, start, total);
    }
    if (q.backlog.length > 0) q.hold(ingress);
    return this.options.observer === undefined ? null : impairment.describeLast();
  }

  /** Copies whose impairment let them go, from every impaired egress. */
  private releaseDue(): void {
    const now = performance.now();
    for (const q of this.queues) q.impairment?.release(now, q.output);
  }

  /**
   * The one place the release timer is set: for the earliest time an impairment holds a frame
   * for, after every batch and every release. A busy-polling loop needs none.
   */
  private arm(): void {
    if (this.options.busyPoll || !this.running) return;
    let next = Number.POSITIVE_INFINITY;
    for (const q of this.queues) {
      const at = q.impairment?.nextDue() ?? next;
      if (at < next) next = at;
    }
    if (next === this.timerAt) return;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.timerAt = next;
    if (next === Number.POSITIVE_INFINITY) return;
    // Node's timers count whole milliseconds; never early, at most about one late.
    this.timer = setTimeout(this.onTimer, Math.max(1, Math.ceil(next - performance.now())));
  }

  private readonly onTimer = (): void => {
    this.timer = null;
    this.timerAt = Number.POSITIVE_INFINITY;
    this.releaseDue();
    this.arm();
  };
}
