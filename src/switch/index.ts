// A switch from its typed configuration (src/switch/roles.ts), for `tapyard forward --switch`.

import { CrossConnect } from './cross-connect.js';
import type { Switch } from './decision.js';
import { Hub } from './hub.js';
import { LearningBridge } from './learning-bridge.js';
import { Macvlan } from './macvlan.js';
import { Pairs } from './pairs.js';
import type { SwitchConfig } from './roles.js';

export interface SwitchContext {
  /** Monotonic milliseconds; the bridge's FDB ages against it. */
  now?: () => number;
}

/** A switch, not yet bound to ports (the forwarder binds it when it starts). */
export function makeSwitch(config: SwitchConfig, context: SwitchContext = {}): Switch {
  switch (config.kind) {
    case 'cross':
      return new CrossConnect();
    case 'pairs':
      return new Pairs();
    case 'hub':
      return new Hub();
    case 'bridge':
      return new LearningBridge(
        {
          ageingMs: config.ageingMs,
          ...(config.snooping === undefined ? {} : { snooping: config.snooping }),
          ...(config.querier === undefined ? {} : { querier: config.querier }),
          ...(context.now === undefined ? {} : { now: context.now }),
        },
        config.roles,
      );
    case 'macvlan':
      return new Macvlan(undefined, config.roles);
  }
}

export { CrossConnect, Hub, LearningBridge, Macvlan, Pairs };
export { SWITCH_KINDS, type SwitchConfig, type SwitchKind } from './roles.js';
