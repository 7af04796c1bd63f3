// A tap attached through /dev/net/tun, the way QEMU opens one: TUNSETIFF with IFF_TAP|IFF_NO_PI
// and, by default, IFF_VNET_HDR. The tap may live in another network namespace (netns=NAME):
// the fd is made there and keeps working here, which is how the lab's guest is wired.

import { existsSync } from 'node:fs';
import { TapyardError } from '../error.js';
import { VNET_HDR_LEN } from '../frame/vnet.js';
import { readMac } from '../mac.js';
import { bridgePortForwarding, readDeviceState } from './device-state.js';
import { FdPort } from './fd-port.js';
import { kernelDropsReader } from './kernel-drops.js';
import { describeDevice, OFFLOAD_FLAGS } from './macvtap.js';
import { isErrno, netnsPath, TunFlag, tapio } from './native.js';
import { DEFAULT_BUDGET, maxFrameForMtu } from './port.js';

export interface TapConfig {
  readonly kind: 'tap';
  readonly name: string;
  readonly ifname: string;
  /** The network namespace the tap lives in (/run/netns/NAME); undefined: this one. */
  readonly netns: string | undefined;
  /** TUNSETIFF makes a missing tap; only when asked, so that a typo is an error, not a new device. */
  readonly create: boolean;
  /** Attach as one queue of a multi-queue tap (IFF_MULTI_QUEUE). */
  readonly mq: boolean;
  readonly offload: boolean;
  /** A virtio_net_hdr before every frame (IFF_VNET_HDR). */
  readonly vnet: boolean;
}

export function openTap(config: TapConfig, budget = DEFAULT_BUDGET): FdPort {
  const { offload, vnet, create, mq: multiQueue, netns: nsName } = config;
  const ns = netnsPath(nsName);
  const ifname = config.ifname;
  const where = nsName === undefined ? 'this network namespace' : `network namespace ${nsName}`;
  const fail = (code: string, sentence: string) => new TapyardError(code, `port ${config.name}: ${sentence}`);
  if (ns !== null && !existsSync(ns)) throw fail('ENONETNS', `there is no network namespace ${nsName}`);

  if (!create) {
    try {
      tapio().ifMtu(ifname, ns);
    } catch (err) {
      if (isErrno(err, 'ENODEV'))
        throw fail('ENODEV', `there is no interface ${ifname} in ${where} (add create to make a tap)`);
      throw err;
    }
  }
  let fd: number;
  try {
    const flags = TunFlag.TAP | TunFlag.NO_PI | (vnet ? TunFlag.VNET_HDR : 0) | (multiQueue ? TunFlag.MULTI_QUEUE : 0);
    fd = tapio().attachTap(ifname, flags, ns).fd;
  } catch (err) {
    if (isErrno(err, 'EPERM') || isErrno(err, 'EACCES'))
      throw fail('EPERM', `attaching the tap ${ifname} needs root (CAP_NET_ADMIN)`);
    if (isErrno(err, 'EBUSY')) throw fail('EBUSY', `the tap ${ifname} is already attached to another program`);
    if (isErrno(err, 'EINVAL')) {
      // tun_set_iff refuses another kind of device, and a tap whose multi-queue flag differs.
      const what = describeDevice(ifname, nsName);
      if (what === 'a tap')
        throw fail(
          'EMQ',
          `the tap ${ifname} is ${multiQueue ? 'not ' : ''}multi-queue: ${multiQueue ? 'drop' : 'add'} mq=on`,
        );
      throw fail('ENOTTAP', `${ifname} is not a tap (it is ${what})`);
    }
    if (isErrno(err, 'ENOENT')) throw fail('ENOTUN', '/dev/net/tun is missing (load the tun module)');
    throw err;
  }
  // A socket made once in the tap's namespace answers for its state later: entering the namespace
  // each time would stall the loop for milliseconds (setns), and after --user it is not allowed.
  let probe = -1;
  try {
    probe = tapio().nsSocket(ns);
    const first = readDeviceState(probe, ifname);
    const drops = kernelDropsReader('tap', ifname, nsName);
    if (vnet) {
      tapio().tunSetVnetHdrSz(fd, VNET_HDR_LEN);
      // A tap delivers no offloaded frames until asked; say so explicitly, as QEMU does at init.
      tapio().tunSetOffload(fd, offload ? OFFLOAD_FLAGS : 0);
    }
    return new FdPort({
      name: config.name,
      kind: 'tap',
      device: `tap ${ifname}${nsName === undefined ? '' : ` (netns ${nsName})`}`,
      fd,
      hdrLen: vnet ? VNET_HDR_LEN : 0,
      mac: readMac(tapio().hwaddr(fd), 0),
      maxFrame: maxFrameForMtu(first.mtu),
      offload,
      offloadFlags: OFFLOAD_FLAGS,
      budget,
      kernelDrops: drops.read,
      // Running (IFF_RUNNING: its operstate is up) and, where this process's sysfs shows it, a
      // bridge's port that forwards. Another namespace's bridge port is not seen here: it is
      // enabled in the same step of the link watcher that sets the operstate, microseconds later.
      linkReady: () => readDeviceState(probe, ifname).running && (nsName !== undefined || bridgePortForwarding(ifname)),
      // The tap's fd keeps a deleted namespace alive, and the guest with it: say so and stop.
      follow: {
        state: first,
        netns: ns,
        read: () => {
          if (ns !== null && !existsSync(ns)) {
            throw new TapyardError('ENONETNS', `the network namespace ${nsName} was deleted`);
          }
          return readDeviceState(probe, ifname);
        },
      },
      onClose: () => {
        if (probe >= 0) tapio().close(probe);
        drops.stop();
      },
    });
  } catch (err) {
    if (probe >= 0) tapio().close(probe);
    tapio().close(fd);
    throw err;
  }
}
