// QEMU's `-netdev dgram` on unix sockets (net/dgram.c): QEMU binds its local.path and sends each
// frame as one datagram to its remote.path; it reads from anyone. tapyard binds the remote path
// (this port's PATH) and reads it as it reads a tap, a frame per read; it sends from a second
// socket connected to QEMU's local path (peer=), a frame per write. Two sockets, because a
// connected unix datagram socket takes datagrams from its peer only (unix_may_send): one bound and
// connected socket would refuse a restarted QEMU until it was connected again.
//
// No connection means no hang-up: a QEMU that went away is noticed when a frame for it is
// refused (ECONNREFUSED, then ENOTCONN: unix_dgram_sendmsg), counted, and its socket is dialled
// again at most every 0.2 s and whenever a datagram arrives. A full peer queue (EAGAIN) stops
// the other side's reading until poll says the peer's queue has room (unix_dgram_poll).

import { constants } from 'node:os';
import { TapyardError } from '../error.js';
import { errnoName } from './drop.js';
import { isErrno, MAX_FRAME, PollEvent, type PollerHandle, tapio } from './native.js';
import { HEADROOM, type Port, type PortListener } from './port.js';
import type { QemuPortConfig } from './qemu.js';
import { bindPrivately, removeOwnSocket } from './qemu-peer.js';
import { QemuPortBase, REDIAL_MS } from './qemu-port-base.js';

const RING_BYTES = 256 * 1024 + HEADROOM + MAX_FRAME;
const { ECONNREFUSED, ENOTCONN, ENOENT } = constants.errno;

export class QemuDgramPort extends QemuPortBase implements Port {
  readonly device: string;
  readonly socketFile: string;

  private readonly path: string;
  private readonly peerPath: string;
  private readonly recvFd: number;
  private sendFd: number | null = null;
  private recvPoller: PollerHandle | null = null;
  private sendPoller: PollerHandle | null = null;
  /** At most every REDIAL_MS, a QEMU that is not there is dialled again from send(). */
  private lastDial = 0;

  constructor(config: QemuPortConfig, budget: number, warn: (sentence: string) => void) {
    super(config, budget, RING_BYTES, warn);
    this.path = config.path;
    // config/ refuses proto=dgram without peer=; a caller of the library gets the same sentence.
    if (config.peer === null)
      throw new TapyardError('EUSAGE', `port ${config.name}: proto=dgram needs peer=PATH, QEMU's local.path`);
    this.peerPath = config.peer;
    this.socketFile = config.path;
    this.device = `qemu dgram socket ${config.path}`;
    try {
      this.recvFd = bindPrivately(config.path, () => tapio().unixDgram(config.path, null));
    } catch (err) {
      const why = isErrno(err) ? err.code : (err as Error).message;
      throw new TapyardError('EQEMUSOCK', `port ${this.name}: cannot bind ${config.path} (${why})`);
    }
    this.dial();
  }

  start(listener: PortListener): void {
    this.listener = listener;
    const poller = new (tapio().Poller)(this.recvFd, (events, errno, count) => this.onRead(events, errno, count));
    poller.setRing(this.batch.buf, this.batch.offsets, this.batch.lengths, 0, HEADROOM, this.batch.offsets.length);
    this.recvPoller = poller;
    this.armRead();
  }

  setReading(on: boolean): void {
    if (this.reading === on) return;
    this.reading = on;
    this.armRead();
  }

  setWantWritable(on: boolean): void {
    if (this.wantWritable === on) return;
    this.wantWritable = on;
    if (!on) {
      this.sendPoller?.start(false, false);
      return;
    }
    // No socket to wait on: the next send() refuses (and counts) at once, so let it run now.
    if (this.sendPoller === null) setImmediate(() => this.writable());
    else this.sendPoller.start(false, true);
  }

  send(buf: Uint8Array, offsets: Uint32Array, lengths: Uint32Array, count: number, status: Int32Array): number {
    if (this.sendFd === null && Date.now() - this.lastDial >= REDIAL_MS) this.dial();
    const fd = this.sendFd;
    if (fd === null) {
      status.fill(ENOTCONN, 0, count);
      return count;
    }
    const done = tapio().writeBatch(fd, buf, offsets, lengths, count, status);
    for (let i = 0; i < done; i++) {
      const e = status[i]!;
      if (e === ECONNREFUSED || e === ENOTCONN || e === ENOENT) {
        this.gone(errnoName(e));
        break;
      }
    }
    return done;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.recvPoller?.close();
    tapio().close(this.recvFd);
    this.hangUp();
    // The bound path is ours (QEMU unlinks and binds its own local path the same way).
    removeOwnSocket(this.path, (s) => this.warn(`port ${this.name}: ${s}`));
  }

  /** Connect the sending socket to QEMU's path; quietly not, while QEMU is not there. */
  private dial(): void {
    this.lastDial = Date.now();
    if (this.closed || this.sendFd !== null) return;
    let fd: number;
    try {
      fd = tapio().unixDgram(null, this.peerPath);
    } catch {
      return;
    }
    this.sendFd = fd;
    this.peer.connections++;
    this.sendPoller = new (tapio().Poller)(fd, (events) => {
      if ((events & PollEvent.WRITABLE) !== 0) this.writable();
    });
    if (this.wantWritable) this.sendPoller.start(false, true);
  }

  /** The VM's socket refused a frame: it is gone. Counted once; dialled again later. */
  private gone(why: string): void {
    this.peer.disconnects++;
    this.warn(
      `port ${this.name}: the VM went away (${why} from ${this.peerPath}); tapyard sends again when it is back`,
    );
    this.hangUp();
  }

  private hangUp(): void {
    this.sendPoller?.close();
    this.sendPoller = null;
    if (this.sendFd !== null) tapio().close(this.sendFd);
    this.sendFd = null;
  }

  private armRead(): void {
    if (this.recvPoller !== null && !this.closed) this.recvPoller.start(this.reading, false);
  }

  private onRead(_events: number, errno: number, count: number): void {
    if (count > 0) {
      // A datagram from QEMU: it is there, so the way back is dialled now.
      if (this.sendFd === null) this.dial();
      this.batch.count = count;
      this.listener?.onBatch(this, this.batch);
    }
    if (this.closed || errno === 0) return;
    this.close();
    const error = new TapyardError('EDEVGONE', `port ${this.name}: reading ${this.path} failed (${errnoName(errno)})`);
    this.listener?.onFatal(this, error);
  }

  private writable(): void {
    if (!this.wantWritable || this.closed) return;
    this.wantWritable = false;
    this.sendPoller?.start(false, false);
    this.listener?.onWritable(this);
  }
}
