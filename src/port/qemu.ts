// A QEMU VM's NIC as a port, over one of QEMU's socket netdevs (net/stream.c, net/socket.c,
// net/dgram.c): a byte stream with a 4-byte length before each frame, on a unix path or TCP on
// loopback, tapyard listening or connecting; or unix datagrams, one frame each. One VM at a time;
// a VM that goes away is counted and the port waits for the next one.

import { existsSync } from 'node:fs';
import { TapyardError } from '../error.js';
import { DEFAULT_BUDGET, type Port } from './port.js';
import { QemuDgramPort } from './qemu-dgram.js';
import type { QemuPeerCounters } from './qemu-peer.js';
import { QemuStreamPort } from './qemu-stream-port.js';

export type { QemuPeerCounters } from './qemu-peer.js';

export interface QemuPortConfig {
  readonly kind: 'qemu';
  readonly name: string;
  /** The target as given: a unix socket path, or `127.0.0.1:PORT` (then `tcp` is set). */
  readonly path: string;
  readonly tcp: { readonly host: string; readonly port: number } | null;
  readonly protocol: 'stream' | 'dgram';
  /** Stream: tapyard connects (QEMU listens, `server=on` or `socket,listen=`) instead of listening. */
  readonly connect: boolean;
  /** Dgram: QEMU's own socket (its `local.path`), where tapyard sends; tapyard binds `path`. */
  readonly peer: string | null;
}

export type QemuPort = Port & {
  readonly kind: 'qemu';
  readonly peer: QemuPeerCounters;
  /** The socket file this port bound and removes at the end (null: it binds none). */
  readonly socketFile: string | null;
};

export function isQemuPort(port: Port): port is QemuPort {
  return port.kind === 'qemu' && 'peer' in port;
}

export function openQemu(
  config: QemuPortConfig,
  budget = DEFAULT_BUDGET,
  warn: (sentence: string) => void = (s) => process.stderr.write(`tapyard: warning: ${s}\n`),
): QemuPort {
  // A file tapyard would bind: refused when it exists, as it may be another run's live socket.
  const binds = config.tcp === null && !config.connect;
  if (binds && existsSync(config.path)) {
    throw new TapyardError(
      'EQEMUSOCK',
      `port ${config.name}: ${config.path} already exists (a stale socket? remove it)`,
    );
  }
  if (config.protocol === 'dgram') return new QemuDgramPort(config, budget, warn);
  return new QemuStreamPort(config, budget, warn);
}
