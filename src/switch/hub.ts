// A repeater: every frame to every other port. The default for more than two ports until a
// learning bridge or a macvlan model is chosen; also the worst case a flooding switch reaches.

import type { EthernetView } from '../frame/ethernet.js';
import { reasons } from '../reason.js';
import type { Decision, Switch, SwitchPort } from './decision.js';

export const HubReason = reasons({
  REPEAT: ['hub-repeat', 'hub: repeated to every other port'],
});

export class Hub implements Switch {
  readonly anyTagStack = true;

  private ports = 0;

  bind(ports: readonly SwitchPort[]): void {
    this.ports = ports.length;
  }

  decide(ingress: number, _frame: EthernetView, decision: Decision): void {
    for (let p = 0; p < this.ports; p++) if (p !== ingress) decision.forward(p, HubReason.REPEAT);
  }
}
