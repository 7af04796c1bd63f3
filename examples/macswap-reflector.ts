// An experiment in 30 lines: a reflector, like DPDK testpmd's macswap mode. Every frame that
// arrives on the port goes straight back out of it with its MAC addresses swapped, so a host
// that sends to the port gets its own frames back. Counters and the ledger come for free.
//
//   node dist/examples/macswap-reflector.js wire=macvtap:IF [SECONDS]
//
// (A script of your own imports from 'tapyard' instead of '../src/index.js'.)

import { type Decision, type EthernetView, Forwarder, openPort, parsePortSpec, type Switch } from '../src/index.js';

/** The one decision of this experiment: back where it came from, source and destination swapped. */
class MacSwap implements Switch {
  decide(ingress: number, frame: EthernetView, decision: Decision): void {
    const b = frame.bytes;
    const at = frame.offset;
    for (let i = 0; i < 6; i++) {
      const dst = b[at + i]!;
      b[at + i] = b[at + 6 + i]!;
      b[at + 6 + i] = dst;
    }
    decision.forward(ingress, 'macswap: back out the ingress port, MACs swapped');
  }
}

const [spec = '', seconds = '10'] = process.argv.slice(2);
const port = openPort(parsePortSpec(spec, 'cross').device, 64);
const forwarder = new Forwarder([port], new MacSwap());
forwarder.start();
setTimeout(() => {
  forwarder.stop();
  const { rx, tx, drops } = forwarder.ledger();
  console.log(JSON.stringify({ reflected: tx, read: rx, drops, counters: port.counters.snapshot() }));
}, Number(seconds) * 1000);
