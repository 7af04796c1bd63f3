// tapyard send: put crafted or replayed frames into one port and, with --expect, wait for the
// frame that comes back. Everything it needs arrives as one typed SendConfig (src/config/send.ts);
// the loop is src/send/sender.ts.

import { PcapngWriter } from '../capture/pcapng-writer.js';
import { EXIT_NOT_MET, readSendConfig, type SendConfig, sendHelp } from '../config/send.js';
import { describe } from '../frame/describe.js';
import type { Frame } from '../frame/frame.js';
import { usageError } from '../grammar/value.js';
import { openPort } from '../port/open.js';
import { DEFAULT_BUDGET, type Port } from '../port/port.js';
import { carrierUp } from '../send/carrier.js';
import { frameBytes } from '../send/frame-spec.js';
import { runSend, type SendOutcome, type SendPlan } from '../send/sender.js';
import { onStopSignal } from './process-guard.js';

/**
 * Ports whose own MAC is the station a frame written to them leaves from: a macvtap's is the VM's
 * NIC, a pcap port's is its interface's. A tap's MAC is the host side's and a guest's is the far
 * end's, so there the spec must say which station sends.
 */
const STATION_KINDS: readonly string[] = ['macvtap', 'pcap'];

export async function sendCommand(argv: string[]): Promise<number> {
  const config = readSendConfig(argv);
  if (config === null) {
    console.log(sendHelp());
    return 0;
  }
  return send(config);
}

async function send(config: SendConfig): Promise<number> {
  const say = (line: string) => process.stderr.write(`${line}\n`);
  if (config.frames.kind === 'spec') for (const w of config.frames.template.warnings) say(`tapyard: warning: ${w}`);
  let stdoutOpen = true;
  const print = (line: string) => {
    if (stdoutOpen) process.stdout.write(`${line}\n`);
  };
  process.stdout.on('error', () => {
    stdoutOpen = false;
  });
  let stop: () => void = () => {};
  const stopped = new Promise<void>((resolve) => {
    stop = resolve;
  });
  let interrupted = false;
  onStopSignal(() => {
    interrupted = true;
    stop();
  });

  // Opened before the port, so a path that cannot be written is said before anything is sent.
  const out =
    config.out === null
      ? null
      : new PcapngWriter(config.out, [config.port.name], undefined, (sentence) =>
          say(`tapyard: warning: ${sentence}; sending goes on`),
        );
  let port: Port;
  try {
    port = openPort(config.port.device, DEFAULT_BUDGET);
  } catch (err) {
    out?.close();
    if (config.frames.kind === 'pcap') config.frames.captured.close();
    throw err;
  }
  let outcome: SendOutcome;
  try {
    const plan = planFor(config, port);
    if (!(await carrierUp(config.port.device))) {
      say(`tapyard: warning: the ${port.device} has no carrier (is it down?): the kernel may drop what is written`);
    }
    const line = (event: string, at: number, { bytes, offset, length }: FrameBytes, extra = {}) => {
      // A refused frame is a failure, not chatter: --quiet still names it.
      if (config.quiet && event !== 'refused') return;
      const text = describe(bytes, offset, length);
      if (!config.json) return print(`${event.padEnd(7)} ${at.toFixed(6)}  ${text}`);
      const hex = Buffer.from(bytes.buffer, bytes.byteOffset + offset, length).toString('hex');
      print(JSON.stringify({ event, at: round6(at), port: port.name, ...extra, length, frame: text, hex }));
    };
    outcome = await runSend(
      port,
      plan,
      {
        sent: (bytes, index, at) => line('sent', at, whole(bytes), { index }),
        refused: (bytes, index, reason, at) => line('refused', at, whole(bytes), { index, reason }),
        matched: (f: Frame, at) => {
          line('matched', at, f);
          // Microseconds since 1970, finer than Date.now()'s milliseconds.
          out?.frame(0, Math.round((performance.timeOrigin + performance.now()) * 1000), f.bytes, f.offset, f.length);
        },
      },
      { expect: config.expect, timeoutS: config.timeoutS, stop: stopped },
    );
  } finally {
    onStopSignal(null);
    await (port.closeAfterSent?.() ?? port.close());
    out?.close();
    if (config.frames.kind === 'pcap') config.frames.captured.close();
  }
  const run = { config, port, outcome };
  printSummary(run, out, { print, say });
  return exitStatus(run, interrupted, say);
}

/** A send that has ended: what it was told, through which port, and how it went. */
interface SendRun {
  readonly config: SendConfig;
  readonly port: Port;
  readonly outcome: SendOutcome;
}

interface Lines {
  /** The run's output (standard output). */
  print(line: string): void;
  /** Sentences about the run (standard error). */
  say(line: string): void;
}

/** Where a printed frame's bytes are: a frame in a larger buffer, or a whole buffer (`whole`). */
interface FrameBytes {
  readonly bytes: Uint8Array;
  readonly offset: number;
  readonly length: number;
}

const whole = (bytes: Uint8Array): FrameBytes => ({ bytes, offset: 0, length: bytes.length });

/** The last line: a JSON summary object, or one sentence. */
function printSummary({ config, port, outcome }: SendRun, out: PcapngWriter | null, io: Lines) {
  if (config.json) {
    io.print(
      JSON.stringify({
        event: 'summary',
        port: port.name,
        device: port.device,
        planned: outcome.planned,
        sent: outcome.sent,
        received: outcome.received,
        matched: outcome.matched,
        drops: outcome.drops,
        expect: config.expect?.text ?? null,
        met: outcome.expectationMet,
        seconds: round6(outcome.seconds),
        ...(out === null ? {} : { saved: out.frames, out: config.out }),
      }),
    );
  } else
    io.say(`tapyard: ${summary(config, port, outcome)}${out === null ? '' : `; saved ${out.frames} to ${config.out}`}`);
}

/** 0 done, 1 the port failed or refused frames, EXIT_NOT_MET nothing matched --expect in time. */
function exitStatus({ config, port, outcome }: SendRun, interrupted: boolean, say: (line: string) => void): number {
  const refused = Object.entries(outcome.drops)
    .filter(([reason]) => reason.startsWith('tx-'))
    .reduce((sum, [, n]) => sum + n, 0);
  if (outcome.fatal !== null) {
    say(`tapyard: ${outcome.fatal.message}`);
    return 1;
  }
  if (refused > 0) {
    say(`tapyard: the ${port.device} refused ${refused} of the frames (see refused lines)`);
    return 1;
  }
  // expectationMet is false only when there was an --expect to meet.
  const expect = config.expect;
  if (outcome.expectationMet === false && expect !== null && interrupted) {
    // Stopped before its time was up: the wait was cut short, not answered (status 0, as after any signal).
    say(`tapyard: interrupted after ${outcome.seconds.toFixed(1)} s: no frame matched --expect '${expect.text}' yet`);
    return 0;
  }
  if (outcome.expectationMet === false && expect !== null) {
    say(`tapyard: no frame matched --expect '${expect.text}' within ${config.timeoutS} s of the last frame`);
    return EXIT_NOT_MET;
  }
  return 0;
}

/** The frames as the port will carry them: the source MAC filled in, every one checked to fit. */
function planFor(config: SendConfig, port: Port): SendPlan {
  const f = config.frames;
  const tooLong = (which: string, length: number) =>
    usageError(
      `${which} is ${length} bytes: the ${port.device} carries at most ${port.maxFrame} ` +
        '(its MTU, the Ethernet header and one VLAN tag)',
    );
  const plan = { interval: config.interval ?? 0, count: config.count };
  if (f.kind === 'pcap') {
    const { longest } = f.captured;
    if (longest.length > port.maxFrame) {
      throw tooLong(f.captured.count === 1 ? 'the frame' : `frame ${longest.n}`, longest.length);
    }
    return { ...plan, frames: f.captured, times: config.interval === null ? 'captured' : null };
  }
  let bytes: Uint8Array;
  if (f.kind === 'spec') {
    const station = STATION_KINDS.includes(port.kind) ? port.mac : null;
    if (f.template.srcFromPort && station === null) {
      throw usageError(
        `a frame into the ${port.kind} port ${port.name} comes from a station tapyard does not know: ` +
          'give it a source with eth src=MAC',
      );
    }
    bytes = frameBytes(f.template, station ?? 0);
  } else bytes = f.bytes;
  if (bytes.length > port.maxFrame) throw tooLong('the frame', bytes.length);
  return { ...plan, frames: [bytes], times: null };
}

function summary(config: SendConfig, port: Port, o: SendOutcome): string {
  const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
  let text = `sent ${o.sent} of ${plural(o.planned, 'frame')} on ${port.name} (${port.device})`;
  text += ` in ${o.seconds.toFixed(3)} s`;
  text += `; read back ${o.received}`;
  if (config.expect !== null) text += `, ${o.matched} matching '${config.expect.text}'`;
  const drops = Object.entries(o.drops).map(([reason, n]) => `${reason} ${n}`);
  if (drops.length > 0) text += `; counted: ${drops.join(', ')}`;
  return text;
}

function round6(x: number): number {
  return Math.round(x * 1e6) / 1e6;
}
