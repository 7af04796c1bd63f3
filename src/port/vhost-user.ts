// A QEMU VM's virtio-net through vhost-user (QEMU docs/interop/vhost-user.rst): QEMU, the
// front-end, hands tapyard the guest's memory and the NIC's two virtqueues over a unix socket,
// and tapyard moves frames straight between those rings and its other ports. Queue 0 is the
// guest's receive queue (tapyard writes it), queue 1 its transmit queue (tapyard reads it).
// The kicks (the guest says "look at the ring") are eventfds polled on the loop like every
// other port's fd; the calls (tapyard interrupts the guest) are written once per batch, unless
// the guest asked not to be interrupted. One VM at a time; a VM that goes away takes its
// memory with it (unmapped), and the port waits for the next one on the same socket.

import { chownSync, existsSync } from 'node:fs';
import { constants } from 'node:os';
import { TapyardError } from '../error.js';
import { VNET_HDR_LEN, VNET_HDR_MRG_LEN } from '../frame/vnet.js';
import { Counters } from './counters.js';
import { isErrno, MAX_FRAME, type PollerHandle, TunOffload, tapio, type VhostRingHandle } from './native.js';
import {
  COUNTED,
  DEFAULT_BUDGET,
  HEADROOM,
  maxFrameForMtu,
  type Port,
  type PortListener,
  type RxBatch,
  type SpliceSource,
} from './port.js';
import { removeOwnSocket } from './qemu-peer.js';
import { REDIAL_MS } from './qemu-port-base.js';
import { SpliceLink } from './splice-link.js';
import { GuestMemory, type MemoryRegion } from './vhost-memory.js';
import {
  encodeReply,
  HEADER_BYTES,
  type Header,
  HeaderFlag,
  MAX_REGIONS,
  parseHeader,
  parseMessage,
  type RegionSpec,
  requestName,
  statePayload,
  u64Payload,
  type VhostMessage,
  VhostRequest,
} from './vhost-message.js';
import { NetQueues, TxTake } from './vhost-net.js';
import { MAX_QUEUE_SIZE, type RingAddresses, Virtqueue } from './virtqueue.js';

export interface VhostUserConfig {
  readonly kind: 'vhost-user';
  readonly name: string;
  /** The unix socket: tapyard listens on it, or with `client` connects to QEMU's (server=on). */
  readonly path: string;
  readonly client: boolean;
  /**
   * Offer the guest checksum and TCP segmentation offload both ways (CSUM, HOST_TSO4/6,
   * GUEST_CSUM, GUEST_TSO4/6): its GSO frames reach the other ports whole, with their header.
   */
  readonly offload: boolean;
}

/** Feature bits (virtio 1.x, include/uapi/linux/virtio_net.h, vhost-user.rst). */
export const Feature = {
  CSUM: 0n,
  GUEST_CSUM: 1n,
  GUEST_TSO4: 7n,
  GUEST_TSO6: 8n,
  HOST_TSO4: 11n,
  HOST_TSO6: 12n,
  MRG_RXBUF: 15n,
  INDIRECT_DESC: 28n,
  EVENT_IDX: 29n,
  PROTOCOL_FEATURES: 30n,
  VERSION_1: 32n,
} as const;
const ProtocolFeature = { REPLY_ACK: 3n } as const;

const bit = (n: bigint) => 1n << n;
/** What tapyard offers every guest's driver. */
const OFFERED =
  bit(Feature.MRG_RXBUF) |
  bit(Feature.INDIRECT_DESC) |
  bit(Feature.EVENT_IDX) |
  bit(Feature.PROTOCOL_FEATURES) |
  bit(Feature.VERSION_1);
/** And with offload=on. */
const OFFERED_OFFLOADS =
  bit(Feature.CSUM) |
  bit(Feature.GUEST_CSUM) |
  bit(Feature.GUEST_TSO4) |
  bit(Feature.GUEST_TSO6) |
  bit(Feature.HOST_TSO4) |
  bit(Feature.HOST_TSO6);

/** Feature bits as TunOffload flags: [checksum, TSO4, TSO6]. */
function tunFlags(features: bigint, csum: bigint, tso4: bigint, tso6: bigint): number {
  const has = (b: bigint) => (features & bit(b)) !== 0n;
  // Segmentation needs the checksum offload too (virtio 1.x §5.1.3.1): without it, none.
  if (!has(csum)) return 0;
  return TunOffload.CSUM | (has(tso4) ? TunOffload.TSO4 : 0) | (has(tso6) ? TunOffload.TSO6 : 0);
}
const OFFERED_PROTOCOL = bit(ProtocolFeature.REPLY_ACK);

const RX = 0;
const TX = 1;
const RING_BYTES = 256 * 1024 + HEADROOM + MAX_FRAME;
/** Reads of the socket per wake-up (a message takes one or two). */
const MESSAGE_READS_PER_TURN = 128;
/** The frame is refused: no VM, or its receive queue is not running. */
const ENOTCONN = constants.errno.ENOTCONN;

/** What happened to the VM side, beside the frame counters. */
export interface VhostPeerCounters {
  connections: number;
  disconnects: number;
  /** Connections refused because a VM was already attached. */
  refused: number;
  /** Messages refused (malformed, or a request tapyard does not serve). */
  refusedMessages: number;
  /** Rings stopped because the guest broke them. */
  brokenRings: number;
  /** Receive buffers the guest offered malformed (returned unused; no frame was lost). */
  badRxBuffers: number;
}

/** One virtqueue and what the front-end told tapyard about it. */
class Queue {
  readonly ring = new Virtqueue();
  addresses: RingAddresses | null = null;
  kick = -1;
  call = -1;
  err = -1;
  kickPoller: PollerHandle | null = null;
  /** A kick fd arrived (the ring is started) and GET_VRING_BASE has not stopped it since. */
  started = false;
  enabled = false;
  /** The guest broke this ring, and it was said. */
  brokenSaid = false;
}

export class VhostUserPort implements Port {
  readonly kind = 'vhost-user' as const;
  readonly name: string;
  readonly device: string;
  readonly counters = new Counters();
  readonly peer: VhostPeerCounters = {
    connections: 0,
    disconnects: 0,
    refused: 0,
    refusedMessages: 0,
    brokenRings: 0,
    badRxBuffers: 0,
  };
  /** Frames cross the port with a 10-byte virtio_net_hdr; the guest's 12-byte one is converted. */
  readonly hdrLen = VNET_HDR_LEN;
  readonly mac = null;
  readonly maxFrame = maxFrameForMtu(1500);
  readonly offload: boolean;
  readonly ready: Promise<void>;
  private readonly offered: bigint;

  private readonly listenFd: number = -1;
  private listenPoller: PollerHandle | null = null;
  private conn = -1;
  private connPoller: PollerHandle | null = null;
  private listener: PortListener | null = null;
  private readonly batch: RxBatch;
  private queues: [Queue, Queue] = [new Queue(), new Queue()];
  private memory: GuestMemory | null = null;
  private mapped: ArrayBuffer[] = [];
  private features = 0n;
  private protocolFeatures = 0n;
  /** The frames' shape the guest negotiated, and the walk over its queues. */
  private net = new NetQueues({ guestHdr: VNET_HDR_LEN, mergeable: false });
  // A message being read: its header, then its payload; the fds that came so far.
  private readonly inbox = new Uint8Array(HEADER_BYTES + 4096);
  private readonly fdCells = new Int32Array(MAX_REGIONS);
  private have = 0;
  private header: Header | null = null;
  private inFds: number[] = [];
  private reading = true;
  /** Busy polling: the loop calls pollOnce() on every turn, and the guest need never kick. */
  private busy = false;
  private wantWritable = false;
  private turnScheduled = false;
  private closed = false;
  private redial: NodeJS.Timeout | null = null;
  /** Where the transmit ring is spliced (the addon walks it), and who splices into the receive ring. */
  private readonly splice = new SpliceLink();
  private saidWaiting = false;
  private readonly said = new Set<string>();

  constructor(
    private readonly config: VhostUserConfig,
    readonly budget: number,
    private readonly warn: (sentence: string) => void,
  ) {
    this.name = config.name;
    this.device = `vhost-user ${config.path}`;
    this.offload = config.offload;
    this.offered = config.offload ? OFFERED | OFFERED_OFFLOADS : OFFERED;
    this.batch = {
      buf: new Uint8Array(RING_BYTES),
      offsets: new Uint32Array(budget),
      lengths: new Int32Array(budget),
      count: 0,
    };
    if (config.client) {
      this.ready = Promise.resolve();
      return;
    }
    try {
      this.listenFd = tapio().unixListen(config.path);
    } catch (err) {
      const why = isErrno(err) ? err.code : String(err);
      throw new TapyardError('EVHOSTSOCK', `port ${this.name}: cannot listen on ${config.path} (${why})`);
    }
    this.ready = Promise.resolve();
  }

  start(listener: PortListener): void {
    this.listener = listener;
    // No guest yet: the other devices hand over no offloaded frames until one negotiates them.
    listener.onGuestOffloads?.(this, 0);
    if (this.config.client) {
      this.dial();
      return;
    }
    const poller = new (tapio().Poller)(this.listenFd, () => this.acceptAll());
    poller.start(true, false);
    this.listenPoller = poller;
  }

  setReading(on: boolean): void {
    if (this.reading === on) return;
    this.reading = on;
    this.arm();
    if (on) this.scheduleTurn();
  }

  enterBusyPoll(): void {
    this.busy = true;
    this.arm();
  }

  /** One turn of the guest's transmit queue, from a busy-polling loop. */
  pollOnce(): void {
    this.txTurn();
  }

  setWantWritable(on: boolean): void {
    if (this.wantWritable === on) return;
    this.wantWritable = on;
    this.arm();
    if (!on) return;
    const ring = this.queues[RX].ring;
    // The guest's next receive buffer brings a kick; one it added before it saw that wish brings
    // none, so the ring is looked at once more. Nothing will ever make room while no ring runs:
    // the loop hears at once, and send() refuses.
    ring.wantKicks(true);
    if (!ring.running || ring.pending() > this.net.roomWhenFull) setImmediate(() => this.writable());
  }

  /** Frames to the guest: each into as many receive buffers as it needs (MRG_RXBUF), or one. */
  send(buf: Uint8Array, offsets: Uint32Array, lengths: Uint32Array, count: number, status: Int32Array): number {
    const q = this.queues[RX];
    const ring = q.ring;
    const net = this.net;
    let done = 0;
    for (; done < count; done++) {
      const outcome = ring.running ? net.give(ring, buf, offsets[done]!, lengths[done]!) : 'broken';
      if (outcome === 'full') break;
      if (outcome === null) {
        status[done] = 0;
      } else if (outcome === 'broken') {
        status[done] = ENOTCONN;
      } else {
        this.counters.drop(outcome);
        status[done] = COUNTED;
      }
    }
    if (net.badRxBuffers > 0) {
      this.peer.badRxBuffers += net.badRxBuffers;
      net.badRxBuffers = 0;
      this.sayOnce(`port ${this.name}: the guest offered a malformed receive buffer (${net.badRxReason})`);
    }
    if (ring.publish()) this.call(q);
    if (ring.broken !== null) this.ringBroke(q);
    return done;
  }

  /**
   * A plain cross-connect with an fd port: the guest's transmit ring is walked by the addon on each
   * kick and written to the peer (tapio.c vr_take_to), and the peer's splice writes into the
   * receive ring (vr_give). Either leaves what it cannot finish whole to the walk here.
   */
  spliceTo(peer: Port | null, peerFilter: Uint8Array | null = null): boolean {
    if (peer !== null && (peer.spliceEgress === undefined || peer.hdrLen !== this.hdrLen)) return false;
    this.splice.connect(this, peer, peerFilter);
    this.applySplice();
    return true;
  }

  acceptSplice(source: SpliceSource | null): void {
    this.splice.from = source;
  }

  spliceRing(): VhostRingHandle | null {
    return this.closed ? null : this.queues[RX].ring.native();
  }

  /** The transmit ring's leg: the addon walks it while it runs and the peer can take frames. */
  applySplice(): void {
    const q = this.queues[TX];
    const poller = q.kickPoller;
    if (poller === null) return;
    const egress = this.closed ? null : (this.splice.into?.spliceEgress?.() ?? null);
    const ring = egress === null ? null : q.ring.native();
    if (egress === null || ring === null) poller.setSplice(-1);
    else
      poller.setRingSource(
        ring,
        this.budget,
        egress.fd,
        egress.maxFrame,
        this.counters.spliced,
        egress.spliced,
        egress.guard,
        this.splice.filter,
      );
  }

  /** A ring started, stopped or broke: both legs of a splice follow it. */
  private resplice(): void {
    this.applySplice();
    this.splice.from?.applySplice();
  }

  /** Give the listening socket to this user (--user): mode 0600 lets only them, and root, connect. */
  ownSocket(uid: number, gid: number): void {
    if (this.listenFd >= 0) chownSync(this.config.path, uid, gid);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.redial !== null) clearTimeout(this.redial);
    this.detach();
    this.splice.connect(this, null, null);
    this.listenPoller?.close();
    if (this.listenFd >= 0) {
      tapio().close(this.listenFd);
      // The socket file is ours: remove it, as QEMU removes its own server sockets.
      removeOwnSocket(this.config.path);
    }
  }

  // --- the connection -----------------------------------------------------------------------

  private acceptAll(): void {
    for (;;) {
      let fd: number;
      try {
        fd = tapio().acceptConn(this.listenFd);
      } catch (err) {
        this.warn(`port ${this.name}: accepting on ${this.config.path} failed (${isErrno(err) ? err.code : err})`);
        return;
      }
      if (fd < 0) return;
      if (this.conn >= 0 || this.closed) {
        this.peer.refused++;
        this.warn(`port ${this.name}: a second VM connected to ${this.config.path} while one is attached; refused`);
        tapio().close(fd);
        continue;
      }
      this.attach(fd);
    }
  }

  private dial(): void {
    this.redial = null;
    if (this.closed) return;
    let fd = -1;
    try {
      fd = tapio().unixConnect(this.config.path);
    } catch (err) {
      const why = isErrno(err) ? err.code : String(err);
      if (!this.saidWaiting) this.warn(`port ${this.name}: cannot connect to ${this.config.path} (${why})`);
      this.saidWaiting = true;
    }
    if (fd >= 0) {
      this.saidWaiting = false;
      this.attach(fd);
      return;
    }
    if (!this.saidWaiting) {
      this.saidWaiting = true;
      this.warn(`port ${this.name}: QEMU is not listening on ${this.config.path}; tapyard tries every 0.2 s`);
    }
    this.redial = setTimeout(() => this.dial(), REDIAL_MS);
    this.redial.unref();
  }

  private attach(fd: number): void {
    this.peer.connections++;
    this.said.clear();
    this.conn = fd;
    const poller = new (tapio().Poller)(fd, () => this.readMessages());
    poller.start(true, false);
    this.connPoller = poller;
  }

  /** The VM went away (or is sent away): everything it gave is released. */
  private lost(why: string | null): void {
    if (this.conn < 0) return;
    this.peer.disconnects++;
    this.detach();
    if (this.closed) return;
    const next = this.config.client
      ? `dialling ${this.config.path} again`
      : `waiting for the next on ${this.config.path}`;
    this.warn(`port ${this.name}: ${why ?? 'the VM went away'}; ${next}`);
    if (this.config.client) this.dial();
    // Frames the loop held for the guest go out (refused, counted) rather than wait forever.
    this.writable();
  }

  private detach(): void {
    this.connPoller?.close();
    this.connPoller = null;
    if (this.conn >= 0) tapio().close(this.conn);
    this.conn = -1;
    this.have = 0;
    this.header = null;
    this.closeFds(this.inFds);
    this.inFds = [];
    for (const q of this.queues) this.releaseQueue(q);
    this.queues = [new Queue(), new Queue()];
    this.unmap();
    this.features = 0n;
    this.protocolFeatures = 0n;
    this.net = new NetQueues({ guestHdr: VNET_HDR_LEN, mergeable: false });
    this.resplice();
    if (!this.closed) this.listener?.onGuestOffloads?.(this, 0);
  }

  private releaseQueue(q: Queue): void {
    q.ring.stop();
    // The addon must not signal a call fd number that is closed (it could be reused at once).
    q.ring.callFd = -1;
    q.kickPoller?.close();
    q.kickPoller = null;
    for (const fd of [q.kick, q.call, q.err]) if (fd >= 0) tapio().close(fd);
    q.kick = q.call = q.err = -1;
  }

  private unmap(): void {
    for (const q of this.queues) q.ring.stop();
    this.memory = null;
    for (const buffer of this.mapped) tapio().unmapShared(buffer);
    this.mapped = [];
  }

  /** Read what the socket has: whole messages are handled as they complete. */
  private readMessages(): void {
    const io = tapio();
    // A front-end that never stops sending still lets the loop turn: the poll wakes us again.
    for (let reads = 0; this.conn >= 0 && reads < MESSAGE_READS_PER_TURN; reads++) {
      const want = this.header === null ? HEADER_BYTES - this.have : HEADER_BYTES + this.header.size - this.have;
      let got: number;
      try {
        got = want === 0 ? 0 : io.recvFds(this.conn, this.inbox, this.have, want, this.fdCells);
      } catch (err) {
        // A QEMU killed with bytes unread by it resets the connection: it went away like any other.
        this.lost(isErrno(err, 'ECONNRESET') ? null : `the VM's socket failed (${isErrno(err) ? err.code : err})`);
        return;
      }
      if (got < 0) return;
      for (const fd of this.fdCells) if (fd >= 0) this.inFds.push(fd);
      if (got === 0 && want > 0) {
        this.lost(null);
        return;
      }
      this.have += got;
      if (this.header === null) {
        if (this.have < HEADER_BYTES) continue;
        const header = parseHeader(this.inbox);
        if (typeof header === 'string') {
          this.peer.refusedMessages++;
          this.lost(`the VM sent a message tapyard cannot read: ${header}; the connection is closed`);
          return;
        }
        this.header = header;
      }
      if (this.have < HEADER_BYTES + this.header.size) continue;
      const header = this.header;
      const fds = this.inFds;
      this.header = null;
      this.have = 0;
      this.inFds = [];
      this.handle(header, fds);
    }
  }

  private handle(header: Header, fds: number[]): void {
    const payload = this.inbox.subarray(HEADER_BYTES, HEADER_BYTES + header.size);
    const { message, unused } = parseMessage(header, payload, fds);
    this.closeFds(unused);
    let failure: string | null;
    let reply: Uint8Array | null = null;
    if (typeof message === 'string') {
      failure = message;
    } else {
      const outcome = this.apply(message);
      failure = typeof outcome === 'string' ? outcome : null;
      if (outcome instanceof Uint8Array) reply = outcome;
    }
    if (failure !== null) {
      this.peer.refusedMessages++;
      this.sayOnce(`port ${this.name}: refused ${requestName(header.request)}: ${failure}`);
    }
    const ackWanted =
      (header.flags & HeaderFlag.NEED_REPLY) !== 0 && (this.protocolFeatures & bit(ProtocolFeature.REPLY_ACK)) !== 0n;
    if (reply !== null) this.reply(header.request, reply);
    else if (ackWanted || (failure !== null && (header.flags & HeaderFlag.NEED_REPLY) !== 0))
      this.reply(header.request, u64Payload(failure === null ? 0n : 1n));
  }

  /** What a message does: a reply's payload, a sentence when it is refused, or null. */
  private apply(m: VhostMessage): Uint8Array | string | null {
    switch (m.type) {
      case 'bare':
        if (m.request === VhostRequest.GET_FEATURES) return u64Payload(this.offered);
        if (m.request === VhostRequest.GET_PROTOCOL_FEATURES) return u64Payload(OFFERED_PROTOCOL);
        if (m.request === VhostRequest.GET_QUEUE_NUM) return u64Payload(1n);
        if (m.request === VhostRequest.RESET_OWNER) this.resetRings();
        return null; // SET_OWNER: the connection is the owner.
      case 'u64':
        if ((m.value & ~(m.request === VhostRequest.SET_FEATURES ? this.offered : OFFERED_PROTOCOL)) !== 0n)
          return `it asks for features tapyard did not offer (0x${m.value.toString(16)})`;
        if (m.request === VhostRequest.SET_PROTOCOL_FEATURES) this.protocolFeatures = m.value;
        else this.setFeatures(m.value);
        return null;
      case 'state':
        return this.vringState(m.request, m.index, m.num);
      case 'addr': {
        const q = this.queue(m.index);
        if (q === null) return `there is no queue ${m.index}`;
        q.addresses = { desc: m.desc, avail: m.avail, used: m.used };
        return this.refresh(q);
      }
      case 'file':
        return this.vringFile(m.request, m.index, m.fd);
      case 'memory':
        return this.setMemory(m.regions);
      case 'unknown':
        return 'tapyard does not serve that request';
    }
  }

  private setFeatures(value: bigint): void {
    this.features = value;
    const v1 = (value & bit(Feature.VERSION_1)) !== 0n;
    const mergeable = (value & bit(Feature.MRG_RXBUF)) !== 0n;
    const toGuest = tunFlags(value, Feature.GUEST_CSUM, Feature.GUEST_TSO4, Feature.GUEST_TSO6);
    const fromGuest = tunFlags(value, Feature.CSUM, Feature.HOST_TSO4, Feature.HOST_TSO6);
    const guestHdr = v1 || mergeable ? VNET_HDR_MRG_LEN : VNET_HDR_LEN;
    this.net = new NetQueues({ guestHdr, mergeable, toGuest, fromGuest });
    // For the addon's walk: what may go into the guest, and what it may send (the wire's own
    // maxFrame bounds that, read from its cell).
    this.queues[RX].ring.shape({ guestHdr, mergeable, offloads: toGuest, maxFrame: this.maxFrame });
    this.queues[TX].ring.shape({ guestHdr, mergeable, offloads: fromGuest, maxFrame: MAX_FRAME });
    this.listener?.onGuestOffloads?.(this, toGuest);
    for (const q of this.queues) {
      q.ring.indirectAllowed = (value & bit(Feature.INDIRECT_DESC)) !== 0n;
      q.ring.eventIdx = (value & bit(Feature.EVENT_IDX)) !== 0n;
    }
  }

  private vringState(request: number, index: number, num: number): Uint8Array | string | null {
    const q = this.queue(index);
    if (q === null) return `there is no queue ${index}`;
    switch (request) {
      case VhostRequest.SET_VRING_NUM:
        if (num === 0 || num > MAX_QUEUE_SIZE || (num & (num - 1)) !== 0)
          return `a queue of ${num} is not a power of 2`;
        q.ring.size = num;
        // A running ring is checked again for its new size (its tables must still fit in memory).
        return this.refresh(q);
      case VhostRequest.SET_VRING_BASE:
        q.ring.lastAvail = num & 0xffff;
        return this.refresh(q);
      case VhostRequest.GET_VRING_BASE: {
        // Stops the ring: the front-end reads where it is, to start it again (or elsewhere) later.
        q.started = false;
        q.enabled = false;
        this.releaseQueue(q);
        this.resplice();
        return statePayload(index, q.ring.lastAvail);
      }
      default: // SET_VRING_ENABLE
        q.enabled = num !== 0;
        return this.refresh(q);
    }
  }

  private vringFile(request: number, index: number, fd: number | null): string | null {
    const q = this.queue(index);
    if (q === null) {
      if (fd !== null) tapio().close(fd);
      return `there is no queue ${index}`;
    }
    if (request === VhostRequest.SET_VRING_KICK) {
      q.kickPoller?.close();
      q.kickPoller = null;
      if (q.kick >= 0) tapio().close(q.kick);
      q.kick = fd ?? -1;
      if (fd === null) return 'a queue without a kick fd (polled) is not supported';
      const queue = q;
      q.kickPoller = new (tapio().Poller)(fd, () => this.kicked(queue));
      q.started = true;
      if ((this.features & bit(Feature.PROTOCOL_FEATURES)) === 0n) q.enabled = true;
      return this.refresh(q);
    }
    const old = request === VhostRequest.SET_VRING_CALL ? q.call : q.err;
    if (request === VhostRequest.SET_VRING_CALL) {
      q.call = fd ?? -1;
      q.ring.callFd = q.call;
    } else {
      q.err = fd ?? -1;
    }
    if (old >= 0) tapio().close(old);
    return null;
  }

  private setMemory(regions: RegionSpec[]): string | null {
    this.unmap();
    const mapped: MemoryRegion[] = [];
    let failure: string | null = null;
    for (const r of regions) {
      if (failure === null) {
        try {
          const buffer = tapio().mapShared(r.fd, r.size, r.mmapOffset);
          this.mapped.push(buffer);
          mapped.push({ guestPhys: r.guestPhys, size: r.size, userAddr: r.userAddr, bytes: new Uint8Array(buffer) });
        } catch (err) {
          failure = `region at guest 0x${r.guestPhys.toString(16)} cannot be mapped (${isErrno(err) ? err.code : err})`;
        }
      }
      // The mapping keeps the memory; the fd is not needed any more.
      tapio().close(r.fd);
    }
    if (failure !== null) {
      this.unmap();
      return failure;
    }
    this.memory = new GuestMemory(mapped);
    for (const q of this.queues) {
      const sentence = this.refresh(q);
      if (sentence !== null) return sentence;
    }
    return null;
  }

  private resetRings(): void {
    for (const q of this.queues) this.releaseQueue(q);
    this.queues = [new Queue(), new Queue()];
    this.features = 0n;
    this.setFeatures(0n);
    this.resplice();
  }

  private queue(index: number): Queue | null {
    return index === RX || index === TX ? this.queues[index] : null;
  }

  /** Start or stop a ring as the front-end's settings now say; a sentence when it cannot start. */
  private refresh(q: Queue): string | null {
    const memory = this.memory;
    const addresses = q.addresses;
    if (memory === null || addresses === null || !q.started || !q.enabled) {
      q.ring.stop();
      this.arm();
      this.resplice();
      return null;
    }
    if (q.ring.running) q.ring.stop();
    q.brokenSaid = false;
    const sentence = q.ring.start(memory, addresses);
    this.arm();
    this.resplice();
    if (sentence !== null) return `queue ${q === this.queues[RX] ? RX : TX}: ${sentence}`;
    if (q === this.queues[TX]) this.scheduleTurn();
    else this.writable();
    return null;
  }

  private reply(request: number, payload: Uint8Array): void {
    const message = encodeReply(request, payload);
    let sent = -1;
    try {
      sent = tapio().sendAll(this.conn, message, message.byteLength);
    } catch (err) {
      this.lost(`the VM's socket failed on a reply (${isErrno(err) ? err.code : err})`);
      return;
    }
    if (sent !== message.byteLength) this.lost('the VM does not read its replies');
  }

  // --- the rings ----------------------------------------------------------------------------

  /**
   * The one place the kicks' polling is armed (the listening socket and the connection are always
   * polled): the transmit ring's while the loop reads this port and does not busy-poll it (then
   * pollOnce looks at the ring instead), the receive ring's while the loop waits for room in it.
   */
  private arm(): void {
    if (this.closed) return;
    const [rx, tx] = this.queues;
    tx.kickPoller?.start(this.reading && !this.busy && tx.ring.running, false);
    rx.kickPoller?.start(this.wantWritable && rx.ring.running, false);
  }

  private kicked(q: Queue): void {
    if (q.kick < 0) return;
    tapio().eventfdRead(q.kick);
    if (q === this.queues[TX]) this.txTurn();
    else this.writable();
  }

  private scheduleTurn(): void {
    if (this.turnScheduled || this.closed) return;
    this.turnScheduled = true;
    setImmediate(() => {
      this.turnScheduled = false;
      this.txTurn();
    });
  }

  /** One turn of the guest's transmit queue: up to a budget of frames, as one batch. */
  private txTurn(): void {
    const q = this.queues[TX];
    const ring = q.ring;
    if (!this.reading || !ring.running || this.listener === null) return;
    const { buf, offsets, lengths } = this.batch;
    const net = this.net;
    let count = 0;
    let fill = 0;
    let more = false;
    while (count < offsets.length) {
      const at = fill + HEADROOM;
      const got = net.take(ring, buf, at, buf.length - at, MAX_FRAME);
      if (got === TxTake.DROPPED) {
        // A frame the guest sent that cannot be read: counted as read and dropped, by its reason.
        this.counters.rx(0);
        this.counters.drop(net.reason!);
        continue;
      }
      if (got < 0) {
        more = got === TxTake.NO_ROOM;
        break;
      }
      offsets[count] = at;
      lengths[count] = got;
      count++;
      fill = at + got;
    }
    if (count === offsets.length) more = true;
    // The frames go to the wire before the guest hears its buffers are back, as QEMU's own
    // backend does (virtio_net_flush_tx): the call wakes QEMU's loop, which on a shared core
    // would otherwise run before the write and put its interrupt ahead of the frame.
    if (count > 0) {
      this.batch.count = count;
      this.listener.onBatch(this, this.batch);
      this.batch.count = 0;
    }
    if (ring.publish()) this.call(q);
    if (ring.broken !== null) {
      this.ringBroke(q);
    } else if (more || this.busy) {
      // Another turn comes at once (busy polling: on the loop's next turn): the guest need not
      // kick for what it adds meanwhile.
      ring.wantKicks(false);
      if (!this.busy) this.scheduleTurn();
    } else {
      ring.wantKicks(true);
      if (ring.pending() > 0) this.scheduleTurn();
    }
  }

  private call(q: Queue): void {
    if (q.call >= 0) tapio().eventfdWrite(q.call);
  }

  /** The guest broke a ring: it stops, with one sentence, until the front-end sets it up again. */
  private ringBroke(q: Queue): void {
    if (q.brokenSaid) return;
    q.brokenSaid = true;
    const which = q === this.queues[RX] ? 'receive' : 'transmit';
    this.peer.brokenRings++;
    this.warn(`port ${this.name}: the guest broke its ${which} queue: ${q.ring.broken}; the queue is stopped`);
    q.ring.stop();
    if (q.err >= 0) tapio().eventfdWrite(q.err);
    this.arm();
    this.resplice();
  }

  private writable(): void {
    if (!this.wantWritable || this.closed || this.listener === null) return;
    this.wantWritable = false;
    this.arm();
    this.listener.onWritable(this);
  }

  private closeFds(fds: readonly number[]): void {
    for (const fd of fds) tapio().close(fd);
  }

  /** A sentence said once per connection kind: a guest that repeats a mistake is not a flood. */
  private sayOnce(sentence: string): void {
    if (this.said.has(sentence)) return;
    this.said.add(sentence);
    this.warn(sentence);
  }
}

export function isVhostUserPort(port: Port): port is VhostUserPort {
  return port instanceof VhostUserPort;
}

export function openVhostUser(
  config: VhostUserConfig,
  budget = DEFAULT_BUDGET,
  warn: (sentence: string) => void = (s) => process.stderr.write(`tapyard: warning: ${s}\n`),
): VhostUserPort {
  // A file tapyard would bind: refused when it exists, as it may be another run's live socket.
  if (!config.client && existsSync(config.path)) {
    throw new TapyardError(
      'EVHOSTSOCK',
      `port ${config.name}: ${config.path} already exists (a stale socket? remove it)`,
    );
  }
  return new VhostUserPort(config, budget, warn);
}
