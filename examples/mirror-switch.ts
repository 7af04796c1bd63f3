// A switch of your own: a cross-connect between the first two ports that also copies every
// frame, both ways, to a third port (a SPAN/mirror port). Only decide() is new; ports, the loop,
// back-pressure and the counters are tapyard's.
//
//   node dist/examples/mirror-switch.js        (as root: it builds a lab of its own)
//
// The lab is `lab up bridge`: ext ── "eth0" ── Linux bridge ── tap, and a guest namespace behind
// a tap of its own. The switch joins the two taps and mirrors to a third tap it creates; the
// external host pings the guest through it.

import { execFile } from 'node:child_process';
import { type Decision, type EthernetView, Forwarder, labUp, openPort, parsePortSpec, type Switch } from 'tapyard';

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

/** A command in a namespace of the lab, run while the forwarder goes on: its output, whatever its status. */
const inNetns = (ns: string, ...args: string[]) =>
  new Promise<string>((resolve) => execFile('ip', ['netns', 'exec', ns, ...args], (_error, out) => resolve(out)));

const lab = await labUp('bridge');
process.once('SIGINT', () => {
  lab.down();
  process.exit(130);
});
try {
  const { NS_EXT, NS_HV, NS_GST, WIRE_IF, GUEST_IF, GUEST_IP } = lab.env;
  const mirror = `ty-${lab.id}-mir`;
  const specs = [
    `wire=tap:${WIRE_IF},netns=${NS_HV}`,
    `guest=tap:${GUEST_IF},netns=${NS_GST}`,
    `mirror=tap:${mirror},netns=${NS_HV},create`,
  ];
  const ports = specs.map((spec) => openPort(parsePortSpec(spec, 'cross').device, 64));
  const forwarder = new Forwarder(ports, new MirrorSwitch());
  forwarder.start();
  await Promise.all(ports.map((p) => p.ready));
  // A tap takes frames only while its link is up; the one created here starts down.
  await inNetns(NS_HV!, 'ip', 'link', 'set', mirror, 'up');

  const ping = await inNetns(NS_EXT!, 'ping', '-q', '-c', '3', '-i', '0.2', '-W', '2', GUEST_IP!);

  forwarder.stop();
  console.log(
    JSON.stringify({
      lab: lab.id,
      ping: /\d+ packets transmitted, \d+ received/.exec(ping)?.[0] ?? 'no ping',
      ledger: forwarder.ledger(),
      ports: ports.map((p) => ({ name: p.name, ...p.counters.snapshot() })),
    }),
  );
  for (const p of ports) p.close();
} finally {
  lab.down();
}
