// THE TABLE: what each macvlan mode does, as drivers/net/macvlan.c encodes it in
// macvlan_queue_xmit, macvlan_handle_frame, macvlan_multicast_rx and macvlan_forward_source.
// The datapath (macvlan.ts) only reads it; the diagrams in docs/ are drawn by running it.

export type MacvlanMode = 'private' | 'vepa' | 'bridge' | 'passthru' | 'source';

export const MACVLAN_MODE_NAMES: readonly MacvlanMode[] = ['private', 'vepa', 'bridge', 'passthru', 'source'];

/** enum macvlan_mode (include/uapi/linux/if_link.h): bits, so that a set of modes is a mask. */
export const ModeBit: Readonly<Record<MacvlanMode, number>> = {
  private: 1,
  vepa: 2,
  bridge: 4,
  passthru: 8,
  source: 16,
};

/** What a mode does, as macvlan.c encodes it. */
export interface ModeRules {
  /** macvlan_queue_xmit: siblings (by mode) that get a sent group frame directly, before the wire. */
  txGroupTo: number;
  /** macvlan_queue_xmit: a sent unicast frame whose destination is a sibling in these modes never
   *  reaches the wire: dev_forward_skb hands it to the lower's receive path. */
  txUnicastTo: number;
  /** macvlan_handle_frame: a group frame arriving with this mode's endpoint as source either goes
   *  back to that endpoint alone ('sender') or floods the endpoints in this mask except the sender. */
  rxGroupFromSelf: 'sender' | number;
  /** macvlan_handle_frame: the endpoint owning a unicast destination gets the frame. False for
   *  source mode, which is only ever reached through its source list. */
  rxUnicastByDestination: boolean;
  /** Passthru: the only endpoint on its lower, it takes every unicast frame whatever its MAC. */
  rxAllUnicast: boolean;
  /** macvlan_forward_source: gets a clone of every received frame whose source MAC is in its list. */
  sourceClones: boolean;
}

/** Group frames from outside (source MAC not an endpoint's) flood these modes (macvlan_multicast_rx). */
export const EXTERNAL_GROUP_FLOOD = ModeBit.private | ModeBit.vepa | ModeBit.passthru | ModeBit.bridge;

/** THE TABLE. Every delivery decision below reads it. */
export const MACVLAN_MODES: Readonly<Record<MacvlanMode, ModeRules>> = {
  private: {
    txGroupTo: 0,
    txUnicastTo: 0,
    rxGroupFromSelf: 'sender',
    rxUnicastByDestination: true,
    rxAllUnicast: false,
    sourceClones: false,
  },
  vepa: {
    txGroupTo: 0,
    txUnicastTo: 0,
    rxGroupFromSelf: ModeBit.vepa | ModeBit.bridge,
    rxUnicastByDestination: true,
    rxAllUnicast: false,
    sourceClones: false,
  },
  bridge: {
    txGroupTo: ModeBit.bridge,
    txUnicastTo: ModeBit.bridge,
    // Bridge siblings already had their copy on the way out.
    rxGroupFromSelf: ModeBit.vepa,
    rxUnicastByDestination: true,
    rxAllUnicast: false,
    sourceClones: false,
  },
  passthru: {
    txGroupTo: 0,
    txUnicastTo: 0,
    rxGroupFromSelf: 'sender',
    rxUnicastByDestination: true,
    rxAllUnicast: true,
    sourceClones: false,
  },
  source: {
    txGroupTo: 0,
    txUnicastTo: 0,
    rxGroupFromSelf: 'sender',
    rxUnicastByDestination: false,
    rxAllUnicast: false,
    sourceClones: true,
  },
};
