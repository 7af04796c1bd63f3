// tapyard forward: join two or more ports through a switch and move frames until told to stop.
// Everything it needs arrives as one typed ForwardConfig (src/config/forward.ts).

import { constants } from 'node:os';
import { PcapngWriter } from '../capture/pcapng-writer.js';
import { type ForwardConfig, forwardHelp, readForwardConfig } from '../config/forward.js';
import { TapyardError } from '../error.js';
import { describeImpairments } from '../impair/config.js';
import { FdPort } from '../port/fd-port.js';
import { tapio } from '../port/native.js';
import { describePort, type Port } from '../port/port.js';
import { isQemuPort } from '../port/qemu.js';
import { isVhostUserPort } from '../port/vhost-user.js';
import { type Assembly, assemble } from '../run/assemble.js';
import { type CountersReport, countersReport, printCounters, statsLine } from '../run/counters-report.js';
import { type InjectAnswer, readInjections } from '../run/inject-channel.js';
import { RxFilterWatcher, trustLinks } from '../trust/watch.js';
import { forwardQueues } from './forward-queues.js';
import { type PortDropWatch, watchPortDrops } from './kernel-reasons.js';
import { forwardOutput } from './output.js';
import { launcher, onInfoSignal, onStopSignal } from './process-guard.js';
import { dropPrivileges, lookUpUser, type RunAs } from './run-as.js';

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
  const end = new RunEnd();
  // From here on a signal ends the run with counters, even while ports are still getting ready.
  // SIGHUP (the terminal went away) and SIGQUIT end it the same way; SIGUSR1 only prints them.
  onStopSignal(end.finish);
  // Injections come from the process that started this run (the ui): when it goes, so does the run.
  if (config.inject) endWithParent();

  const runAs = config.user === null ? null : lookUpUser(config.user);
  const trusted = trustLinks(config);
  const run = assemble(config, {
    observe: (ports) => openCapture(config, ports, end, say),
    onNote: (sentence) => say(`tapyard: ${sentence}`),
    onFatal: (error) => end.fail(error),
  });
  const { ports, forwarder } = run;
  const started = process.hrtime.bigint();
  const elapsed = () => Number(process.hrtime.bigint() - started) / 1e9;
  // A port that failed before it was ready ends the wait as well (through onFatal).
  await Promise.race([Promise.all(ports.map((p) => p.ready)), end.done]);
  // Before giving up root: BPF needs it. The watch ends with this process however it ends.
  const kernelReasons = end.fatal === null && config.kernelReasons ? await watchKernelReasons(config, say) : null;
  const counters = (type: CountersReport['type'], previous: CountersReport | null) => {
    const fatal = type === 'final' ? end.fatal : null;
    const report = countersReport({ type, forwarder, ports, seconds: elapsed(), previous, fatal });
    return kernelReasons?.annotate(report) ?? report;
  };
  // Before giving up root too: it looks into the guests' namespaces from sockets made there.
  const rxFilterWatcher = new RxFilterWatcher(trusted, config, ports, say);
  if (end.fatal === null && runAs !== null) becomeUser(config, runAs, ports, say);
  if (end.fatal === null) sayForwarding(config, run, say);
  if (end.fatal === null) rxFilterWatcher.start();
  // Counters are the run's output, wherever they come from (SIGUSR1, --stats, the end): stdout.
  onInfoSignal(() => printCounters(config.json, counters('interval', null), print));
  if (config.inject && end.fatal === null) {
    const answer = (a: InjectAnswer) => print(config.json ? JSON.stringify(a) : injectedLine(a));
    readInjections(process.stdin, forwarder, ports, answer, end.finish);
  }
  const timers = startTimers(config, end, counters, print);

  await end.done;
  await rxFilterWatcher.stop();
  for (const t of timers) clearInterval(t);
  onStopSignal(null);
  onInfoSignal(() => {});
  forwarder.stop();
  run.observer?.close();

  // Its last word first: the kernel's totals up to now.
  await kernelReasons?.stop();
  printCounters(config.json, counters('final', null), print);
  closeOutput();
  const failure = end.fatal?.message ?? end.captureStop;
  if (failure === null) return 0;
  say(`tapyard: ${failure}`);
  return 1;
}

/** How a run ends: a stop signal, --duration or the end of --inject's input (finish), or a failure. */
class RunEnd {
  /** The port failure that stopped the forwarder, if one did. */
  fatal: TapyardError | null = null;
  /** Why the capture ended the run (--capture-error stop), if it did. */
  captureStop: string | null = null;
  finish: () => void = () => {};
  readonly done = new Promise<void>((resolve) => {
    this.finish = resolve;
  });

  fail(error: TapyardError): void {
    this.fatal = error;
    this.finish();
  }
}

/** The --capture file, named by the ports; a write that fails warns, or ends the run. */
function openCapture(
  config: ForwardConfig,
  ports: readonly Port[],
  end: RunEnd,
  say: (line: string) => void,
): PcapngWriter | undefined {
  if (config.capture === null) return undefined;
  const writer = new PcapngWriter(
    config.capture,
    ports.map((p) => p.name),
    undefined,
    (sentence) => {
      if (config.captureError === 'stop') {
        end.captureStop = sentence;
        end.finish();
      } else say(`tapyard: warning: ${sentence}; forwarding goes on (--capture-error stop ends the run)`);
    },
  );
  writer.sourceGuards = ports.map((p) => (p instanceof FdPort ? p.sourceGuard : null));
  return writer;
}

/** --kernel-reasons: the kernel's own drop reasons, or one line saying why they are not shown. */
async function watchKernelReasons(config: ForwardConfig, say: (line: string) => void): Promise<PortDropWatch | null> {
  try {
    return await watchPortDrops(config);
  } catch (err) {
    if (!(err instanceof TapyardError) || err.code !== 'ENOWATCH') throw err;
    say(`tapyard: the kernel's drop reasons are not shown: ${err.message}`);
    return null;
  }
}

/** --user: give up root once every device is open. */
function becomeUser(config: ForwardConfig, runAs: RunAs, ports: readonly Port[], say: (line: string) => void): void {
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

/** The banner: what is joined, what the kernel's model says of it, and what is impaired. */
function sayForwarding(config: ForwardConfig, run: Assembly, say: (line: string) => void): void {
  say(`tapyard: forwarding ${run.ports.map(describePort).join(' <-> ')}; Ctrl-C to stop`);
  // What the kernel's version of this switch would do to its ports: worth knowing, not an error.
  for (const note of run.switch.report?.().notes ?? []) say(`tapyard: the model says: ${note}`);
  for (const p of config.ports) {
    if (p.impair !== null) say(`tapyard: impairing the frames written to ${p.name}: ${describeImpairments(p.impair)}`);
  }
}

/** --duration's end and --stats' line each second. */
function startTimers(
  config: ForwardConfig,
  end: RunEnd,
  counters: (type: 'interval', previous: CountersReport | null) => CountersReport,
  print: (line: string) => void,
): NodeJS.Timeout[] {
  const timers: NodeJS.Timeout[] = [];
  if (config.durationS !== null) timers.push(setTimeout(end.finish, config.durationS * 1000));
  if (config.stats) {
    let last: CountersReport | null = null;
    timers.push(
      setInterval(() => {
        const now = counters('interval', last);
        print(config.json ? JSON.stringify(now) : statsLine(now));
        last = now;
      }, 1000),
    );
  }
  return timers;
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
