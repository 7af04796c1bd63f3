// tapyard forward: join two or more ports through a switch and move frames until told to stop.
// Everything it needs arrives as one typed ForwardConfig (src/config/forward.ts).

import { constants } from 'node:os';
import { PcapngWriter } from '../capture/pcapng-writer.js';
import { type ForwardConfig, forwardHelp, readForwardConfig } from '../config/forward.js';
import { Forwarder } from '../engine/forwarder.js';
import { TapyardError } from '../error.js';
import { buildRxFilter } from '../filter/guest-filter.js';
import { describeImpairments } from '../impair/config.js';
import { tapio } from '../port/native.js';
import { openPort } from '../port/open.js';
import { describePort, type Port } from '../port/port.js';
import { isQemuPort } from '../port/qemu.js';
import { isVhostUserPort } from '../port/vhost-user.js';
import { makeSwitch } from '../switch/index.js';
import { RxFilterWatcher, trustLinks } from '../trust/watch.js';
import { type CountersReport, countersReport, printReport, statsLine } from './counters-report.js';
import { followAddresses } from './follow-address.js';
import { forwardQueues } from './forward-queues.js';
import { type InjectAnswer, readInjections } from './inject-channel.js';
import { type PortDropWatch, watchPortDrops } from './kernel-reasons.js';
import { forwardOutput } from './output.js';
import { launcher, onInfoSignal, onStopSignal } from './process-guard.js';
import { dropPrivileges, lookUpUser } from './run-as.js';

export async function forwardCommand(argv: string[]): Promise<number> {
  const config = readForwardConfig(argv);
  if (config === null) {
    console.log(forwardHelp());
    return 0;
  }
  return config.queues > 1 ? forwardQueues(config) : forward(config);
}

async function forward(config: ForwardConfig): Promise<number> {
  // Standard output carries the capture when it is `-`; everything else then goes to stderr.
  const { say, print, close: closeOutput } = forwardOutput(config.capture === '-');

  let fatal: TapyardError | null = null;
  let captureStop: string | null = null;
  let finish: () => void = () => {};
  const done = new Promise<void>((resolve) => {
    finish = resolve;
  });
  // From here on a signal ends the run with counters, even while ports are still getting ready.
  // SIGHUP (the terminal went away) and SIGQUIT end it the same way; SIGUSR1 only prints them.
  onStopSignal(finish);
  // Injections come from the process that started this run (the ui): when it goes, so does the run.
  if (config.inject) endWithParent();

  const runAs = config.user === null ? null : lookUpUser(config.user);
  const trusted = trustLinks(config);
  const sw = makeSwitch(config.switch);
  const ports = openAll(config);
  let capture: PcapngWriter | undefined;
  let forwarder: Forwarder;
  try {
    const rxFilters = config.ports.map((p, i) =>
      p.rxFilter === null ? null : buildRxFilter(p.name, p.rxFilter, ports[i]!.mac),
    );
    if (config.capture !== null) {
      capture = new PcapngWriter(
        config.capture,
        ports.map((p) => p.name),
        undefined,
        (sentence) => {
          if (config.captureError === 'stop') {
            captureStop = sentence;
            finish();
          } else say(`tapyard: warning: ${sentence}; forwarding goes on (--capture-error stop ends the run)`);
        },
      );
    }
    forwarder = new Forwarder(ports, sw, {
      observer: capture,
      rxFilters,
      busyPoll: config.busyPoll,
      impairments: config.ports.map((p) => p.impair),
      vlan: config.vlan,
      onNote: (sentence) => say(`tapyard: ${sentence}`),
      onFatal: (error) => {
        fatal = error;
        finish();
      },
    });
    forwarder.start();
    followAddresses({
      ports,
      rxFilters,
      filterMacGiven: config.ports.map((p) => p.rxFilter?.mac != null),
      portMacGiven: config.ports.map((p) => 'mac' in p.device && p.device.mac != null),
      sw,
      say,
    });
  } catch (err) {
    capture?.close();
    for (const port of ports) port.close();
    throw err;
  }
  const started = process.hrtime.bigint();
  const elapsed = () => Number(process.hrtime.bigint() - started) / 1e9;
  // A port that failed before it was ready ends the wait as well (through onFatal).
  await Promise.race([Promise.all(ports.map((p) => p.ready)), done]);
  // Before giving up root: BPF needs it. The watch ends with this process however it ends.
  let kernelReasons: PortDropWatch | null = null;
  if (fatal === null && config.kernelReasons) {
    try {
      kernelReasons = await watchPortDrops(config);
    } catch (err) {
      if (!(err instanceof TapyardError) || err.code !== 'ENOWATCH') throw err;
      say(`tapyard: the kernel's drop reasons are not shown: ${err.message}`);
    }
  }
  const annotate = (r: CountersReport) => kernelReasons?.annotate(r) ?? r;
  if (fatal === null && runAs !== null) {
    // A VM's vhost-user socket belongs to the user tapyard becomes, as QEMU's -runas sockets do.
    for (const p of ports) if (isVhostUserPort(p)) p.ownSocket(runAs.uid, runAs.gid);
    dropPrivileges(
      runAs,
      ports.flatMap((p) => (isQemuPort(p) && p.socketFile !== null ? [p.socketFile] : [])),
    );
    // A change of credentials clears it (bin/tapyard's, or the ui's for --inject).
    if (config.inject || launcher !== null) endWithParent();
    say(`tapyard: running as ${runAs.user} (uid ${runAs.uid}); every device is open`);
  }
  if (fatal === null) {
    say(`tapyard: forwarding ${ports.map(describePort).join(' <-> ')}; Ctrl-C to stop`);
    // What the kernel's version of this switch would do to its ports: worth knowing, not an error.
    for (const note of sw.report?.().notes ?? []) say(`tapyard: the model says: ${note}`);
    for (const p of config.ports) {
      if (p.impair !== null)
        say(`tapyard: impairing the frames written to ${p.name}: ${describeImpairments(p.impair)}`);
    }
  }
  const rxFilterWatcher = new RxFilterWatcher(trusted, config, ports, say);
  if (fatal === null) rxFilterWatcher.start();
  // Counters are the run's output, wherever they come from (SIGUSR1, --stats, the end): stdout.
  onInfoSignal(() => {
    const now = annotate(countersReport('interval', forwarder, ports, elapsed(), null, null));
    if (config.json) print(JSON.stringify(now));
    else printReport(now, print);
  });
  if (config.inject && fatal === null) {
    const answer = (a: InjectAnswer) => print(config.json ? JSON.stringify(a) : injectedLine(a));
    readInjections(process.stdin, forwarder, ports, answer, finish);
  }
  const timers: NodeJS.Timeout[] = [];
  if (config.durationS !== null) timers.push(setTimeout(finish, config.durationS * 1000));
  if (config.stats) {
    let last: CountersReport | null = null;
    timers.push(
      setInterval(() => {
        const now = annotate(countersReport('interval', forwarder, ports, elapsed(), last, null));
        print(config.json ? JSON.stringify(now) : statsLine(now));
        last = now;
      }, 1000),
    );
  }

  await done;
  await rxFilterWatcher.stop();
  for (const t of timers) clearInterval(t);
  onStopSignal(null);
  onInfoSignal(() => {});
  forwarder.stop();
  capture?.close();

  // Its last word first: the kernel's totals up to now.
  await kernelReasons?.stop();
  const report = annotate(countersReport('final', forwarder, ports, elapsed(), null, fatal));
  if (config.json) print(JSON.stringify(report));
  else printReport(report, print);
  closeOutput();
  if (fatal !== null) {
    say(`tapyard: ${(fatal as TapyardError).message}`);
    return 1;
  }
  if (captureStop !== null) {
    say(`tapyard: ${captureStop}`);
    return 1;
  }
  return 0;
}

/**
 * Open every port, in order. A built-in guest without a MAC of its own takes the MAC of the
 * first macvtap, as a VM's NIC takes its macvtap's (macvlan delivers only that MAC's unicast);
 * behind a tap it keeps a MAC of its own (the tap's MAC is the bridge's, for its own stack).
 */
function openAll(config: ForwardConfig): Port[] {
  const ports: (Port | null)[] = config.ports.map(() => null);
  try {
    config.ports.forEach((p, i) => {
      if (p.device.kind !== 'guest') ports[i] = openPort(p.device, config.budget);
    });
    const deviceMac = ports.find((p) => p?.kind === 'macvtap')?.mac ?? null;
    config.ports.forEach((p, i) => {
      if (p.device.kind === 'guest')
        ports[i] = openPort({ ...p.device, mac: p.device.mac ?? deviceMac }, config.budget);
    });
  } catch (err) {
    for (const port of ports) port?.close();
    throw err;
  }
  return ports as Port[];
}

/** SIGTERM, a stop signal, when the parent process ends, however it ends (kill -9 too). */
function endWithParent(): void {
  tapio().parentDeathSignal(constants.signals.SIGTERM);
}

function injectedLine(a: InjectAnswer): string {
  if (a.error !== undefined) return `tapyard: not injected: ${a.error}`;
  const went = [
    ...a.tx.map((p) => `written to ${p}`),
    ...a.drops.map((d) => `dropped on ${d.port} (${d.reason})`),
    ...(a.queued > 0 ? [`${a.queued} queued`] : []),
  ];
  return `tapyard: injected ${a.bytes} bytes on ${a.port}: ${went.join(', ')}`;
}
