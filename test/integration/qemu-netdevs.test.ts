// The qemu port's other netdevs, spoken directly on real sockets: -netdev dgram on unix datagram
// sockets (net/dgram.c: QEMU binds local.path, sends to remote.path, reads from anyone), and the
// stream framing over TCP on 127.0.0.1 (-netdev socket,connect= / listen=) and with tapyard
// dialling a QEMU that listens (server=on). The kernel's sockets are the oracle for what a
// refused, full or vanished peer looks like.

import { spawnSync } from 'node:child_process';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { constants, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { packageRoot } from '../../src/package-root.js';
import { tapio } from '../../src/port/native.js';
import type { Port, RxBatch } from '../../src/port/port.js';
import { openQemu, type QemuPort, type QemuPortConfig } from '../../src/port/qemu.js';
import { removeOwnSocket } from '../../src/port/qemu-peer.js';

const { ECONNREFUSED, ENOTCONN } = constants.errno;
const run = `${process.pid}-${Math.random().toString(36).slice(2, 7)}`;
const sock = (what: string) => join(tmpdir(), `ty-${run}-${what}.sock`);
const body = (n: number, size = 60) => Buffer.alloc(size, n);
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const until = async (cond: () => boolean, ms = 3000) => {
  for (let t = 0; t < ms && !cond(); t += 10) await new Promise((r) => setTimeout(r, 10));
  return cond();
};

const opened: QemuPort[] = [];
const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const p of opened.splice(0)) p.close();
  for (const c of cleanups.splice(0)) c();
});

function open(config: Partial<QemuPortConfig> & { path: string }) {
  const full = { kind: 'qemu', name: 'vm', tcp: null, protocol: 'stream', connect: false, peer: null } as const;
  const warnings: string[] = [];
  const port = openQemu({ ...full, ...config }, 64, (s) => warnings.push(s));
  opened.push(port);
  const got: string[] = [];
  let writable = 0;
  port.start({
    onBatch: (_p: Port, b: RxBatch) => {
      for (let i = 0; i < b.count; i++) got.push(hex(b.buf.subarray(b.offsets[i]!, b.offsets[i]! + b.lengths[i]!)));
    },
    onWritable: () => {
      writable++;
    },
    onFatal: () => undefined,
  });
  return { port, warnings, got, writable: () => writable };
}

/** One frame through port.send; its status (0, or the errno the loop counts). */
function sendOne(port: QemuPort, frame: Buffer): { taken: number; status: number } {
  const status = new Int32Array(1);
  const taken = port.send(frame, Uint32Array.of(0), Uint32Array.of(frame.length), 1, status);
  return { taken, status: status[0]! };
}

/** QEMU's side of -netdev dgram: its local.path bound, each frame one datagram to remote.path. */
class FakeDgramQemu {
  readonly fd: number;
  private readonly out: number;
  private readonly ring = new Uint8Array(4 * 1024 * 1024);
  private readonly offsets = new Uint32Array(64);
  private readonly lengths = new Int32Array(64);
  constructor(
    readonly local: string,
    remote: string,
  ) {
    removeOwnSocket(local); // as QEMU unlinks local.path before it binds (net_init_dgram)
    this.fd = tapio().unixDgram(local, null);
    this.out = tapio().unixDgram(null, remote);
  }
  send(frame: Buffer): void {
    const status = new Int32Array(1);
    expect(tapio().writeBatch(this.out, frame, Uint32Array.of(0), Uint32Array.of(frame.length), 1, status)).toBe(1);
    expect(status[0]).toBe(0);
  }
  read(): string[] {
    const n = tapio().readBatch(this.fd, this.ring, this.offsets, this.lengths, 0, 12, 64);
    return [...Array(n).keys()].map((i) =>
      hex(this.ring.subarray(this.offsets[i]!, this.offsets[i]! + this.lengths[i]!)),
    );
  }
  /** QEMU killed: its sockets close; the file stays behind, as a killed QEMU leaves it. */
  kill(): void {
    tapio().close(this.fd);
    tapio().close(this.out);
  }
}

describe('qemu port, proto=dgram (unix datagram sockets, one frame each)', () => {
  const paths = () => {
    const path = sock('dg');
    const local = sock('dg-qemu');
    cleanups.push(() => {
      removeOwnSocket(path);
      removeOwnSocket(local);
    });
    return { path, local };
  };

  it('carries frames both ways, a datagram each, whole', async () => {
    const { path, local } = paths();
    const { port, got } = open({ path, protocol: 'dgram', peer: local });
    const qemu = new FakeDgramQemu(local, path);
    cleanups.push(() => qemu.kill());
    qemu.send(body(1));
    qemu.send(body(2, 1514));
    expect(await until(() => got.length === 2)).toBe(true);
    expect(got).toEqual([hex(body(1)), hex(body(2, 1514))]);
    expect(sendOne(port, body(3))).toEqual({ taken: 1, status: 0 });
    expect(qemu.read()).toEqual([hex(body(3))]);
    expect(port.peer).toMatchObject({ connections: 1, disconnects: 0 });
  });

  it('refuses frames while QEMU is not there, reaches it once it sends, counts it going and coming back', async () => {
    const { path, local } = paths();
    const { port, got, warnings } = open({ path, protocol: 'dgram', peer: local });
    expect(sendOne(port, body(1))).toEqual({ taken: 1, status: ENOTCONN });
    expect(port.peer.connections).toBe(0);

    let qemu = new FakeDgramQemu(local, path);
    qemu.send(body(2));
    expect(await until(() => got.length === 1)).toBe(true);
    expect(port.peer.connections).toBe(1); // its datagram said it is there: dialled at once
    expect(sendOne(port, body(3)).status).toBe(0);
    expect(qemu.read()).toEqual([hex(body(3))]);

    qemu.kill();
    // The kernel refuses the first datagram to a closed socket, then the socket is unconnected.
    expect(sendOne(port, body(4))).toEqual({ taken: 1, status: ECONNREFUSED });
    expect(port.peer.disconnects).toBe(1);
    expect(warnings).toEqual([
      `port vm: the VM went away (ECONNREFUSED from ${local}); tapyard sends again when it is back`,
    ]);
    expect(sendOne(port, body(5)).status).toBe(ENOTCONN);

    qemu = new FakeDgramQemu(local, path);
    cleanups.push(() => qemu.kill());
    // No datagram from it this time: send() dials again, at most every 0.2 s.
    await new Promise((r) => setTimeout(r, 250));
    expect(sendOne(port, body(6))).toEqual({ taken: 1, status: 0 });
    expect(qemu.read()).toEqual([hex(body(6))]);
    expect(port.peer).toMatchObject({ connections: 2, disconnects: 1 });
    expect(warnings).toHaveLength(1);
  });

  it('a QEMU that does not read fills its queue: send takes nothing more, and says when it has room', async () => {
    const { path, local } = paths();
    const { port, writable } = open({ path, protocol: 'dgram', peer: local });
    const qemu = new FakeDgramQemu(local, path);
    cleanups.push(() => qemu.kill());
    qemu.send(body(0));
    expect(await until(() => port.peer.connections === 1)).toBe(true);
    const frames = Buffer.alloc(64 * 60, 9);
    const offsets = Uint32Array.from({ length: 64 }, (_, i) => i * 60);
    const lengths = new Uint32Array(64).fill(60);
    const status = new Int32Array(64);
    let sent = 0;
    let taken = 64;
    let refused = 0;
    for (let round = 0; round < 100 && taken === 64; round++) {
      taken = port.send(frames, offsets, lengths, 64, status);
      sent += taken;
      refused += status.subarray(0, taken).filter((e) => e !== 0).length;
    }
    // A unix datagram receiver queues net.unix.max_dgram_qlen datagrams; then the sender waits.
    expect(taken).toBeLessThan(64);
    expect(refused).toBe(0);
    expect(sent).toBeGreaterThan(0);
    port.setWantWritable(true);
    await new Promise((r) => setTimeout(r, 100));
    expect(writable()).toBe(0); // still full: no wake-up
    const read = qemu.read().length;
    expect(read).toBeGreaterThan(0);
    expect(await until(() => writable() === 1)).toBe(true);
    expect(sendOne(port, body(1)).status).toBe(0);
  });

  it('removes the path it bound when it closes, and refuses a path that exists', () => {
    const { path, local } = paths();
    const { port } = open({ path, protocol: 'dgram', peer: local });
    expect(() =>
      openQemu({ kind: 'qemu', name: 'b', path, tcp: null, protocol: 'dgram', connect: false, peer: local }),
    ).toThrow(`port b: ${path} already exists (a stale socket? remove it)`);
    port.close();
    expect(() => tapio().unixDgram(null, path)).toThrow('connect: No such file or directory');
  });
});

/** A free TCP port on 127.0.0.1, from the kernel. */
async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as { port: number };
  await new Promise((r) => s.close(r));
  return port;
}

const framed = (b: Buffer) => Buffer.concat([Buffer.from([0, 0, b.length >> 8, b.length & 0xff]), b]);
const dial = (to: () => Socket) =>
  new Promise<Socket>((resolve, reject) => {
    const s = to();
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });

describe('qemu port, stream framing over TCP on 127.0.0.1 (-netdev socket,connect=127.0.0.1:PORT)', () => {
  it('listens on loopback, deframes, frames what it sends', async () => {
    const tcpPort = await freePort();
    const { port, got } = open({ path: `127.0.0.1:${tcpPort}`, tcp: { host: '127.0.0.1', port: tcpPort } });
    await port.ready;
    const qemu = await dial(() => connect(tcpPort, '127.0.0.1'));
    cleanups.push(() => qemu.destroy());
    qemu.write(Buffer.concat([framed(body(1)), framed(body(2))]));
    expect(await until(() => got.length === 2)).toBe(true);
    expect(got).toEqual([hex(body(1)), hex(body(2))]);
    const back = new Promise<Buffer>((r) => qemu.once('data', r));
    expect(sendOne(port, body(3)).status).toBe(0);
    expect(hex(await back)).toBe(hex(framed(body(3))));
  });
});

describe('qemu port with connect: tapyard dials a QEMU that listens (server=on, socket,listen=)', () => {
  /** QEMU's listening side: accepts one peer at a time and accepts again after it leaves. */
  async function listeningQemu(listenOn: (s: Server) => void) {
    const peers: Socket[] = [];
    const data: Buffer[] = [];
    const server = createServer((s) => {
      peers.push(s);
      s.on('data', (d: Buffer) => data.push(d));
    });
    listenOn(server);
    await new Promise((r) => server.once('listening', r));
    cleanups.push(() => {
      for (const p of peers) p.destroy();
      server.close();
    });
    return { server, peers, data };
  }

  it('dials until QEMU listens, carries frames, dials again when the connection ends', async () => {
    const path = sock('srv');
    cleanups.push(() => removeOwnSocket(path));
    const { port, got, warnings } = open({ path, connect: true });
    await new Promise((r) => setTimeout(r, 300)); // nobody there: it keeps trying, said once
    expect(warnings).toEqual([`port vm: QEMU is not listening on ${path} (ENOENT); tapyard tries every 0.2 s`]);
    const qemu = await listeningQemu((s) => s.listen(path));
    expect(await until(() => qemu.peers.length === 1)).toBe(true);
    expect(await until(() => port.peer.connections === 1)).toBe(true);
    qemu.peers[0]!.write(framed(body(1)));
    expect(await until(() => got.length === 1)).toBe(true);
    expect(sendOne(port, body(2)).status).toBe(0);
    expect(await until(() => qemu.data.length > 0)).toBe(true);
    expect(hex(Buffer.concat(qemu.data))).toBe(hex(framed(body(2))));

    qemu.peers[0]!.destroy(); // QEMU's end of connection: it listens again, and tapyard comes back
    expect(await until(() => qemu.peers.length === 2)).toBe(true);
    expect(await until(() => port.peer.connections === 2)).toBe(true);
    expect(port.peer.disconnects).toBe(1);
    expect(warnings[1]).toBe(`port vm: the VM went away; dialling ${path} again`);
    qemu.peers[1]!.write(framed(body(3)));
    expect(await until(() => got.length === 2)).toBe(true);
    expect(got[1]).toBe(hex(body(3)));
  });

  it('dials 127.0.0.1:PORT, and a bad length from QEMU ends that connection with one sentence', async () => {
    const tcpPort = await freePort();
    const qemu = await listeningQemu((s) => s.listen(tcpPort, '127.0.0.1'));
    const { port, warnings } = open({
      path: `127.0.0.1:${tcpPort}`,
      tcp: { host: '127.0.0.1', port: tcpPort },
      connect: true,
    });
    expect(await until(() => qemu.peers.length === 1)).toBe(true);
    qemu.peers[0]!.write(Buffer.from([0x00, 0x02, 0x00, 0x00, 1]));
    expect(await until(() => port.peer.malformed === 1)).toBe(true);
    expect(warnings).toEqual([
      'port vm: the peer sent a frame length of 131072 bytes (at most 69632); that connection is closed, ' +
        'tapyard dials again',
    ]);
    expect(await until(() => qemu.peers.length === 2)).toBe(true);
    expect(port.peer).toMatchObject({ connections: 2, malformed: 1, disconnects: 0 });
  });
});

describe('qemu port specs that cannot work: one sentence, status 2, before any device is opened', () => {
  const CLI = join(packageRoot(), 'dist', 'src', 'cli', 'main.js');
  const refuse = (spec: string) => {
    const ran = spawnSync(process.execPath, [CLI, 'forward', '--port', spec, '--port', 'b=tap:ty-none'], {
      encoding: 'utf8',
    });
    return { status: ran.status, stderr: ran.stderr };
  };

  it.each([
    [
      'vm=qemu:/tmp/ty-x.sock,proto=dgram',
      "port vm: proto=dgram needs peer=PATH, QEMU's local.path (where tapyard sends)",
    ],
    ['vm=qemu:/tmp/ty-x.sock,peer=/tmp/ty-y.sock', 'port vm: peer is for proto=dgram'],
    [
      'vm=qemu:/tmp/ty-x.sock,proto=dgram,peer=/tmp/ty-y.sock,connect',
      'port vm: connect is for proto=stream (dgram never connects)',
    ],
    [
      'vm=qemu:10.0.0.1:5555',
      'port vm: QEMU over TCP is served on loopback only (127.0.0.1, localhost or [::1]), not on 10.0.0.1 ' +
        '(a socket file: ./NAME)',
    ],
    [
      'vm=qemu:example.org:5555',
      'port vm: QEMU over TCP is served on loopback only (127.0.0.1, localhost or [::1]), not on example.org ' +
        '(a socket file: ./NAME)',
    ],
    [
      'vm=qemu:[fe80::1]:5555',
      'port vm: QEMU over TCP is served on loopback only (127.0.0.1, localhost or [::1]), not on [fe80::1] ' +
        '(a socket file: ./NAME)',
    ],
    ['vm=qemu:127.0.0.1:70000', 'port vm: the TCP port must be 1 to 65535, not 70000'],
    ['vm=qemu:127.0.0.1:5555,proto=dgram,peer=/tmp/ty-y.sock', 'port vm: proto=dgram is served over unix paths only'],
    [`vm=qemu:/tmp/${'a'.repeat(110)}`, 'port vm: a unix socket path is at most 106 bytes, this one is 115'],
  ])('%s', (spec, sentence) => {
    expect(refuse(spec)).toEqual({ status: 2, stderr: `tapyard: ${sentence}\n` });
  });
});
