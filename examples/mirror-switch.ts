// A switch of your own: a cross-connect between the first two ports that also copies every
// frame, both ways, to a third port (a SPAN/mirror port). Only decide() is new; ports, the loop,
// back-pressure and the counters are tapyard's.
//
//   node dist/examples/mirror-switch.js SECONDS WIRE-SPEC GUEST-SPEC MIRROR-SPEC
//   e.g. ... 10 wire=macvtap:ty-1a2b3-mvt guest=tap:ty-1a2b3-gtp,netns=ty-1a2b3-gst mirror=tap:ty-1a2b3-mir,create

import { type Decision, type EthernetView, Forwarder, openPort, parsePortSpec, type Switch } from '../src/index.js';

const MIRROR = 2;

class MirrorSwitch implements Switch {
  decide(ingress: number, _frame: EthernetView, decision: Decision): void {
    if (ingress === MIRROR) {
      decision.discard('mirror: frames from the mirror port go nowhere');
      return;
    }
    decision.forward(ingress === 0 ? 1 : 0, 'mirror: to the other port');
    decision.forward(MIRROR, 'mirror: a copy to the mirror port');
  }
}

const [seconds = '10', ...specs] = process.argv.slice(2);
const ports = specs.map((spec) => openPort(parsePortSpec(spec, 'cross').device, 64));
const forwarder = new Forwarder(ports, new MirrorSwitch());
forwarder.start();
setTimeout(() => {
  forwarder.stop();
  console.log(
    JSON.stringify({
      ledger: forwarder.ledger(),
      ports: ports.map((p) => ({ name: p.name, ...p.counters.snapshot() })),
    }),
  );
}, Number(seconds) * 1000);
