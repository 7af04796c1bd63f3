// Switches by name, for the CLI: `tapyard forward --switch KIND`. Each kind learns its topology
// from the ports' spare options in bind() (see the kind's file for the options it reads).

import { TapyardError } from '../error.js';
import { CrossConnect } from './cross-connect.js';
import type { Switch } from './decision.js';
import { Hub } from './hub.js';
import { DEFAULT_AGEING_MS, LearningBridge } from './learning-bridge.js';
import { Macvlan } from './macvlan.js';

export const SWITCH_KINDS = ['cross', 'hub', 'bridge', 'macvlan'] as const;
export type SwitchKind = (typeof SWITCH_KINDS)[number];

export interface SwitchOptions {
  /** bridge: ageing time in seconds (the kernel's default is 300). */
  ageing?: string;
  [key: string]: string | undefined;
}

export interface SwitchContext {
  /** Monotonic milliseconds; the bridge's FDB ages against it. */
  now?: () => number;
}

/** A switch of `kind`, not yet bound to ports. Throws a TapyardError for an unknown kind or option. */
export function makeSwitch(kind: string, options: Readonly<SwitchOptions> = {}, context: SwitchContext = {}): Switch {
  const allow = (...keys: string[]) => {
    for (const key of Object.keys(options)) {
      if (options[key] !== undefined && !keys.includes(key)) {
        throw new TapyardError(
          'EUSAGE',
          `the ${kind} switch has no option '${key}'${keys.length > 0 ? ` (it takes ${keys.join(', ')})` : ''}`,
        );
      }
    }
  };
  switch (kind) {
    case 'cross':
      allow();
      return new CrossConnect();
    case 'hub':
      allow();
      return new Hub();
    case 'bridge': {
      allow('ageing');
      let ageingMs = DEFAULT_AGEING_MS;
      if (options.ageing !== undefined) {
        const seconds = Number(options.ageing);
        if (!(seconds > 0) || !Number.isFinite(seconds))
          throw new TapyardError('EUSAGE', `ageing=${options.ageing} must be a positive number of seconds`);
        ageingMs = seconds * 1000;
      }
      return new LearningBridge({ ageingMs, ...(context.now === undefined ? {} : { now: context.now }) });
    }
    case 'macvlan':
      allow();
      return new Macvlan();
    default:
      throw new TapyardError('EUSAGE', `unknown switch '${kind}' (${SWITCH_KINDS.join(', ')})`);
  }
}

export { CrossConnect, Hub, LearningBridge, Macvlan };
