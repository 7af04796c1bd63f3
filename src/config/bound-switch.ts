// A switch bound to named ports, from each port's switch keys written as text: what `forward`
// does with its --port specs, for scripts and tests that have no devices.

import { Options } from '../grammar/keys.js';
import type { Mac } from '../mac.js';
import type { Switch } from '../switch/decision.js';
import { makeSwitch, type SwitchContext } from '../switch/index.js';
import type { SwitchKind } from '../switch/roles.js';
import { readSwitchRole, switchConfig, switchPortKeys } from './switch.js';

export interface NamedPort {
  readonly name: string;
  readonly mac: Mac | null;
  /** The port's switch keys as in a port spec: `role=lower`, `mode=bridge,mac=02:...`. */
  readonly keys?: string;
}

export function boundSwitch(
  kind: SwitchKind,
  ports: readonly NamedPort[],
  own = '',
  context: SwitchContext = {},
): Switch {
  const { known, elsewhere } = switchPortKeys(kind);
  const roles = ports.map((p) => {
    const o = new Options(`port ${p.name}`, p.keys === undefined || p.keys === '' ? [] : p.keys.split(','));
    const role = readSwitchRole(kind, o);
    o.finish(known, elsewhere);
    return role;
  });
  const sw = makeSwitch(
    switchConfig(
      kind,
      new Options(`--switch ${kind}`, own === '' ? [] : own.split(',')),
      roles,
      ports.map((p) => p.name),
    ),
    context,
  );
  sw.bind?.(ports.map((p) => ({ name: p.name, mac: p.mac })));
  return sw;
}
