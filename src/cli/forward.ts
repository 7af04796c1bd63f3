// tapyard forward: join two or more ports through a switch and move frames until told to stop.

import { PcapngWriter } from '../capture/pcapng-writer.js';
import { Forwarder, type Ledger } from '../engine/forwarder.js';
import { TapyardError } from '../error.js';
import { rxFilterFromOptions } from '../filter/from-options.js';
import { formatMac } from '../mac.js';
import type { CountersSnapshot } from '../port/counters.js';
import { openPort } from '../port/open.js';
import { DEFAULT_BUDGET, type Port } from '../port/port.js';
import { type PortSpec, parsePortSpec } from '../port/spec.js';
import { makeSwitch, SWITCH_KINDS } from '../switch/index.js';
import { integer, parse, seconds } from './args.js';

export const FORWARD_HELP = `usage: tapyard forward --port NAME=KIND:IFNAME[,OPTION...] --port ... [options]

Join two or more ports and forward frames between them until Ctrl-C (or --duration).

Ports (KIND:IFNAME):
  macvtap:IF      a macvtap in this network namespace, opened through sysfs major:minor
  tap:IF          a tap attached through /dev/net/tun
  pcap:IF         any interface through libpcap (captures inbound frames, injects)
Port options:
  netns=NAME      (tap) the tap lives in network namespace NAME (/run/netns/NAME)
  create          (tap) create the tap if it does not exist (removed on exit)
  mq=on           (tap) attach as one queue of a multi-queue tap (IFF_MULTI_QUEUE)
  offload=on      (macvtap, tap) read GSO super-frames and partial checksums (default off, as QEMU)
  vnet=off        (tap) no virtio_net_hdr on the fd
  bpf=EXPR        (pcap) a capture filter, e.g. bpf=udp port 4789
  dir=both        (pcap) also capture frames the interface sends (default: inbound only)
  rx-filter=on    play the guest NIC's virtio-net receive filter on frames to this port
                  (promisc off; rx-mode=allmulti+..., rx-mac=MAC+MAC, rx-vlan=VID+VID)
  other KEY=VALUE options go to the switch (e.g. role=lower, mode=vepa)

Options:
  --switch KIND   ${SWITCH_KINDS.join(', ')} (default: cross for two ports, hub for more)
  --budget N      frames read per port per turn (default ${DEFAULT_BUDGET})
  --offload       offload=on for every macvtap and tap port
  --busy-poll     never sleep: lower latency, one core always busy (macvtap and tap ports)
  --capture FILE  write every frame read to a pcapng file, one interface per port
  --stats         print a line of rates every second
  --json          print counters as JSON (final object; with --stats, one object per second)
  --duration S    stop after S seconds
  -h, --help      this text

Example (in the lab's hypervisor namespace):
  ip netns exec ty-1a2b3-hv tapyard forward \\
      --port wire=macvtap:ty-1a2b3-mvt --port guest=tap:ty-1a2b3-gtp,netns=ty-1a2b3-gst --stats

On exit it prints every port's counters; rx + clones = tx + drops, each drop under a named reason.
Exit status: 0 when stopped by a signal or --duration, 1 when a device failed or vanished, 2 on bad usage.`;

export interface ForwardReport {
  ports: (CountersSnapshot & { name: string; device: string })[];
  ledger: Ledger;
  balanced: boolean;
  seconds: number;
  error?: string;
}

export async function forwardCommand(argv: string[]): Promise<number> {
  const { values } = parse('forward', argv, {
    port: { type: 'string', multiple: true },
    switch: { type: 'string' },
    budget: { type: 'string' },
    offload: { type: 'boolean' },
    'busy-poll': { type: 'boolean' },
    capture: { type: 'string' },
    stats: { type: 'boolean' },
    json: { type: 'boolean' },
    duration: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    console.log(FORWARD_HELP);
    return 0;
  }
  const specs = (values.port ?? []).map(parsePortSpec);
  if (specs.length < 2)
    throw new TapyardError('EUSAGE', 'forward: give at least two --port NAME=KIND:IFNAME (see tapyard forward --help)');
  const names = new Set<string>();
  for (const spec of specs) {
    if (names.has(spec.name)) throw new TapyardError('EUSAGE', `forward: two ports are named '${spec.name}'`);
    names.add(spec.name);
    if (values.offload && spec.kind !== 'pcap' && spec.options.offload === undefined) spec.options.offload = 'on';
  }
  const budget = integer('forward', 'budget', values.budget, DEFAULT_BUDGET, 1, 1024);
  const duration = seconds('forward', 'duration', values.duration);
  const sw = makeSwitch(values.switch ?? (specs.length === 2 ? 'cross' : 'hub'));

  const out = values.json ? (line: string) => process.stderr.write(`${line}\n`) : (line: string) => console.log(line);
  let fatal: TapyardError | null = null;
  let finish: () => void = () => {};
  const done = new Promise<void>((resolve) => {
    finish = resolve;
  });
  // From here on a signal ends the run with counters, even while ports are still getting ready.
  const onSignal = () => finish();
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const ports = openAll(specs, budget);
  let capture: PcapngWriter | undefined;
  let forwarder: Forwarder;
  try {
    const rxFilters = specs.map((spec, i) => rxFilterFromOptions(spec.name, spec.options, ports[i]!.mac));
    if (values.capture !== undefined)
      capture = new PcapngWriter(
        values.capture,
        ports.map((p) => p.name),
      );
    forwarder = new Forwarder(ports, sw, {
      observer: capture,
      rxFilters,
      busyPoll: values['busy-poll'] === true,
      switchOptions: specs.map((s) => s.options),
      onFatal: (error) => {
        fatal = error;
        finish();
      },
    });
    forwarder.start();
  } catch (err) {
    capture?.close();
    for (const port of ports) port.close();
    throw err;
  }
  const started = process.hrtime.bigint();
  // A port that failed before it was ready ends the wait as well (through onFatal).
  await Promise.race([Promise.all(ports.map((p) => p.ready)), done]);
  if (fatal === null) {
    out(`tapyard: forwarding ${ports.map(describePort).join(' <-> ')}; Ctrl-C to stop`);
    // What the kernel's version of this switch would do to its ports: worth knowing, not an error.
    for (const note of sw.report?.().notes ?? []) out(`tapyard: the model says: ${note}`);
  }
  const timers: NodeJS.Timeout[] = [];
  if (duration !== undefined) timers.push(setTimeout(finish, duration * 1000));
  if (values.stats) timers.push(statsTicker(ports, values.json === true));

  await done;
  for (const t of timers) clearInterval(t);
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  forwarder.stop();
  capture?.close();

  const report = makeReport(forwarder, ports, Number(process.hrtime.bigint() - started) / 1e9, fatal);
  if (values.json) console.log(JSON.stringify(report));
  else printReport(report);
  if (fatal !== null) {
    process.stderr.write(`tapyard: ${(fatal as TapyardError).message}\n`);
    return 1;
  }
  return 0;
}

function openAll(specs: PortSpec[], budget: number): Port[] {
  const ports: Port[] = [];
  try {
    for (const spec of specs) ports.push(openPort(spec, budget));
  } catch (err) {
    for (const port of ports) port.close();
    throw err;
  }
  return ports;
}

function describePort(port: Port): string {
  const extras = [
    port.mac === null ? null : formatMac(port.mac),
    port.hdrLen > 0 ? `vnet ${port.hdrLen}` : null,
    port.offload ? 'offload' : null,
  ];
  return `${port.name} (${port.device}${extras
    .filter((x) => x !== null)
    .map((x) => `, ${x}`)
    .join('')})`;
}

function statsTicker(ports: Port[], json: boolean): NodeJS.Timeout {
  let last = ports.map((p) => p.counters.snapshot());
  let tick = 0;
  return setInterval(() => {
    tick++;
    const now = ports.map((p) => p.counters.snapshot());
    const rows = ports.map((p, i) => ({
      port: p.name,
      rxPps: now[i]!.rxFrames - last[i]!.rxFrames,
      txPps: now[i]!.txFrames - last[i]!.txFrames,
      rxMbps: ((now[i]!.rxBytes - last[i]!.rxBytes) * 8) / 1e6,
      txMbps: ((now[i]!.txBytes - last[i]!.txBytes) * 8) / 1e6,
      drops: sumDrops(now[i]!) - sumDrops(last[i]!),
    }));
    last = now;
    if (json) {
      console.log(JSON.stringify({ t: tick, ports: rows }));
    } else {
      const cells = rows.map(
        (r) => `${r.port} rx ${r.rxPps}/s ${r.rxMbps.toFixed(1)} Mb/s tx ${r.txPps}/s drop ${r.drops}`,
      );
      console.log(`t=${tick}s  ${cells.join('  |  ')}`);
    }
  }, 1000);
}

function sumDrops(s: CountersSnapshot): number {
  return Object.values(s.drops).reduce((a, b) => a + b, 0);
}

function makeReport(forwarder: Forwarder, ports: Port[], secs: number, fatal: TapyardError | null): ForwardReport {
  const ledger = forwarder.ledger();
  const report: ForwardReport = {
    ports: ports.map((p) => ({ name: p.name, device: p.device, ...p.counters.snapshot() })),
    ledger,
    balanced: ledger.rx + ledger.clones === ledger.tx + ledger.drops + ledger.queued,
    seconds: Math.round(secs * 1000) / 1000,
  };
  if (fatal !== null) report.error = fatal.message;
  return report;
}

function printReport(report: ForwardReport): void {
  console.log(`\ncounters after ${report.seconds.toFixed(1)} s:`);
  const pad = Math.max(...report.ports.map((p) => p.name.length));
  for (const p of report.ports) {
    const drops = Object.entries(p.drops).map(([reason, n]) => `${reason} ${n}`);
    console.log(
      `  ${p.name.padEnd(pad)}  rx ${p.rxFrames} frames ${p.rxBytes} B  tx ${p.txFrames} frames ${p.txBytes} B  drops ${drops.length === 0 ? '0' : drops.join(', ')}`,
    );
  }
  const l = report.ledger;
  console.log(
    `  ledger: rx ${l.rx} + clones ${l.clones} = tx ${l.tx} + drops ${l.drops}${l.queued > 0 ? ` + queued ${l.queued}` : ''}  ${report.balanced ? '(balanced)' : '(UNBALANCED)'}`,
  );
}
