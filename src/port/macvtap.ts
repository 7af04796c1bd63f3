// A macvtap opened by interface name, as libvirt hands one to QEMU, but through a private node
// made from sysfs's major:minor: /dev/tapN is named after a per-namespace ifindex while /dev is
// global, so on a machine with several namespaces that name can be another namespace's device.

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { TapyardError } from '../error.js';
import { VNET_HDR_LEN } from '../frame/vnet.js';
import { showLink } from '../kernel/iproute.js';
import { readMac } from '../mac.js';
import { openersOf } from './device-owners.js';
import { readDeviceState } from './device-state.js';
import { FdPort } from './fd-port.js';
import { kernelDropsReader } from './kernel-drops.js';
import { isErrno, TunOffload, tapio } from './native.js';
import { DEFAULT_BUDGET, maxFrameForMtu } from './port.js';
import { SourceGuard, type SpoofPolicy } from './source-guard.js';

/** The offloads tapyard asks for when a port is opened with offload=on. */
export const OFFLOAD_FLAGS = TunOffload.CSUM | TunOffload.TSO4 | TunOffload.TSO6 | TunOffload.TSO_ECN;

export interface MacvtapConfig {
  readonly kind: 'macvtap';
  readonly name: string;
  readonly ifname: string;
  /** Read GSO super-frames and partial checksums (offload=on). */
  readonly offload: boolean;
  /** Open it although another process reads it: the kernel splits the flows between the readers. */
  readonly shared: boolean;
  /** Mirror the guest's receive filter onto the macvtap (src/trust/): the port itself is unchanged. */
  readonly trustGuestRxFilters: boolean;
  /** Frames sent with a source MAC not the macvtap's own: counted and passed, or dropped. */
  readonly spoof: SpoofPolicy;
}

export function openMacvtap(config: MacvtapConfig, budget = DEFAULT_BUDGET): FdPort {
  const { offload, ifname } = config;
  const sys = `/sys/class/net/${ifname}`;
  const fail = (code: string, sentence: string) => new TapyardError(code, `port ${config.name}: ${sentence}`);
  if (!existsSync(sys)) {
    throw fail(
      'ENODEV',
      `there is no interface ${ifname} in this network namespace ` +
        "(run tapyard inside the macvtap's namespace with ip netns exec)",
    );
  }
  const queues = existsSync(`${sys}/macvtap`) ? readdirSync(`${sys}/macvtap`) : [];
  if (queues.length === 0) throw fail('ENOTMACVTAP', `${ifname} is not a macvtap (it is ${describeDevice(ifname)})`);
  const dev = readFileSync(`${sys}/macvtap/${queues[0]}/dev`, 'utf8').trim();
  const [, major, minor] = /^(\d+):(\d+)$/.exec(dev)?.map(Number) ?? [];
  if (major === undefined || minor === undefined)
    throw fail('ENOTMACVTAP', `${ifname} has no character device number (its dev file reads '${dev}')`);

  const others = openersOf(major, minor);
  if (others.length > 0 && !config.shared) {
    const who = others.map((o) => `${o.command} (pid ${o.pid})`).join(', ');
    throw fail(
      'EBUSY',
      `the macvtap ${ifname} is already open in ${who}: two readers split its flows between them; ` +
        'stop the other reader, or add shared to do it anyway',
    );
  }
  let fd: number;
  try {
    fd = tapio().openMacvtap(major, minor);
  } catch (err) {
    if (isErrno(err, 'EPERM') || isErrno(err, 'EACCES'))
      throw fail('EPERM', `opening the macvtap ${ifname} needs root (CAP_MKNOD and CAP_NET_ADMIN)`);
    if (isErrno(err, 'ENODEV') || isErrno(err, 'ENXIO'))
      throw fail('ENODEV', `the macvtap ${ifname} disappeared while it was being opened`);
    throw err;
  }
  let probe = -1;
  try {
    // The numbers came from sysfs a moment ago; make sure they still name this device.
    const iff = tapio().tunGetIff(fd);
    if (iff.name !== ifname) throw fail('ERACE', `${ifname}'s device node now belongs to ${iff.name}; try again`);
    // A fresh macvtap queue reads GSO super-frames with NEEDS_CSUM (tap_features default to
    // TSO and checksum offload). QEMU turns them off at init; so do we, unless asked.
    tapio().tunSetVnetHdrSz(fd, VNET_HDR_LEN);
    tapio().tunSetOffload(fd, offload ? OFFLOAD_FLAGS : 0);
    probe = tapio().nsSocket(null); // tapyard runs in the macvtap's namespace
    const first = readDeviceState(probe, ifname);
    const mac = readMac(tapio().hwaddr(fd), 0);
    return new FdPort({
      name: config.name,
      kind: 'macvtap',
      device: `macvtap ${ifname}`,
      fd,
      hdrLen: VNET_HDR_LEN,
      mac,
      maxFrame: maxFrameForMtu(first.mtu),
      offload,
      offloadFlags: OFFLOAD_FLAGS,
      budget,
      follow: { state: first, netns: null, read: () => readDeviceState(probe, ifname) },
      kernelDrops: kernelDropsReader('macvtap', ifname, undefined).read,
      onClose: () => tapio().close(probe),
      sourceGuard: new SourceGuard(config.spoof, mac),
    });
  } catch (err) {
    if (probe >= 0) tapio().close(probe);
    tapio().close(fd);
    throw err;
  }
}

/** What a device is, in a word, for error messages: the link kind iproute2 reports. */
export function describeDevice(ifname: string, netns?: string): string {
  try {
    const link = showLink(ifname, { netns, details: true });
    const kind = link.linkinfo?.info_kind;
    if (kind === 'tun') return `a ${link.linkinfo?.info_data?.type ?? 'tun'}`;
    if (kind !== undefined) return `a ${kind}`;
    return link.link_type === 'loopback' ? 'the loopback' : 'a physical device';
  } catch {
    return 'another kind of device';
  }
}
