// What `tapyard trace` asks of the model, typed: a topology, what its switches already learned, and
// the frames to send. config/trace.ts reads it from the command line; trace-lab.ts builds a lab from it.

import type { McastMessage } from '../frame/mcast-message.js';
import type { Mac } from '../mac.js';
import type { BridgePortConfig } from '../switch/learning-bridge.js';
import type { EndpointConfig, MACVLAN_MODE_NAMES } from '../switch/macvlan.js';
import type { Wire } from './topology.js';

/** A macvlan endpoint for trace: its source list may name stations, resolved once the lab exists. */
export interface TraceEndpoint {
  readonly name: string;
  readonly config: Omit<EndpointConfig, 'name' | 'sources'> & { readonly sources: readonly (Mac | string)[] };
  /** A tapyard serves its guest with an access port of this VLAN; undefined: the guest is on the macvtap. */
  readonly vlan: number | undefined;
}

export type TraceTopology =
  | {
      readonly kind: 'macvlan';
      /** null: the default endpoints a and b (a alone for passthru) in `mode`. */
      readonly endpoints: readonly TraceEndpoint[] | null;
      readonly mode: (typeof MACVLAN_MODE_NAMES)[number];
      readonly wire: Wire;
      readonly lowerUnicastFilter: boolean;
      readonly bcCutoff: number | undefined;
      readonly extVlan: number | undefined;
    }
  | {
      readonly kind: 'bridge';
      readonly ports: readonly BridgePortConfig[];
      readonly ageingMs: number | undefined;
      readonly multicast: { readonly snooping: boolean; readonly querier: boolean };
    };

export type TraceFrame =
  | { readonly hex: Uint8Array }
  | { readonly mcast: McastMessage; readonly dst?: string; readonly src?: string }
  | { readonly dst?: string; readonly src?: string; readonly vlan: number | null; readonly etherType: number };

/** One frame of a sequence: who sends what, after how long. */
export interface TraceSend {
  readonly from: string | undefined;
  readonly frame: TraceFrame;
  /** Seconds that pass before it is sent. */
  readonly afterS: number;
}

/** `--mdb GROUP=PORT`: a member behind PORT (host: the bridge's own stack joined). */
export interface TraceMdbEntry {
  readonly group: Uint8Array;
  readonly port: string;
  readonly permanent: boolean;
}

export interface TraceFdbEntry {
  readonly who: string;
  readonly port: string;
  /** `bridge fdb add ... static`: never ages; it moves when WHO appears elsewhere, unless sticky. */
  readonly static: boolean;
  readonly sticky: boolean;
}

export interface TraceConfig {
  readonly topology: TraceTopology;
  readonly fdb: readonly TraceFdbEntry[];
  /** Bridge only: what the mdb already holds. */
  readonly mdb: readonly TraceMdbEntry[];
  /** The first frame: seconds that pass between teaching the FDB and sending it, who, what. */
  readonly afterS: number;
  readonly from: string | undefined;
  readonly frame: TraceFrame;
  /** The frames after it (--then), in order: each sees what the earlier ones taught. */
  readonly then: readonly TraceSend[];
  readonly json: boolean;
  readonly verify: boolean;
}
