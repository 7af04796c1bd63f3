// The switches a forwarder can run, by name.

import { TapyardError } from '../error.js';
import { CrossConnect } from './cross-connect.js';
import type { Switch } from './decision.js';
import { Hub } from './hub.js';

export const SWITCH_KINDS = ['cross', 'hub'] as const;

export function makeSwitch(kind: string): Switch {
  switch (kind) {
    case 'cross':
      return new CrossConnect();
    case 'hub':
      return new Hub();
    default:
      throw new TapyardError('EUSAGE', `unknown switch '${kind}' (${SWITCH_KINDS.join(', ')})`);
  }
}
