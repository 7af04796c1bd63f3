// What each port kind takes: what follows KIND: in a spec, and its own keys. Adding a kind is one
// entry here, its typed config beside its opener in src/port/, and one case in port/open.ts.

import type { MacvtapConfig } from '../port/macvtap.js';
import type { PcapConfig } from '../port/pcap.js';
import type { QemuPortConfig } from '../port/qemu.js';
import type { TapConfig } from '../port/tap.js';
import { type Keys, key, type Options, optional } from './keys.js';
import { flag, ifname, netnsName, oneOf, text, usageError, type ValueType } from './value.js';

export type DeviceConfig = MacvtapConfig | TapConfig | PcapConfig | QemuPortConfig;
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
  protocol: key('proto', oneOf(['stream'] as const), 'stream', 'the netdev QEMU uses: -netdev stream (4-byte lengths)'),
} as const;

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
  qemu: {
    target: text('PATH'),
    about: 'a unix socket QEMU connects to (-netdev stream,server=off,addr.type=unix,addr.path=PATH)',
    keys: QEMU_KEYS,
    build: (name, target, o) => ({ kind: 'qemu', name, path: target, ...o.take(QEMU_KEYS) }),
  },
};

export const DEVICE_KINDS = Object.keys(PORT_KINDS) as DeviceKind[];
