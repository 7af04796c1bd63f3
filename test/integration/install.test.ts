// scripts/install (which scripts/setup runs as root, into /usr/local) puts a tapyard command on
// PATH, a man page per command and the bash completion. Installed here into a temporary prefix,
// so the test neither needs nor changes the machine's own /usr/local.

import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { helpOptions } from '../../src/cli/manual.js';
import { CLI, type Lab, labUp, ROOT } from '../helpers/lab.js';

let prefix: string;
let lab: Lab;
beforeAll(async () => {
  prefix = mkdtempSync(join(tmpdir(), 'ty-install-'));
  execFileSync(join(ROOT, 'scripts', 'install'), ['--prefix', prefix], { stdio: 'pipe' });
  lab = await labUp('ref-veth');
});
afterAll(() => {
  lab?.down();
  if (prefix !== undefined) rmSync(prefix, { recursive: true, force: true });
});

/** A PATH with the installed bin and the system's, but not /usr/local/bin (which setup may have filled). */
const path = () => `${prefix}/bin:/usr/sbin:/usr/bin:/sbin:/bin`;
const version = () =>
  `tapyard ${(JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version}`;

test('ip netns exec NS tapyard --version finds the command on PATH inside a lab namespace', () => {
  const out = execFileSync('ip', ['netns', 'exec', lab.ns('ext'), 'tapyard', '--version'], {
    encoding: 'utf8',
    env: { PATH: path() },
  });
  expect(out.trim()).toBe(version());
  // The same command runs the CLI, with its arguments intact.
  const bad = spawnSync('ip', ['netns', 'exec', lab.ns('ext'), 'tapyard', 'send', '--count', 'two words'], {
    encoding: 'utf8',
    env: { PATH: path() },
  });
  expect(bad.status).toBe(2);
  expect(bad.stderr).toMatch(/^tapyard: --count .*'two words'/);
});

/** What man prints for a page, one long line per paragraph (no wrapping), in plain text. */
function man(page: string): string {
  const out = execFileSync('man', [page], {
    encoding: 'utf8',
    env: {
      PATH: process.env.PATH,
      MANPATH: join(prefix, 'share', 'man'),
      MANWIDTH: '1000',
      MANPAGER: 'cat',
      LANG: 'C.UTF-8',
    },
  });
  // Bold and underline come as backspace overstrikes when the output is not a terminal.
  const parts = out.split(String.fromCharCode(8));
  return parts.map((part, i) => (i < parts.length - 1 ? part.slice(0, -1) : part)).join('');
}

const words = (s: string) => s.replace(/\s+/g, ' ').trim();

test.each([
  'forward',
  'send',
  'trace',
  'why',
  'ui',
  'bench',
])('man tapyard-%s shows every option that --help shows, with its value and help', (command) => {
  const help = execFileSync('node', [CLI, command, '--help'], { encoding: 'utf8' });
  const options = helpOptions(help);
  expect(options.length).toBeGreaterThan(3);
  const page = words(man(`tapyard-${command}`));
  for (const o of options) {
    const left = o.shape === null ? `--${o.name}` : `--${o.name} ${o.shape}`;
    expect(page).toContain(`${left} ${words(o.help)}`);
  }
});

test('man tapyard lists the commands and points to their pages', () => {
  const page = words(man('tapyard'));
  for (const command of ['forward', 'send', 'trace', 'why', 'ui', 'bench'])
    expect(page).toContain(`tapyard-${command}(1)`);
});

/** What bash offers for the words typed so far (the last one is being completed). */
function complete(...typed: string[]): string[] {
  const script = join(prefix, 'share', 'bash-completion', 'completions', 'tapyard');
  const words = ['tapyard', ...typed].map((w) => `'${w}'`).join(' ');
  const out = execFileSync(
    'bash',
    [
      '-c',
      `source ${script}; COMP_WORDS=(${words}); COMP_CWORD=${typed.length}; _tapyard; ` +
        `printf '%s\\n' "\${COMPREPLY[@]}"`,
    ],
    { encoding: 'utf8' },
  );
  return out.split('\n').filter((w) => w !== '');
}

test('bash completion offers the commands, their options and the values a declaration lists', () => {
  expect(complete('')).toEqual(expect.arrayContaining(['forward', 'send', 'trace', 'why', 'ui', 'bench', '--version']));
  expect(complete('forward', '--capture')).toEqual(['--capture', '--capture-error']);
  expect(complete('forward', '--capture-error', '')).toEqual(['warn', 'stop']);
  expect(complete('forward', '--port', '')).toEqual([]);
  expect(complete('trace', '')).toEqual(['macvlan', 'bridge']);
  expect(complete('trace', 'macvlan', '--mode', 'v')).toEqual(['vepa']);
  expect(complete('help', 'w')).toEqual(['why']);
  expect(complete('send', '--js')).toEqual(['--json']);
});
