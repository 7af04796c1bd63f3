// A QEMU VM's NIC as a port: tapyard listens on a unix socket and QEMU connects to it with
// `-netdev stream,id=n0,server=off,addr.type=unix,addr.path=PATH` (or the older
// `-netdev socket,connect=`). One VM at a time; a VM that goes away is counted and the port waits
// for the next one; a stream that breaks the framing is closed with one sentence, not the process.

import { existsSync, lstatSync, unlinkSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { constants } from 'node:os';
import { TapyardError } from '../error.js';
import { Counters } from './counters.js';
import { DEFAULT_BUDGET, HEADROOM, maxFrameForMtu, type Port, type PortListener, type RxBatch } from './port.js';
import { LENGTH_BYTES, NET_BUFSIZE, StreamDeframer, writeLength } from './qemu-stream.js';

export interface QemuPortConfig {
  readonly kind: 'qemu';
  readonly name: string;
  /** The unix socket tapyard listens on; QEMU connects to it. */
  readonly path: string;
  readonly protocol: 'stream';
}

/** What happened to the VM side of the socket, beside the frame counters. */
export interface QemuPeerCounters {
  connections: number;
  /** Peers that went away (QEMU quit or was killed). */
  disconnects: number;
  /** Connections refused because a VM was already attached. */
  refused: number;
  /** Connections closed for a broken length. */
  malformed: number;
  /** Bytes of a frame cut short when its peer went away. */
  partialBytes: number;
}

/** Above this many bytes waiting in the socket, send() takes nothing more: the egress is full. */
const HIGH_WATER = 1 << 20;
const RING_BYTES = 256 * 1024 + HEADROOM + NET_BUFSIZE;
const ENOTCONN = constants.errno.ENOTCONN;

export class QemuPort implements Port {
  readonly kind = 'qemu' as const;
  readonly device: string;
  readonly counters = new Counters();
  readonly peer: QemuPeerCounters = { connections: 0, disconnects: 0, refused: 0, malformed: 0, partialBytes: 0 };
  readonly hdrLen = 0;
  readonly mac = null;
  /** The guest's virtio-net has MTU 1500 unless told otherwise. */
  readonly maxFrame = maxFrameForMtu(1500);
  readonly offload = false;
  readonly ready: Promise<void>;

  private readonly server: Server;
  private readonly deframer = new StreamDeframer();
  private readonly batch: RxBatch;
  private socket: Socket | null = null;
  private listener: PortListener | null = null;
  /** A chunk the loop paused in the middle of, and where. */
  private held: { chunk: Buffer; at: number } | null = null;
  private fill = 0;
  /** The port itself ended the connection (bad framing): its end is not a VM going away. */
  private dropping = false;
  private reading = true;
  private wantWritable = false;
  private closed = false;

  constructor(
    readonly name: string,
    readonly path: string,
    readonly budget: number,
    private readonly warn: (sentence: string) => void,
  ) {
    this.device = `qemu socket ${path}`;
    this.batch = {
      buf: new Uint8Array(RING_BYTES),
      offsets: new Uint32Array(budget),
      lengths: new Int32Array(budget),
      count: 0,
    };
    this.server = createServer((socket) => this.accept(socket));
    this.ready = new Promise((resolve, reject) => {
      this.server.once('listening', resolve);
      this.server.once('error', (err: NodeJS.ErrnoException) => {
        const error = new TapyardError(
          'EQEMUSOCK',
          `port ${name}: cannot listen on ${path} (${err.code ?? err.message})`,
        );
        reject(error);
        if (this.listener !== null) this.listener.onFatal(this, error);
      });
    });
    this.ready.catch(() => undefined);
    this.server.listen(path);
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
    this.socket?.destroy();
    this.socket = null;
    this.server.close();
    // The socket file is ours: remove it, as QEMU removes its own server sockets.
    if (isSocket(this.path)) unlinkSync(this.path);
  }

  private accept(socket: Socket): void {
    if (this.closed) {
      socket.destroy();
      return;
    }
    if (this.socket !== null) {
      this.peer.refused++;
      this.warn(`port ${this.name}: a second VM connected to ${this.path} while one is attached; it was refused`);
      socket.destroy();
      return;
    }
    this.peer.connections++;
    this.socket = socket;
    this.deframer.reset();
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
    if (!this.dropping) {
      this.peer.disconnects++;
      const cut = this.deframer.pendingBytes;
      this.peer.partialBytes += cut;
      const partial = cut > 0 ? ` (${cut} bytes of a frame cut short)` : '';
      this.warn(`port ${this.name}: the VM went away${partial}; waiting for the next on ${this.path}`);
    }
    this.dropping = false;
    this.deframer.reset();
    // Frames the loop held for this egress go out (refused, counted) rather than wait forever.
    this.writable();
  }

  /** Deframe a chunk into the ring, one batch at a time; stop where the loop pauses. */
  private consume(chunk: Buffer, from: number): void {
    const result = this.deframer.push(chunk, from, (bytes, start, end) => this.take(bytes, start, end));
    if (typeof result === 'string') {
      this.peer.malformed++;
      this.warn(`port ${this.name}: ${result}; that connection is closed, the port waits for the next`);
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

function isSocket(path: string): boolean {
  try {
    return lstatSync(path).isSocket();
  } catch {
    return false;
  }
}

export function openQemu(
  config: QemuPortConfig,
  budget = DEFAULT_BUDGET,
  warn: (sentence: string) => void = (s) => process.stderr.write(`tapyard: warning: ${s}\n`),
): QemuPort {
  if (existsSync(config.path)) {
    throw new TapyardError(
      'EQEMUSOCK',
      `port ${config.name}: ${config.path} already exists (a stale socket? remove it)`,
    );
  }
  return new QemuPort(config.name, config.path, budget, warn);
}
