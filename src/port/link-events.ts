// What the kernel announces about a namespace's interfaces, as it happens: a NETLINK_ROUTE socket
// made in that namespace and joined to RTNLGRP_LINK (RTM_NEWLINK/DELLINK: flags such as promisc
// and allmulti, the address) and, on kernels from 6.13, RTNLGRP_IPV4_MCADDR and
// RTNLGRP_IPV6_MCADDR (RTM_NEWMULTICAST/DELMULTICAST: a group an IP socket joined or left). It is
// read on Node's loop by the addon's Poller, like a port's fd. The messages are the kernel's, but
// every length in them is checked before it is used.

import { constants } from 'node:os';
import { errnoName } from './drop.js';
import { MAX_FRAME, type PollerHandle, tapio } from './native.js';

/** include/uapi/linux/rtnetlink.h: the groups (RTNLGRP_STATS is 36) and the message types. */
const RTNLGRP_LINK = 1;
const RTNLGRP_IPV4_MCADDR = 37;
const RTNLGRP_IPV6_MCADDR = 38;
const RTM_NEWLINK = 16;
const RTM_DELLINK = 17;
const RTM_NEWMULTICAST = 56;
const RTM_DELMULTICAST = 57;

/** struct nlmsghdr, and where the ifindex sits in the message after it. */
const NLMSG_HDRLEN = 16;
/** struct ifinfomsg: family, pad, type (u16), index (s32), flags, change: index at 4, 16 bytes. */
const IFINFOMSG = { index: 4, size: 16 };
/** struct ifaddrmsg: family, prefixlen, flags, scope, index (u32): index at 4, 8 bytes. */
const IFADDRMSG = { index: 4, size: 8 };

const BUDGET = 16;

/**
 * The interfaces (ifindex) the link and multicast-address messages in one datagram name. A
 * message whose length runs past the datagram, or is too short for what its type carries, ends
 * the walk: what follows it cannot be trusted to start where it says.
 */
export function linkEventIndexes(bytes: Uint8Array): number[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const indexes: number[] = [];
  let at = 0;
  while (at + NLMSG_HDRLEN <= bytes.byteLength) {
    const len = view.getUint32(at, true);
    const type = view.getUint16(at + 4, true);
    if (len < NLMSG_HDRLEN || len > bytes.byteLength - at) break;
    const body =
      type === RTM_NEWLINK || type === RTM_DELLINK
        ? IFINFOMSG
        : type === RTM_NEWMULTICAST || type === RTM_DELMULTICAST
          ? IFADDRMSG
          : null;
    if (body !== null) {
      if (len < NLMSG_HDRLEN + body.size) break;
      indexes.push(view.getInt32(at + NLMSG_HDRLEN + body.index, true));
    }
    at += (len + 3) & ~3; // NLMSG_ALIGN
  }
  return indexes;
}

/**
 * Calls `onChange` when the kernel says something about interface `ifindex` in the namespace
 * (null: this one), and also when it may have said something we did not get (the socket's queue
 * overflowed: ENOBUFS). Any other failure stops the subscription and is handed to `onError`.
 */
export class LinkEvents {
  private readonly fd: number;
  private readonly poller: PollerHandle;
  private readonly ring = new Uint8Array(2 * MAX_FRAME);
  private readonly offsets = new Uint32Array(BUDGET);
  private readonly lengths = new Int32Array(BUDGET);
  private closed = false;

  constructor(
    netnsPath: string | null,
    private readonly ifindex: number,
    private readonly onChange: () => void,
    private readonly onError: (sentence: string) => void,
  ) {
    this.fd = tapio().rtnlSubscribe(netnsPath, [RTNLGRP_LINK, RTNLGRP_IPV4_MCADDR, RTNLGRP_IPV6_MCADDR]);
    this.poller = new (tapio().Poller)(this.fd, (_events, errno, count) => this.onPoll(errno, count));
    this.poller.setRing(this.ring, this.offsets, this.lengths, 0, 0, BUDGET);
    this.poller.start(true, false);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.poller.close();
    tapio().close(this.fd);
  }

  private onPoll(errno: number, count: number): void {
    let ours = false;
    for (let i = 0; i < count && !ours; i++) {
      const len = this.lengths[i]!;
      // A truncated datagram (-1) may have named it.
      if (len < 0) ours = true;
      else ours = linkEventIndexes(this.ring.subarray(this.offsets[i]!, this.offsets[i]! + len)).includes(this.ifindex);
    }
    if (errno !== 0 && errno !== constants.errno.ENOBUFS) {
      this.close();
      this.onError(`the kernel's link notifications stopped (${errnoName(errno)})`);
      return;
    }
    if (ours || errno !== 0) this.onChange();
  }
}
