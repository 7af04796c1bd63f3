// tapyard's commands, one file each, loaded by main.ts once the process guard is in place. Errors
// reach the user as one sentence: exit status 2 for bad usage, 1 for a device or run failure;
// SIGPIPE is ignored (Node does), so a closed pipe is an EPIPE each command handles.

import { existsSync, readFileSync } from 'node:fs';
import { constants } from 'node:os';
import { join } from 'node:path';
import { TapyardError } from '../error.js';
import { lookup } from '../grammar/lookup.js';
import { quote } from '../grammar/quote.js';
import { packageRoot } from '../package-root.js';
import { addonPath, tapio } from '../port/native.js';
import { benchCommand } from './bench.js';
import { forwardCommand } from './forward.js';
import { launcher, onStopSignal } from './process-guard.js';
import { sendCommand } from './send.js';
import { traceCommand } from './trace.js';
import { uiCommand } from './ui.js';
import { whyCommand } from './why.js';

interface Command {
  run: (argv: string[]) => Promise<number>;
  about: string;
  /** It says itself how a stop signal ends it (forward, send, ui), or hands it on (bench). */
  stops?: true;
}

const COMMANDS: Record<string, Command> = {
  forward: {
    run: forwardCommand,
    about: 'join ports (macvtap, tap, pcap, qemu, a built-in guest) and forward frames',
    stops: true,
  },
  send: {
    run: sendCommand,
    about: 'craft or replay frames into a port and wait for the reply (--expect)',
    stops: true,
  },
  trace: { run: traceCommand, about: 'follow one frame through a macvlan or bridge model, hop by hop, with reasons' },
  why: { run: whyCommand, about: "why can't A reach B? the hop where a frame is lost, and what would change it" },
  ui: {
    run: uiCommand,
    about: 'watch a running forward in the browser: topology, live counters, frames traced',
    stops: true,
  },
  // Loaded when asked for: it reads YAML and XML through packages, which no other command needs.
  lab: {
    run: async (argv) => (await import('./lab.js')).labCommand(argv),
    about: 'bring up a lab from a topology file (or a built-in kind); down, status, exec',
    stops: true,
  },
  bench: {
    run: benchCommand,
    about: 'bridge or macvtap? measure every path on this machine and write report/',
    stops: true,
  },
};

function help(): string {
  const rows = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(9)} ${c.about}`);
  return `usage: tapyard COMMAND [options]      tapyard help COMMAND, or tapyard COMMAND --help

commands:
${rows.join('\n')}

  --version  print the version

The lab that the examples use: tapyard lab up macvtap|bridge|FILE (see tapyard lab --help).
Exit status: 0 done, 1 a device or run failed, 2 bad usage, 3 send --expect saw no match in time.`;
}

function version(): string {
  const pkg = JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string };
  return `tapyard ${pkg.version}`;
}

function fail(err: unknown): number {
  if (err instanceof TapyardError) {
    process.stderr.write(`tapyard: ${err.message}\n`);
    return err.code === 'EUSAGE' ? 2 : 1;
  }
  // Not a failure tapyard foresaw: still one sentence; TAPYARD_DEBUG=1 shows where it came from.
  const message = err instanceof Error ? err.message : String(err);
  process.stderr.write(`tapyard: unexpected failure: ${message.split('\n')[0]} (TAPYARD_DEBUG=1 shows more)\n`);
  if (process.env.TAPYARD_DEBUG && err instanceof Error) process.stderr.write(`${err.stack}\n`);
  return 1;
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined) {
    process.stderr.write(`${help()}\n`);
    return 2;
  }
  if (name === '-h' || name === '--help') {
    console.log(help());
    return 0;
  }
  if (name === '--version' || name === '-V') {
    console.log(version());
    return 0;
  }
  if (name === 'help') {
    const [topic] = rest;
    if (topic === undefined) {
      console.log(help());
      return 0;
    }
    const command = lookup(COMMANDS, topic);
    if (command === undefined) throw unknown(topic);
    return command.run(['--help']);
  }
  const command = lookup(COMMANDS, name);
  if (command === undefined) throw unknown(name);
  // A model question or a help text holds nothing open: a stop signal ends it at once, status 0.
  if (command.stops === undefined) onStopSignal(() => process.exit(0));
  // A run ends only through its clean path: the real-time signals, whose default would end it and
  // which Node cannot listen to, are ignored (the addon does it; without it no run can start).
  else if (existsSync(addonPath())) {
    tapio().ignoreRealtimeSignals();
    // A run outlives neither bin/tapyard nor a kill -9 of it: the kernel then sends a stop signal.
    if (launcher !== null) {
      tapio().parentDeathSignal(constants.signals.SIGTERM);
      if (process.ppid !== launcher) process.kill(process.pid, 'SIGTERM');
    }
  }
  return command.run(rest);
}

function unknown(name: string): TapyardError {
  return new TapyardError('EUSAGE', `unknown command ${quote(name)} (${Object.keys(COMMANDS).join(', ')})`);
}

process.on('uncaughtException', (err) => process.exit(fail(err)));
process.on('unhandledRejection', (err) => process.exit(fail(err)));
main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => process.exit(fail(err)),
);
