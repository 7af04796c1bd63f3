// What each forwarder port is to the switch between them, as typed configuration: the CLI reads
// it from the port specs (src/config/switch.ts), the switch combines it with the ports' MACs in
// bind(). Nothing here is text.

import type { Mac } from '../mac.js';
import type { BridgePortConfig } from './learning-bridge.js';
import type { EndpointConfig, LowerConfig } from './macvlan.js';

/** role=host is the bridge device's own stack; every other port is a bridge port. */
export type BridgeRole =
  | { readonly role: 'host'; readonly mac: Mac | null }
  | { readonly role: 'port'; readonly port: Omit<BridgePortConfig, 'name'> };

/** role=lower is the wire side of the lower device; role=host its own stack; the rest endpoints. */
export type MacvlanRole =
  | { readonly role: 'lower'; readonly lower: LowerConfig }
  | { readonly role: 'host'; readonly mac: Mac | null }
  | { readonly role: 'endpoint'; readonly endpoint: Omit<EndpointConfig, 'name'> };

export type SwitchConfig =
  | { readonly kind: 'cross' }
  | { readonly kind: 'pairs' }
  | { readonly kind: 'hub' }
  | {
      readonly kind: 'bridge';
      readonly ageingMs: number;
      /** mcast_snooping (default on) and mcast_querier (default off). */
      readonly snooping?: boolean;
      readonly querier?: boolean;
      readonly roles: readonly BridgeRole[];
    }
  | { readonly kind: 'macvlan'; readonly roles: readonly MacvlanRole[] };

export type SwitchKind = SwitchConfig['kind'];
export const SWITCH_KINDS: readonly SwitchKind[] = ['cross', 'pairs', 'hub', 'bridge', 'macvlan'];
