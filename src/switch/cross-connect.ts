// The simplest switch: two ports joined by a wire. What QEMU does between a tap and a NIC.

import { TapyardError } from '../error.js';
import type { EthernetView } from '../frame/ethernet.js';
import { reasons } from '../reason.js';
import type { Decision, Switch, SwitchPort } from './decision.js';

export const CrossConnectReason = reasons({
  PEER: ['cross-peer', 'cross-connect: to the other port'],
});

export class CrossConnect implements Switch {
  readonly anyTagStack = true;

  bind(ports: readonly SwitchPort[]): void {
    if (ports.length !== 2)
      throw new TapyardError('EUSAGE', `a cross-connect joins exactly two ports, not ${ports.length}`);
  }

  decide(ingress: number, _frame: EthernetView, decision: Decision): void {
    decision.forward(ingress === 0 ? 1 : 0, CrossConnectReason.PEER);
  }
}
