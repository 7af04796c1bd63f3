// Several cross-connects in one forwarder: ports 0 and 1 are one wire, 2 and 3 the next, and so on.
// What one QEMU per VM does between each guest's NIC and its own macvtap, run by one process: the
// guests side by side on one lower (`lab up guests`) share one loop, one ledger and one --json
// stream, and whatever reaches one guest from another went through the kernel, never through us.

import { TapyardError } from '../error.js';
import type { EthernetView } from '../frame/ethernet.js';
import { reasons } from '../reason.js';
import type { Decision, Switch, SwitchPort } from './decision.js';

export const PairsReason = reasons({
  PEER: ['pairs-peer', 'pairs: to the other port of its pair'],
});

/** The port paired with `port`: 0 <-> 1, 2 <-> 3, ... */
export function pairedPort(port: number): number {
  return port % 2 === 0 ? port + 1 : port - 1;
}

export class Pairs implements Switch {
  readonly anyTagStack = true;

  bind(ports: readonly SwitchPort[]): void {
    if (ports.length < 2 || ports.length % 2 !== 0) {
      throw new TapyardError(
        'EUSAGE',
        `the pairs switch joins ports two by two (1 with 2, 3 with 4, ...): ${ports.length} ports is not pairs`,
      );
    }
  }

  decide(ingress: number, _frame: EthernetView, decision: Decision): void {
    decision.forward(pairedPort(ingress), PairsReason.PEER);
  }
}
