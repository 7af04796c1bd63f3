// An experiment in one file: a reflector, like DPDK testpmd's macswap mode. Every frame that
// arrives on the port goes straight back out of it with its MAC addresses swapped, so a host that
// sends to the port gets its own frames back. Counters and the ledger come for free.
//
//   node dist/examples/macswap-reflector.js        (as root: it builds a lab of its own)
//
// The lab is `lab up bridge`: ext ── "eth0" ── Linux bridge ── tap, all in namespaces of its own.
// The reflector sits on the tap, the external host pings an address whose MAC it was told, and
// every echo request comes back to the external host, addressed to it and from that MAC.

import { execFile } from 'node:child_process';
import { type Decision, type EthernetView, Forwarder, labUp, openPort, parsePortSpec, type Switch } from 'tapyard';

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

const PINGS = 5;
/** A MAC nobody has: the bridge floods frames to it, and the reflector sends them back from it. */
const REFLECTOR_MAC = '02:00:00:00:5e:01';

/** A command in a namespace of the lab, run while the forwarder goes on: its output, whatever its status. */
const inNetns = (ns: string, ...args: string[]) =>
  new Promise<string>((resolve) => execFile('ip', ['netns', 'exec', ns, ...args], (_error, out) => resolve(out)));

const lab = await labUp('bridge');
process.once('SIGINT', () => {
  lab.down();
  process.exit(130);
});
try {
  const { NS_EXT, NS_HV, EXT_IF, WIRE_IF, GUEST_IP } = lab.env;
  // The external host's traffic: pings to GUEST_IP, which it believes is at REFLECTOR_MAC.
  const ext = (...args: string[]) => inNetns(NS_EXT!, ...args);
  const received = async () => Number(await ext('cat', `/sys/class/net/${EXT_IF}/statistics/rx_packets`));
  await ext('ip', 'neigh', 'replace', GUEST_IP!, 'lladdr', REFLECTOR_MAC, 'dev', EXT_IF!);
  // Counted before the reflector starts, so whatever it turns around is after this.
  const before = await received();

  const port = openPort(parsePortSpec(`wire=tap:${WIRE_IF},netns=${NS_HV}`, 'cross').device, 64);
  const forwarder = new Forwarder([port], new MacSwap());
  forwarder.start();
  await port.ready;
  // Nobody answers these pings (the reflector only turns them around), so ping says 100 % loss.
  await ext('ping', '-q', '-c', String(PINGS), '-i', '0.1', '-W', '1', GUEST_IP!);

  forwarder.stop();
  const { rx, tx, drops } = forwarder.ledger();
  console.log(
    JSON.stringify({
      lab: lab.id,
      pings: PINGS,
      read: rx,
      reflected: tx,
      drops,
      backAtExt: (await received()) - before,
      counters: port.counters.snapshot(),
    }),
  );
  port.close();
} finally {
  lab.down();
}
