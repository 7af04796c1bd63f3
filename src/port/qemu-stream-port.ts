// QEMU's stream netdevs (-netdev stream, and the older -netdev socket in stream mode): one byte
// stream to one VM, each frame behind its 4-byte length (qemu-stream.ts). tapyard listens, on a
// unix path or 127.0.0.1:PORT, for QEMU's `server=off` / `socket,connect=`; or, with `connect`,
// dials QEMU's `server=on` / `socket,listen=` and dials again whenever the VM goes away, as QEMU
// itself accepts again after a peer leaves (net_socket_send's end of connection).

import { connect, createServer, type Server, type Socket } from 'node:net';
import { constants } from 'node:os';
import { TapyardError } from '../error.js';
import { tapio } from './native.js';
import { HEADROOM, type Port, type PortListener } from './port.js';
import type { QemuPortConfig } from './qemu.js';
import { bindPrivately, removeOwnSocket } from './qemu-peer.js';
import { QemuPortBase, REDIAL_MS } from './qemu-port-base.js';
import { LENGTH_BYTES, NET_BUFSIZE, StreamDeframer, writeLength } from './qemu-stream.js';

/** Above this many bytes waiting in the socket, send() takes nothing more: the egress is full. */
const HIGH_WATER = 1 << 20;
const RING_BYTES = 256 * 1024 + HEADROOM + NET_BUFSIZE;
const ENOTCONN = constants.errno.ENOTCONN;

export class QemuStreamPort extends QemuPortBase implements Port {
  readonly device: string;
  readonly socketFile: string | null;
  readonly ready: Promise<void>;

  private readonly server: Server | null = null;
  private readonly deframer = new StreamDeframer();
  private socket: Socket | null = null;
  /** A chunk the loop paused in the middle of, and where. */
  private held: { chunk: Buffer; at: number } | null = null;
  private fill = 0;
  /** The port itself ended the connection (bad framing): its end is not a VM going away. */
  private dropping = false;
  private redial: NodeJS.Timeout | null = null;
  /** Said once per wait, not at every attempt. */
  private saidWaiting = false;

  constructor(
    private readonly config: QemuPortConfig,
    budget: number,
    warn: (sentence: string) => void,
  ) {
    super(config, budget, RING_BYTES, warn);
    const where = config.tcp === null ? config.path : `tcp ${config.path}`;
    this.device = `qemu socket ${where}`;
    this.socketFile = config.tcp === null && !config.connect ? config.path : null;
    if (config.connect) {
      // Nothing to wait for: a QEMU that is not listening yet is dialled until it is.
      this.ready = Promise.resolve();
      this.dial();
      return;
    }
    const server = createServer((socket) => this.accept(socket));
    this.server = server;
    this.ready = new Promise((resolve, reject) => {
      server.once('listening', resolve);
      server.once('error', (err: NodeJS.ErrnoException) => {
        const error = new TapyardError(
          'EQEMUSOCK',
          `port ${this.name}: cannot listen on ${config.path} (${err.code ?? err.message})`,
        );
        reject(error);
        if (this.listener !== null) this.listener.onFatal(this, error);
      });
    });
    this.ready.catch(() => undefined);
    if (config.tcp === null) bindPrivately(config.path, () => server.listen(config.path));
    else server.listen(config.tcp.port, config.tcp.host);
  }

  start(listener: PortListener): void {
    this.listener = listener;
  }

  setReading(on: boolean): void {
    if (this.reading === on) return;
    this.reading = on;
    if (!on) {
      this.socket?.pause();
      return;
    }
    const held = this.held;
    this.held = null;
    if (held !== null) this.consume(held.chunk, held.at);
    if (this.reading && this.held === null) this.socket?.resume();
  }

  setWantWritable(on: boolean): void {
    this.wantWritable = on;
    if (on && (this.socket === null || this.socket.writableLength < HIGH_WATER)) {
      setImmediate(() => this.writable());
    }
  }

  send(buf: Uint8Array, offsets: Uint32Array, lengths: Uint32Array, count: number, status: Int32Array): number {
    const socket = this.socket;
    if (socket === null) {
      // No VM attached: the frames are refused one by one, and the loop counts them (tx-ENOTCONN).
      status.fill(ENOTCONN, 0, count);
      return count;
    }
    if (socket.writableLength >= HIGH_WATER) return 0;
    let bytes = 0;
    for (let i = 0; i < count; i++) bytes += LENGTH_BYTES + lengths[i]!;
    const out = Buffer.allocUnsafe(bytes);
    let at = 0;
    for (let i = 0; i < count; i++) {
      const length = lengths[i]!;
      writeLength(out, at, length);
      out.set(buf.subarray(offsets[i]!, offsets[i]! + length), at + LENGTH_BYTES);
      at += LENGTH_BYTES + length;
      status[i] = 0;
    }
    socket.write(out);
    return count;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.redial !== null) clearTimeout(this.redial);
    this.socket?.destroy();
    this.socket = null;
    if (this.server === null) return;
    this.server.close();
    // The socket file is ours: remove it, as QEMU removes its own server sockets.
    if (this.config.tcp === null) removeOwnSocket(this.config.path, (s) => this.warn(`port ${this.name}: ${s}`));
  }

  /** Connect to QEMU's listening socket; try again every REDIAL_MS while it is not there. */
  private dial(): void {
    this.redial = null;
    if (this.closed) return;
    const { tcp, path } = this.config;
    const socket = tcp === null ? connect(path) : connect(tcp.port, tcp.host);
    let attached = false;
    socket.once('connect', () => {
      attached = true;
      this.saidWaiting = false;
      this.attach(socket);
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (attached || this.saidWaiting || this.closed) return;
      this.saidWaiting = true;
      this.warn(`port ${this.name}: QEMU is not listening on ${path} (${err.code}); tapyard tries every 0.2 s`);
    });
    socket.once('close', () => {
      if (!attached) this.redialLater();
    });
  }

  private redialLater(): void {
    if (this.closed || this.redial !== null) return;
    this.redial = setTimeout(() => this.dial(), REDIAL_MS);
    this.redial.unref();
  }

  private accept(socket: Socket): void {
    if (this.closed) {
      socket.destroy();
      return;
    }
    const stranger = this.stranger(socket);
    if (stranger !== null) {
      this.peer.refused++;
      this.warn(`port ${this.name}: ${stranger} connected to ${this.config.path}; it was refused`);
      socket.destroy();
      return;
    }
    if (this.socket !== null) {
      this.peer.refused++;
      this.warn(
        `port ${this.name}: a second VM connected to ${this.config.path} while one is attached; it was refused`,
      );
      socket.destroy();
      return;
    }
    this.attach(socket);
  }

  /**
   * Who, on a unix socket, is neither root nor this process's own user (root, or --user once
   * given), described; null for a peer that may attach. The file's mode keeps others out already:
   * this holds when it was changed, or when a peer was let in before.
   */
  private stranger(socket: Socket): string | null {
    if (this.config.tcp !== null) return null;
    const fd = (socket as unknown as { _handle?: { fd?: number } })._handle?.fd;
    if (fd === undefined || fd < 0) return 'a peer whose user cannot be known';
    const uid = tapio().peerUid(fd);
    const own = process.geteuid?.() ?? 0;
    return uid === 0 || uid === own ? null : `a process of uid ${uid} (neither root nor uid ${own})`;
  }

  private attach(socket: Socket): void {
    this.peer.connections++;
    this.socket = socket;
    this.deframer.reset();
    // QEMU turns Nagle off on its side too (net_socket_fd_init_stream): a frame is not held back.
    if (this.config.tcp !== null) socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.consume(chunk, 0));
    socket.on('drain', () => this.writable());
    socket.on('error', () => undefined);
    socket.on('close', () => this.lost(socket));
    if (!this.reading) socket.pause();
  }

  private lost(socket: Socket): void {
    if (this.socket !== socket) return;
    this.socket = null;
    this.held = null;
    this.fill = 0;
    if (this.closed) return;
    const next = this.config.connect
      ? `dialling ${this.config.path} again`
      : `waiting for the next on ${this.config.path}`;
    if (!this.dropping) {
      this.peer.disconnects++;
      const cut = this.deframer.pendingBytes;
      this.peer.partialBytes += cut;
      const partial = cut > 0 ? ` (${cut} bytes of a frame cut short)` : '';
      this.warn(`port ${this.name}: the VM went away${partial}; ${next}`);
    }
    this.dropping = false;
    this.deframer.reset();
    if (this.config.connect) this.redialLater();
    // Frames the loop held for this egress go out (refused, counted) rather than wait forever.
    this.writable();
  }

  /** Deframe a chunk into the ring, one batch at a time; stop where the loop pauses. */
  private consume(chunk: Buffer, from: number): void {
    const result = this.deframer.push(chunk, from, (bytes, start, end) => this.take(bytes, start, end));
    if (typeof result === 'string') {
      this.peer.malformed++;
      const next = this.config.connect ? 'tapyard dials again' : 'the port waits for the next';
      this.warn(`port ${this.name}: ${result}; that connection is closed, ${next}`);
      this.fill = 0;
      this.batch.count = 0;
      this.dropping = true;
      this.socket?.destroy();
      return;
    }
    if (result < chunk.length) {
      this.held = { chunk, at: result };
      this.socket?.pause();
      return;
    }
    this.flush();
  }

  /** Copy one frame into the ring; deliver the batch when it is full. False: the loop paused. */
  private take(bytes: Uint8Array, start: number, end: number): boolean {
    const { buf, offsets, lengths } = this.batch;
    const n = this.batch.count;
    offsets[n] = this.fill + HEADROOM;
    lengths[n] = end - start;
    buf.set(bytes.subarray(start, end), this.fill + HEADROOM);
    this.fill += HEADROOM + (end - start);
    this.batch.count = n + 1;
    if (this.batch.count === offsets.length || RING_BYTES - this.fill < HEADROOM + NET_BUFSIZE) this.flush();
    return this.reading;
  }

  private flush(): void {
    if (this.batch.count === 0) return;
    this.listener?.onBatch(this, this.batch);
    this.batch.count = 0;
    this.fill = 0;
  }

  private writable(): void {
    if (!this.wantWritable || this.closed) return;
    this.wantWritable = false;
    this.listener?.onWritable(this);
  }
}
