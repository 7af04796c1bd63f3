// How the stack that receives a copy classifies it: skb->pkt_type, what a packet socket reports
// as sll_pkttype and tcpdump -i any prints as In / B / M / P. eth_type_trans sets it from the
// destination MAC against the receiving device's own; some switches overwrite it on the way:
//
//   bridge   br_handle_frame marks a frame for the bridge's MAC PACKET_HOST; otherwise the class
//            is the one eth_type_trans gave it on the ingress port, so a frame for another
//            port's own MAC reaches the bridge's stack as otherhost (checked against the kernel)
//   macvlan  macvlan_handle_frame marks every unicast it hands an endpoint PACKET_HOST (so a
//            passthru endpoint, which takes all unicast, sees none as otherhost);
//            macvlan_forward_source leaves a source-mode clone as the lower classified it,
//            unless the destination is the endpoint's own MAC

import { BROADCAST, isGroup, type Mac } from '../mac.js';
import { MacvlanReason } from '../switch/macvlan.js';

export type CopyKind = 'host' | 'broadcast' | 'multicast' | 'otherhost';
export const COPY_KINDS: readonly CopyKind[] = ['host', 'broadcast', 'multicast', 'otherhost'];

/** eth_type_trans: the class of `dst` for a device whose own addresses are `own`. */
export function stackKind(dst: Mac, own: readonly Mac[]): CopyKind {
  if (isGroup(dst)) return dst === BROADCAST ? 'broadcast' : 'multicast';
  return own.includes(dst) ? 'host' : 'otherhost';
}

/** A macvlan copy: by the reason the model gave it. */
export function macvlanKind(dst: Mac, reason: string, own: Mac, lower: Mac): CopyKind {
  if (isGroup(dst)) return stackKind(dst, []);
  if (reason === MacvlanReason.UNICAST || reason === MacvlanReason.PASSTHRU) return 'host';
  if (reason === MacvlanReason.SOURCE_CLONE) return dst === own ? 'host' : stackKind(dst, [lower]);
  return stackKind(dst, [own]);
}
