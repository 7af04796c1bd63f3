// What a macvtap and a tap share: an fd polled on Node's loop, read in batches into a ring,
// written in batches, and watched for the device disappearing under it.

import { TapyardError } from '../error.js';
import { formatMac, type Mac } from '../mac.js';
import { Counters } from './counters.js';
import { type DeviceState, stateChanges } from './device-state.js';
import { DropReason, errnoName } from './drop.js';
import type { KernelDrops } from './kernel-drops.js';
import { LinkEvents } from './link-events.js';
import { isErrno, MAX_FRAME, PollEvent, type PollerHandle, tapio } from './native.js';
import {
  COUNTED,
  HEADROOM,
  maxFrameForMtu,
  type Port,
  type PortKind,
  type PortListener,
  type RxBatch,
  type SpliceEgress,
  type SpliceSource,
} from './port.js';
import type { SourceGuard } from './source-guard.js';
import { SpliceLink } from './splice-link.js';

/** Room for many small frames per batch and always for one 64 KiB GSO frame. */
const RING_BYTES = 256 * 1024 + HEADROOM + MAX_FRAME;

/**
 * How often the device is asked whether it still exists and how it is, beside the kernel's link
 * announcements (link-events.ts), which come at once: a deleted macvtap never signals poll, and a
 * deleted namespace (its tap's fd keeps it alive) announces nothing. Each look wakes Node: at
 * 0.2 s the looks cost 3 ms of CPU a second, 2 % of the forwarder's CPU at 100 k frames/s.
 */
const WATCH_MS = 1000;

/** How often a port waiting for its link (linkReady) asks again, and for how long at most. */
const SETTLE_POLL_MS = 2;
const SETTLE_MS = 1000;

export interface FdPortConfig {
  name: string;
  kind: PortKind;
  device: string;
  fd: number;
  hdrLen: number;
  mac: Mac | null;
  maxFrame: number;
  offload: boolean;
  /** With offload: the TUNSETOFFLOAD flags asked for at open, the most setOffloads gives. */
  offloadFlags?: number;
  budget: number;
  /**
   * The device's state at open, how to read it again (with its existence, when the kernel
   * announces a change of the link in `netns`, a path or null for this process's namespace, and
   * every WATCH_MS): its MTU, link and address may change while tapyard runs. read throws when
   * the device or its namespace is gone.
   */
  follow?: { state: DeviceState; netns: string | null; read: () => DeviceState };
  /**
   * Whether the device carries what is written to it now. Given for a tap: attaching gives it
   * its carrier at once, but its operstate, and a bridge's port on it, follow only when the
   * kernel's link watcher has run (net/core/link_watch.c); a frame written before is dropped
   * by the bridge without a counter (BRIDGE_INGRESS_STP_STATE in br_handle_frame). Until it
   * says true, or SETTLE_MS have passed, send() takes nothing: the loop keeps the frames queued
   * and pauses their ingress, as for a full device.
   */
  linkReady?: () => boolean;
  /** The kernel's own drops on the device (kernel-drops.ts). */
  kernelDrops?: () => KernelDrops;
  /** Release what the opener holds beside the fd. */
  onClose?: () => void;
  /** A macvtap's check of the source MAC of what it sends (source-guard.ts); it follows `mac`. */
  sourceGuard?: SourceGuard;
}

export class FdPort implements Port {
  readonly name: string;
  readonly kind: PortKind;
  readonly device: string;
  readonly counters = new Counters();
  readonly hdrLen: number;
  /** The device's address; it follows the device (see onAddressChange). */
  mac: Mac | null;
  /** Told when the device's address changes (ip link set DEV address MAC), after `mac` has. */
  onAddressChange: ((before: Mac, after: Mac) => void) | null = null;
  readonly offload: boolean;
  readonly budget: number;
  readonly sourceGuard: SourceGuard | null;

  private readonly fd: number;
  private readonly offloadFlags: number;
  /** maxFrame, where a splice into this port reads it. */
  private readonly maxFrameCell = new Int32Array(1);
  /** Both ends of a splice: the port whose splice writes here must stop when this fd closes. */
  private readonly splice = new SpliceLink();
  private readonly readState: (() => DeviceState) | undefined;
  private state: DeviceState | null = null;
  /** Whether the link has been seen running since open. */
  private seenRunning = false;
  /** The device's name as its fd first said it (TUNGETIFF), to tell a rename from a move. */
  private ifname: string | null = null;
  /** The device left the namespace tapyard reads its state in: its fd still works, its state is unknown. */
  private lostSight = false;
  readonly kernelDrops: (() => KernelDrops) | undefined;
  private readonly onClose: (() => void) | undefined;
  private readonly linkReady: (() => boolean) | undefined;
  /** Waiting for the link after attach (see FdPortConfig.linkReady): nothing is written meanwhile. */
  private settling: boolean;
  private settleTimer: NodeJS.Timeout | null = null;
  private readonly batch: RxBatch;
  private poller: PollerHandle | null = null;
  private listener: PortListener | null = null;
  private watch: NodeJS.Timeout | null = null;
  private linkEvents: LinkEvents | null = null;
  /** A note from before start(): nobody listened yet. */
  private unsaid: string | null = null;
  private reading = true;
  private busy = false;
  private wantWritable = false;
  private closed = false;
  /** Whether the one warning about spoofed sources (spoof=count) has been given. */
  private spoofWarned = false;

  constructor(config: FdPortConfig) {
    this.name = config.name;
    this.kind = config.kind;
    this.device = config.device;
    this.fd = config.fd;
    this.hdrLen = config.hdrLen;
    this.mac = config.mac;
    this.maxFrameCell[0] = config.maxFrame;
    this.offload = config.offload;
    this.offloadFlags = config.offloadFlags ?? 0;
    this.budget = config.budget;
    this.readState = config.follow?.read;
    this.state = config.follow?.state ?? null;
    this.seenRunning = this.state?.running ?? false;
    this.kernelDrops = config.kernelDrops;
    this.onClose = config.onClose;
    this.sourceGuard = config.sourceGuard ?? null;
    this.linkReady = config.linkReady;
    this.settling = this.linkReady !== undefined && !this.isLinkReady();
    if (config.follow !== undefined) this.followLink(config.follow.netns, config.follow.state.index);
    this.batch = {
      buf: new Uint8Array(RING_BYTES),
      offsets: new Uint32Array(config.budget),
      lengths: new Int32Array(config.budget),
      count: 0,
    };
  }

  get maxFrame(): number {
    return this.maxFrameCell[0]!;
  }

  start(listener: PortListener): void {
    this.listener = listener;
    if (this.unsaid !== null) this.note(this.unsaid);
    const poller = new (tapio().Poller)(this.fd, (events, errno, count) => this.onPoll(events, errno, count));
    poller.setRing(
      this.batch.buf,
      this.batch.offsets,
      this.batch.lengths,
      this.hdrLen,
      HEADROOM,
      this.batch.offsets.length,
    );
    this.poller = poller;
    this.applySplice();
    this.arm();
    this.watch = setInterval(() => this.checkDevice(), WATCH_MS);
    this.watch.unref();
    if (this.settling) this.settle(performance.now() + SETTLE_MS);
  }

  /**
   * The kernel's announcements of the device's link: each one is looked at when it comes (once
   * started). Subscribed at open, as the probe socket is made: in another namespace it takes
   * setns, which --user no longer allows.
   */
  private followLink(netns: string | null, ifindex: number): void {
    const slower = `tapyard looks at the ${this.device} once a second only`;
    try {
      this.linkEvents = new LinkEvents(
        netns,
        ifindex,
        () => {
          if (this.listener !== null) this.checkDevice();
        },
        (sentence) => this.note(`${sentence}; ${slower}`),
      );
    } catch (err) {
      this.unsaid = `no link notifications (${isErrno(err) ? err.code : err}); ${slower}`;
    }
  }

  setReading(on: boolean): void {
    if (this.reading === on) return;
    this.reading = on;
    this.arm();
  }

  enterBusyPoll(): void {
    this.busy = true;
    this.arm();
  }

  pollOnce(): void {
    if (!this.reading || this.closed) return;
    const { buf, offsets, lengths } = this.batch;
    let count: number;
    try {
      count = tapio().readBatch(this.fd, buf, offsets, lengths, this.hdrLen, HEADROOM, offsets.length);
    } catch (err) {
      this.fail(this.explain(isErrno(err) ? err.errno : 0));
      return;
    }
    if (count > 0) this.onPoll(0, 0, count);
  }

  spliceTo(peer: Port | null, peerFilter: Uint8Array | null = null): boolean {
    if (peer !== null) {
      const fdPeer = peer instanceof FdPort && !peer.closed;
      if (!(fdPeer || peer.spliceRing !== undefined) || peer.hdrLen !== this.hdrLen) return false;
    }
    this.splice.connect(this, peer, peerFilter);
    this.applySplice();
    return true;
  }

  acceptSplice(source: SpliceSource | null): void {
    this.splice.from = source;
  }

  spliceEgress(): SpliceEgress | null {
    if (this.closed || this.settling) return null;
    return { fd: this.fd, maxFrame: this.maxFrameCell, spliced: this.counters.spliced, guard: this.sourceGuard?.cell };
  }

  /**
   * Before start() there is no poller yet: start() sets it. A peer still waiting for its link
   * takes no splice either (it would write past the wait): it sets it once it is ready. A
   * vhost-user peer takes one while its guest's receive ring runs, and says when that changes.
   */
  applySplice(): void {
    if (this.poller === null || this.closed) return;
    const { into: peer, filter } = this.splice;
    const ring = peer?.spliceRing?.() ?? null;
    const egress = peer?.spliceEgress?.() ?? null;
    if (ring !== null) this.poller.spliceIntoRing(ring, this.counters.spliced, peer!.counters.spliced, filter);
    else if (egress !== null)
      this.poller.setSplice(egress.fd, egress.maxFrame, this.counters.spliced, egress.spliced, egress.guard, filter);
    else this.poller.setSplice(-1);
  }

  setOffloads(flags: number): void {
    if (!this.offload || this.closed) return;
    try {
      tapio().tunSetOffload(this.fd, flags & this.offloadFlags);
    } catch (err) {
      this.note(`cannot follow the guest's offloads (${isErrno(err) ? err.code : err})`);
    }
  }

  setWantWritable(on: boolean): void {
    if (this.wantWritable === on) return;
    this.wantWritable = on;
    this.arm();
  }

  send(buf: Uint8Array, offsets: Uint32Array, lengths: Uint32Array, count: number, status: Int32Array): number {
    if (this.settling) return 0;
    const guard = this.sourceGuard;
    if (guard === null) return tapio().writeBatch(this.fd, buf, offsets, lengths, count, status);
    if (guard.policy === 'drop') return this.sendOwnSources(guard, buf, offsets, lengths, count, status);
    const sent = tapio().writeBatch(this.fd, buf, offsets, lengths, count, status);
    for (let i = 0; i < sent; i++)
      if (status[i] === 0 && guard.isForeign(buf, offsets[i]! + this.hdrLen, lengths[i]! - this.hdrLen))
        this.counters.spoofed();
    this.warnSpoofed();
    return sent;
  }

  /**
   * spoof=drop: each frame with another source MAC is dropped under its reason (COUNTED), and the
   * runs of frames between them are written as they are. Returns the frames consumed, as send().
   */
  private sendOwnSources(
    guard: SourceGuard,
    buf: Uint8Array,
    offsets: Uint32Array,
    lengths: Uint32Array,
    count: number,
    status: Int32Array,
  ): number {
    const hdr = this.hdrLen;
    let i = 0;
    while (i < count) {
      const start = i;
      while (i < count && !guard.isForeign(buf, offsets[i]! + hdr, lengths[i]! - hdr)) i++;
      if (i > start) {
        // Views only where a spoofed frame split the batch: the common batch is written whole.
        const at = (a: Uint32Array) => (start === 0 ? a : a.subarray(start));
        const sent = tapio().writeBatch(
          this.fd,
          buf,
          at(offsets),
          at(lengths),
          i - start,
          start === 0 ? status : status.subarray(start),
        );
        if (sent < i - start) return start + sent;
      }
      if (i < count) {
        this.counters.drop(DropReason.SPOOFED_SOURCE);
        status[i++] = COUNTED;
      }
    }
    return count;
  }

  /** spoof=count: one line the first time a spoofed source passes, through JavaScript or the splice. */
  private warnSpoofed(): void {
    if (this.spoofWarned || this.counters.spoofedSource === 0) return;
    this.spoofWarned = true;
    this.note(
      `warning: the guest side sent a frame out of the ${this.device} with a source MAC that is not its own ` +
        `(${formatMac(this.sourceGuard!.mac)}); such frames pass and are counted (spoofedSource), ` +
        'spoof=drop drops them',
    );
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    // Nothing may write to this fd number once it is closed (it could be reused at once).
    this.splice.from?.spliceTo(null);
    this.splice.connect(this, null, null);
    if (this.watch !== null) clearInterval(this.watch);
    this.linkEvents?.close();
    if (this.settleTimer !== null) clearTimeout(this.settleTimer);
    this.poller?.close();
    tapio().close(this.fd);
    this.onClose?.();
  }

  /**
   * Readiness to read is only waited for when nobody busy-polls this port; readiness to write
   * not while the link settles (the fd is writable at once: the loop would spin).
   */
  private arm(): void {
    if (this.poller !== null && !this.closed)
      this.poller.start(this.reading && !this.busy, this.wantWritable && !this.settling);
  }

  /** A device that is gone counts as ready: checkDevice says what happened to it. */
  private isLinkReady(): boolean {
    try {
      return this.linkReady!();
    } catch {
      return true;
    }
  }

  /** Ask again every SETTLE_POLL_MS until the link is ready or the deadline passes; then write on. */
  private settle(deadline: number): void {
    this.settleTimer = setTimeout(() => {
      this.settleTimer = null;
      if (this.closed) return;
      if (!this.isLinkReady()) {
        if (performance.now() < deadline) {
          this.settle(deadline);
          return;
        }
        this.note(
          `the ${this.device} is not running ${SETTLE_MS / 1000} s after tapyard attached it (down, dormant, ` +
            'or its bridge port is not forwarding): the kernel may drop what tapyard writes to it',
        );
      }
      this.settling = false;
      this.splice.from?.applySplice();
      this.arm();
    }, SETTLE_POLL_MS);
  }

  private onPoll(events: number, errno: number, count: number): void {
    const listener = this.listener!;
    if (count > 0) {
      this.batch.count = count;
      listener.onBatch(this, this.batch);
    }
    if (this.closed) return;
    if (errno !== 0) {
      this.fail(this.explain(errno));
      return;
    }
    if ((events & PollEvent.WRITABLE) !== 0 && this.wantWritable) {
      this.wantWritable = false;
      this.arm();
      listener.onWritable(this);
    }
  }

  /**
   * A deleted macvtap answers TUNGETIFF with ENOLINK; a deleted tap with EBADFD. The MTU is read
   * again so that a raised MTU does not make frames look oversize (the kernel reads it per frame).
   */
  private checkDevice(): void {
    if (this.closed) return;
    // What the splice counted below JavaScript is seen here.
    this.warnSpoofed();
    let name: string;
    try {
      name = tapio().tunGetIff(this.fd).name;
    } catch (err) {
      this.fail(this.explain(isErrno(err) ? err.errno : 0));
      return;
    }
    this.ifname ??= name;
    if (this.readState === undefined || this.lostSight) return;
    let state: DeviceState;
    try {
      state = this.readState();
    } catch (err) {
      // Not found by its name where it was, while its fd still answers: the device itself is
      // there (the kernel keeps the file attached), moved to another namespace or renamed.
      if (isErrno(err, 'ENODEV')) {
        this.lostSight = true;
        const what =
          name === this.ifname
            ? 'moved to another network namespace (a move sets it down: frames cross again once it is up there)'
            : `was renamed ${JSON.stringify(name)}`;
        this.note(`the ${this.device} ${what}; its fd still works, and tapyard goes on without following its link`);
        return;
      }
      this.fail(err instanceof TapyardError ? err.message : this.explain(isErrno(err) ? err.errno : 0));
      return;
    }
    const before = this.state;
    this.state = state;
    // A tap's carrier comes up a moment after it is attached: only a link that was running and
    // changed is news.
    if (before !== null && this.seenRunning)
      for (const note of stateChanges(this.device, before, state)) this.note(note);
    if (before !== null && state.mac !== before.mac) {
      this.mac = state.mac;
      this.sourceGuard?.setMac(state.mac);
      this.onAddressChange?.(before.mac, state.mac);
    }
    if (state.running) this.seenRunning = true;
    const maxFrame = maxFrameForMtu(state.mtu);
    if (maxFrame !== this.maxFrame) {
      this.maxFrameCell[0] = maxFrame;
      this.note(`the ${this.device} now carries frames up to ${maxFrame} bytes (its MTU changed)`);
    }
  }

  private note(sentence: string): void {
    this.listener?.onNote?.(this, `port ${this.name}: ${sentence}`);
  }

  private explain(errno: number): string {
    const name = errnoName(errno);
    if (name === 'ENOLINK' || name === 'EBADFD' || name === 'ENODEV') return `the ${this.device} was deleted`;
    return `the ${this.device} failed (${name})`;
  }

  private fail(sentence: string): void {
    if (this.closed) return;
    this.close();
    this.listener?.onFatal(this, new TapyardError('EDEVGONE', `port ${this.name}: ${sentence}`));
  }
}
