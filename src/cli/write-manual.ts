// node dist/src/cli/write-manual.js DIR: writes DIR/man1/tapyard.1, DIR/man1/tapyard-COMMAND.1 for
// every command `tapyard --help` lists, and DIR/tapyard.bash, each made from what the command
// itself prints for --help (src/cli/manual.ts). scripts/install installs them.

import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../package-root.js';
import { bashCompletion, type CommandHelp, mainPage, manPage } from './manual.js';

const MAIN = join(packageRoot(), 'dist', 'src', 'cli', 'main.js');

/** What the built CLI prints for these arguments: the very text a user sees. */
function helpOf(...args: string[]): string {
  return execFileSync(process.execPath, [MAIN, ...args], { encoding: 'utf8' }).trimEnd();
}

/** The commands as `tapyard --help` lists them: `  NAME  about`, under `commands:`. */
function listed(top: string): { name: string; about: string }[] {
  const lines = top.split('\n');
  const start = lines.indexOf('commands:');
  const out: { name: string; about: string }[] = [];
  for (const line of lines.slice(start + 1)) {
    const m = /^ {2}([a-z][a-z-]*) +(.+)$/.exec(line);
    if (m === null) break;
    out.push({ name: m[1]!, about: m[2]! });
  }
  return out;
}

const [dir] = process.argv.slice(2);
if (dir === undefined) {
  process.stderr.write('usage: node dist/src/cli/write-manual.js DIR\n');
  process.exit(2);
}
const version = (JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string }).version;
const topHelp = helpOf('--help');
const top: CommandHelp = { name: 'tapyard', about: 'a userspace Ethernet frame forwarder for Linux', help: topHelp };
const commands: CommandHelp[] = listed(topHelp).map((c) => ({ ...c, help: helpOf(c.name, '--help') }));
if (commands.length === 0) {
  process.stderr.write('write-manual: tapyard --help lists no commands\n');
  process.exit(1);
}
mkdirSync(join(dir, 'man1'), { recursive: true });
writeFileSync(join(dir, 'man1', 'tapyard.1'), mainPage(top, commands, version));
for (const c of commands) writeFileSync(join(dir, 'man1', `tapyard-${c.name}.1`), manPage(c, version));
writeFileSync(join(dir, 'tapyard.bash'), bashCompletion(top, commands));
