// What each port kind takes: what follows KIND: in a spec, and its own keys. Adding a kind is one
// entry here, its typed config beside its opener in src/port/, and one case in port/open.ts.

import { parseIpv4, parseIpv6 } from '../grammar/ip-address.js';
import { type Keys, key, type Options, optional } from '../grammar/keys.js';
import { flag, ifname, integer, mac, netnsName, oneOf, text, usageError, type ValueType } from '../grammar/value.js';
import type { DeviceConfig } from '../port/open.js';
import type { QemuPortConfig } from '../port/qemu.js';
import type { TapConfig } from '../port/tap.js';
import type { VhostUserConfig } from '../port/vhost-user.js';

export type DeviceKind = DeviceConfig['kind'];

interface KindDeclaration {
  /** What KIND:TARGET names, for help and errors. */
  readonly target: ValueType<string>;
  readonly about: string;
  readonly keys: Keys;
  build(name: string, target: string, options: Options): DeviceConfig;
}

const offload = key('offload', flag, false, 'read GSO super-frames and partial checksums (QEMU turns them off too)');

const MACVTAP_KEYS = {
  offload,
  shared: key('shared', flag, false, 'open it even if another process reads it (the flows are then split)'),
  // libvirt's trustGuestRxFilters='yes' (src/trust/): the guest is the port this one is wired to.
  trustGuestRxFilters: key(
    'trust-guest-rx-filters',
    flag,
    false,
    "mirror its guest's MAC, groups, allmulti, promisc (peer tap or guest); a trusted guest can take any MAC; " +
      'the macvtap gets its own back at the end (not after --user, which may not change it)',
  ),
  spoof: key(
    'spoof',
    oneOf(['count', 'drop'] as const),
    'count',
    "what the guest side sends out with a source MAC not the macvtap's: count it and pass it (one warning), " +
      'or drop it (spoofed-source); the kernel lets it out',
  ),
} as const;
const TAP_KEYS = {
  netns: optional('netns', netnsName, 'the tap lives in this network namespace (/run/netns/NAME)'),
  create: key('create', flag, false, 'create the tap if it does not exist (removed on exit)'),
  mq: key('mq', flag, false, 'attach as one queue of a multi-queue tap (IFF_MULTI_QUEUE)'),
  offload,
  vnet: key('vnet', flag, true, 'a virtio_net_hdr before every frame on the fd'),
} as const;
const PCAP_KEYS = {
  bpf: optional('bpf', text('EXPR'), 'a capture filter, e.g. bpf=udp port 4789'),
  dir: key('dir', oneOf(['in', 'both'] as const), 'in', 'both: also capture what the interface sends'),
} as const;
const QEMU_KEYS = {
  protocol: key(
    'proto',
    oneOf(['stream', 'dgram'] as const),
    'stream',
    'stream: 4-byte lengths (-netdev stream and -netdev socket); dgram: a frame per datagram (-netdev dgram)',
  ),
  connect: key('connect', flag, false, 'tapyard connects to QEMU, which listens (server=on, socket listen=)'),
  peer: optional('peer', text('PATH', 106), "dgram: QEMU's own socket (local.path), where tapyard sends"),
} as const;

const VHOST_USER_KEYS = {
  offload: key('offload', flag, false, 'offer the guest checksum and TCP segmentation offload both ways'),
  client: key('client', flag, false, "tapyard connects to QEMU's socket (chardev server=on) and dials again"),
} as const;

/** A unix socket's path fits sockaddr_un.sun_path (108 bytes, read as at most 106 by the addon). */
const SUN_PATH_MAX = 106;

/** The loopback addresses QEMU over TCP may use, by how a target names them. */
function loopback(host: string): string | null {
  if (host === 'localhost') return '127.0.0.1';
  if (host === '[::1]') return '::1';
  return /^127\./.test(host) && parseIpv4(host) !== null ? host : null;
}

/**
 * `127.0.0.1:5555`, `localhost:5555`, `[::1]:5555`: QEMU over TCP, on loopback only (frames cross
 * unencrypted and unauthenticated). Any other HOST:PORT (no `/`) is refused rather than taken for
 * a file of that name in the current directory (`./NAME` is one).
 */
function qemuPort(name: string, target: string, o: Options): QemuPortConfig {
  const { protocol, connect, peer } = o.take(QEMU_KEYS);
  const where = `port ${name}`;
  const inet = /^(\[[^\]/]*\]|[^/:[\]]+):(\d+)$/.exec(target);
  let tcp: QemuPortConfig['tcp'] = null;
  if (inet !== null) {
    const host = loopback(inet[1]!);
    const port = Number(inet[2]);
    if (host === null)
      throw usageError(
        `${where}: QEMU over TCP is served on loopback only (127.0.0.1, localhost or [::1]), not on ${inet[1]} ` +
          '(a socket file: ./NAME)',
      );
    if (port < 1 || port > 65535) throw usageError(`${where}: the TCP port must be 1 to 65535, not ${inet[2]}`);
    if (protocol === 'dgram') throw usageError(`${where}: proto=dgram is served over unix paths only`);
    tcp = { host, port };
  } else if (target.length > SUN_PATH_MAX) {
    throw usageError(`${where}: a unix socket path is at most ${SUN_PATH_MAX} bytes, this one is ${target.length}`);
  }
  if (protocol === 'dgram' && peer === undefined)
    throw usageError(`${where}: proto=dgram needs peer=PATH, QEMU's local.path (where tapyard sends)`);
  if (protocol === 'dgram' && connect) throw usageError(`${where}: connect is for proto=stream (dgram never connects)`);
  if (protocol === 'stream' && peer !== undefined) throw usageError(`${where}: peer is for proto=dgram`);
  return { kind: 'qemu', name, path: target, tcp, protocol, connect, peer: peer ?? null };
}

/** An IPv6 address with a prefix length, `fd00::2/64`: the address is what the guest answers to. */
const ipv6WithPrefix: ValueType<Uint8Array> = {
  shape: 'ADDR/64',
  parse(value, where) {
    const [address = '', length = '128'] = value.split('/');
    const ip = parseIpv6(address);
    if (ip === null || !/^\d+$/.test(length) || Number(length) > 128) {
      throw usageError(`${where} must be an IPv6 address like fd00::2/64, not '${value.slice(0, 60)}'`);
    }
    return ip;
  },
};

const GUEST_KEYS = {
  mac: optional('mac', mac, "the guest's MAC (default: a random locally administered one)"),
  ip6: optional('ip6', ipv6WithPrefix, 'an IPv6 address it also answers to (ping6, neighbour solicitation)'),
  udpEcho: optional('udp-echo', integer(1, 65535), 'a UDP port that echoes what it receives'),
} as const;

function vhostUserPort(name: string, target: string, o: Options): VhostUserConfig {
  const { client, offload } = o.take(VHOST_USER_KEYS);
  if (target.length > SUN_PATH_MAX)
    throw usageError(`port ${name}: a unix socket path is at most ${SUN_PATH_MAX} bytes, this one is ${target.length}`);
  if (target === '') throw usageError(`port ${name}: vhost-user needs the socket's path`);
  return { kind: 'vhost-user', name, path: target, client, offload };
}

export const PORT_KINDS: Readonly<Record<DeviceKind, KindDeclaration>> = {
  macvtap: {
    target: ifname,
    about: 'a macvtap in this network namespace, opened through sysfs major:minor',
    keys: MACVTAP_KEYS,
    build: (name, target, o) => ({ kind: 'macvtap', name, ifname: target, ...o.take(MACVTAP_KEYS) }),
  },
  tap: {
    target: ifname,
    about: 'a tap attached through /dev/net/tun',
    keys: TAP_KEYS,
    build: (name, target, o) => {
      const c: TapConfig = { kind: 'tap', name, ifname: target, ...o.take(TAP_KEYS) };
      if (c.offload && !c.vnet) throw usageError(`port ${name}: offload=on needs the vnet header (vnet=on)`);
      return c;
    },
  },
  pcap: {
    target: ifname,
    about: 'any interface through libpcap (captures inbound frames, injects)',
    keys: PCAP_KEYS,
    build: (name, target, o) => ({ kind: 'pcap', name, ifname: target, ...o.take(PCAP_KEYS) }),
  },
  guest: {
    target: text('ADDR/LEN'),
    about: 'the built-in guest: answers ARP, ping, ping6, neighbour solicitations, UDP echo; RST to a SYN',
    keys: GUEST_KEYS,
    build: (name, target, o) => {
      const [address = '', length = ''] = target.split('/');
      const ipv4 = parseIpv4(address);
      const prefix = Number(length);
      if (ipv4 === null || !/^\d+$/.test(length) || prefix > 32) {
        throw usageError(`port ${name}: the guest's address must be like 10.0.0.2/24, not '${target.slice(0, 40)}'`);
      }
      const { mac, ip6, udpEcho } = o.take(GUEST_KEYS);
      return { kind: 'guest', name, ipv4, prefix, mac: mac ?? null, ipv6: ip6 ?? null, udpEcho: udpEcho ?? null };
    },
  },
  qemu: {
    target: text('PATH|127.0.0.1:PORT'),
    about:
      "a QEMU VM's socket netdev: tapyard listens on PATH or 127.0.0.1:PORT (also localhost:PORT, [::1]:PORT; " +
      'connect: QEMU listens)',
    keys: QEMU_KEYS,
    build: qemuPort,
  },
  'vhost-user': {
    target: text('PATH'),
    about: "a QEMU VM's virtio-net over vhost-user: tapyard serves its rings in the shared guest memory",
    keys: VHOST_USER_KEYS,
    build: vhostUserPort,
  },
};

export const DEVICE_KINDS = Object.keys(PORT_KINDS) as DeviceKind[];
