#!/usr/bin/env node
// tapyard: one entry point, one file per command. Errors reach the user as one sentence.

import { TapyardError } from '../error.js';
import { benchCommand } from './bench.js';
import { forwardCommand } from './forward.js';
import { traceCommand } from './trace.js';

const COMMANDS: Record<string, { run: (argv: string[]) => Promise<number>; about: string }> = {
  forward: { run: forwardCommand, about: 'join ports (macvtap, tap, pcap) and forward frames between them' },
  bench: { run: benchCommand, about: 'bridge or macvtap? measure every path on this machine and write report/' },
  trace: { run: traceCommand, about: 'follow one frame through a macvlan or bridge model, hop by hop, with reasons' },
};

function help(): string {
  const rows = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(9)} ${c.about}`);
  return `usage: tapyard COMMAND [options]   (tapyard COMMAND --help for more)

commands:
${rows.join('\n')}

The lab that the examples use: scripts/netns/lab up macvtap|bridge (see scripts/netns/lab help).`;
}

function fail(err: unknown): number {
  if (err instanceof TapyardError) {
    process.stderr.write(`tapyard: ${err.message}\n`);
    return err.code === 'EUSAGE' ? 2 : 1;
  }
  const message = err instanceof Error ? err.message : String(err);
  process.stderr.write(`tapyard: internal error: ${message.split('\n')[0]}\n`);
  if (process.env.TAPYARD_DEBUG && err instanceof Error) process.stderr.write(`${err.stack}\n`);
  return 70;
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '-h' || name === '--help' || name === 'help') {
    console.log(help());
    return name === undefined ? 2 : 0;
  }
  const command = COMMANDS[name];
  if (command === undefined)
    throw new TapyardError('EUSAGE', `unknown command '${name}' (${Object.keys(COMMANDS).join(', ')})`);
  return command.run(rest);
}

process.on('uncaughtException', (err) => process.exit(fail(err)));
process.on('unhandledRejection', (err) => process.exit(fail(err)));
main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => process.exit(fail(err)),
);
