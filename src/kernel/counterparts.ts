// Which of the kernel's own drops (an SKB_DROP_REASON and the function that frees the skb, as
// skb:kfree_skb names them) each tapyard drop reason stands for, where the kernel frees the frame
// at all. Found on the lab (tapyard why/trace --verify, test/conformance/kernel-drops.test.ts),
// not assumed: many of tapyard's "lost here" reasons have no kernel drop, because the kernel never
// makes the copy it does not send (a bridge flooding skips the ingress port without freeing
// anything). docs/drop-reasons.md is generated with this table beside the reasons.

export interface KernelCounterpart {
  /** SKB_DROP_REASON_* without the prefix. */
  reason: string;
  /** The function skb:kfree_skb names as the location (inlined callers fold into it). */
  fn: string;
}

export const KERNEL_COUNTERPARTS: Readonly<Record<string, KernelCounterpart>> = Object.freeze({
  // br_forward(), inlined into br_handle_frame_finish(): should_deliver() refuses the ingress port
  // without hairpin, and the skb is freed with kfree_skb(), so the reason is unspecified.
  'bridge-same-port': { reason: 'NOT_SPECIFIED', fn: 'br_handle_frame_finish' },
  // br_flood(), inlined into br_handle_frame_finish(): no port takes the frame and the bridge's
  // own stack does not either.
  'bridge-flood-nobody': { reason: 'NO_TX_TARGET', fn: 'br_handle_frame_finish' },
  // br_handle_frame(): !is_valid_ether_addr(h_source).
  'bridge-invalid-source': { reason: 'MAC_INVALID_SOURCE', fn: 'br_handle_frame' },
  // br_handle_frame(): 01:80:c2:00:00:01 is MAC Control, never bridged.
  'bridge-pause': { reason: 'MAC_IEEE_MAC_CONTROL', fn: 'br_handle_frame' },
  // macvlan_handle_frame(): the passthru endpoint that takes every frame is down.
  'macvlan-endpoint-down': { reason: 'NOT_SPECIFIED', fn: 'macvlan_handle_frame' },
});

/** Every copy that reached a station's stack ends there as this, for a frame no protocol takes. */
export const ARRIVAL: KernelCounterpart = { reason: 'UNHANDLED_PROTO', fn: '__netif_receive_skb_core' };

export function counterpartText(c: KernelCounterpart): string {
  return `${c.reason} in ${c.fn}`;
}
