// The man pages and the completion read each command's --help back (src/cli/manual.ts). Read
// back, the help must give every declared flag with its value's shape, and nothing else.

import { describe, expect, test } from 'vitest';
import { bashCompletion, helpOptions, helpSubcommands, manPage } from '../../../src/cli/manual.js';
import { FORWARD_FLAGS, forwardHelp } from '../../../src/config/forward.js';
import { SEND_FLAGS, sendHelp } from '../../../src/config/send.js';
import { BRIDGE_FLAGS, MACVLAN_FLAGS, traceHelp } from '../../../src/config/trace.js';
import type { Flags } from '../../../src/grammar/argv.js';

const declared = (...tables: Flags[]) => {
  const all = new Map<string, string | null>();
  for (const table of tables)
    for (const f of Object.values(table)) all.set(f.name, f.kind === 'value' ? f.type.shape : null);
  return all;
};

describe.each([
  ['forward', forwardHelp(), declared(FORWARD_FLAGS)],
  ['send', sendHelp(), declared(SEND_FLAGS)],
  ['trace', traceHelp(), declared(MACVLAN_FLAGS, BRIDGE_FLAGS)],
] as const)('%s --help, read back', (_command, help, flags) => {
  test('gives every declared flag with its shape, and no other (but --then)', () => {
    const read = new Map(helpOptions(help).map((o) => [o.name, o.shape]));
    read.delete('then'); // a word of trace's grammar, not a flag of the table
    expect(read).toEqual(flags);
  });
});

test('the help of each option is the declared one', () => {
  const byName = new Map(helpOptions(forwardHelp()).map((o) => [o.name, o]));
  expect(byName.get('capture-error')).toEqual({
    name: 'capture-error',
    short: null,
    shape: 'warn|stop',
    help: `${FORWARD_FLAGS.captureError.help} (default warn)`,
  });
  expect(byName.get('help')).toMatchObject({ short: 'h', shape: null, help: 'this text' });
});

test('sub-commands come from the usage lines', () => {
  expect(helpSubcommands('trace', traceHelp())).toEqual(['macvlan', 'bridge']);
  expect(helpSubcommands('forward', forwardHelp())).toEqual([]);
});

describe('a page', () => {
  const page = manPage({ name: 'send', about: 'craft frames', help: sendHelp() }, '9.9.9');
  test('has the sections of a man page, in order', () => {
    const sections = page.split('\n').filter((l) => l.startsWith('.SH'));
    expect(sections).toEqual([
      '.SH NAME',
      '.SH SYNOPSIS',
      '.SH DESCRIPTION',
      '.SH OPTIONS',
      '.SH EXAMPLES',
      '.SH "EXIT STATUS"',
    ]);
    expect(page).toContain('.TH TAPYARD-SEND 1 "" "tapyard 9.9.9" "tapyard"');
  });
  test('writes every option as a tagged paragraph, minus signs escaped, no stray request', () => {
    expect(page).toContain('.TP\n\\fB\\-\\-pcap\\fR \\fIFILE\\fR\n');
    expect(page).toContain('.TP\n\\fB\\-q\\fR, \\fB\\-\\-quiet\\fR');
    for (const line of page.split('\n'))
      if (/^[.']/.test(line)) expect(line).toMatch(/^\.(\\"|[A-Z]{2}|[A-Z]{1,2} |nf|fi)/);
  });
});

test('the completion lists the values a flag declares, and files for a FILE', () => {
  const script = bashCompletion({ name: 'tapyard', about: '', help: '  --version  print the version' }, [
    { name: 'forward', about: '', help: forwardHelp() },
  ]);
  expect(script).toContain('--capture-error) COMPREPLY=($(compgen -W "warn stop" -- "$cur")); return ;;');
  expect(script).toContain('--capture) COMPREPLY=($(compgen -f -- "$cur")); return ;;');
  expect(script).toContain('--port) COMPREPLY=(); return ;;');
  expect(script).toMatch(/compgen -W "forward help --version --help"/);
});
