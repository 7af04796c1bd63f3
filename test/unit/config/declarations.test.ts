// Every declared key of every command: an unknown key, a wrong type and an out-of-range value
// each give one sentence, as a usage error, while the command line is read (before any device
// could be opened: reading touches nothing).

import { describe, expect, it } from 'vitest';
import { FORWARD_FLAGS, readForwardConfig } from '../../../src/config/forward.js';
import { RX_FILTER_KEYS } from '../../../src/config/port.js';
import { DEVICE_KINDS, PORT_KINDS } from '../../../src/config/port-kinds.js';
import { SWITCH_ROLES } from '../../../src/config/switch.js';
import { TapyardError } from '../../../src/error.js';
import type { Key } from '../../../src/grammar/keys.js';

/** A value of the wrong type for each shape, and one out of range where the shape has a range. */
const WRONG: Record<string, string> = {
  'on|off': 'maybe',
  N: 'lots',
  MAC: 'zz:zz',
  S: 'soon',
  'P%': 'half',
  NETNS: '../etc',
  EXPR: '',
  FILE: '',
  SPEC: '',
  KIND: 'router',
};
const wrong = (shape: string) => WRONG[shape] ?? (shape.includes('|') ? 'nope' : shape.endsWith('+...') ? 'zz+zz' : '');

function refusal(run: () => unknown): string {
  try {
    run();
  } catch (err) {
    expect(err).toBeInstanceOf(TapyardError);
    expect((err as TapyardError).code).toBe('EUSAGE');
    const message = (err as TapyardError).message;
    expect(message.split('\n')).toHaveLength(1);
    return message;
  }
  throw new Error('accepted');
}

const forward =
  (...argv: string[]) =>
  () =>
    readForwardConfig(argv);

interface Case {
  where: string;
  spec: (keys: string) => string[];
  key: Key<unknown>;
}

/** A valid target for kinds that do not name an interface. */
const TARGETS: Partial<Record<string, string>> = { guest: '10.0.0.2/24', qemu: '/tmp/ty-test.sock' };

const cases: Case[] = [];
for (const kind of DEVICE_KINDS) {
  for (const key of Object.values(PORT_KINDS[kind].keys) as Key<unknown>[]) {
    const target = TARGETS[kind] ?? 'ty0';
    cases.push({ where: kind, key, spec: (k) => ['--port', `a=${kind}:${target},${k}`, '--port', 'b=tap:ty1'] });
  }
}
for (const key of Object.values(RX_FILTER_KEYS) as Key<unknown>[]) {
  cases.push({
    where: 'rx filter',
    key,
    spec: (k) => ['--port', `a=tap:ty0,rx-filter=on,${k}`, '--port', 'b=tap:ty1'],
  });
}
for (const [kind, table] of Object.entries(SWITCH_ROLES)) {
  if (table === null) continue;
  for (const [role, keys] of Object.entries(table.keys)) {
    for (const key of Object.values(keys) as Key<unknown>[]) {
      const lower = kind === 'macvlan' && role !== 'lower' ? ['--port', 'w=tap:ty2,role=lower'] : [];
      cases.push({
        where: `${kind} role=${role}`,
        key,
        spec: (k) => ['--switch', kind, '--port', `a=tap:ty0,role=${role},${k}`, '--port', 'b=tap:ty1', ...lower],
      });
    }
  }
}

describe('every port, feature and switch key', () => {
  it.each(cases.map((c) => [`${c.where}: ${c.key.name}`, c] as const))('%s', (_, c) => {
    const bad = wrong(c.key.shape);
    const typeError = refusal(forward(...c.spec(`${c.key.name}=${bad}`)));
    expect(typeError).toMatch(new RegExp(`^port a: ${c.key.name}`));
    const misspelt = `${c.key.name}x`;
    expect(refusal(forward(...c.spec(`${misspelt}=1`)))).toMatch(new RegExp(`unknown option '${misspelt}'`));
  });

  it('has cases for every kind', () => {
    expect(new Set(cases.map((c) => c.where.split(' ')[0]))).toEqual(
      new Set([...DEVICE_KINDS, 'rx', 'bridge', 'macvlan']),
    );
  });
});

describe('every forward flag', () => {
  const ports = ['--port', 'a=tap:ty0', '--port', 'b=tap:ty1'];
  const valued = Object.values(FORWARD_FLAGS).filter((f) => f.kind === 'value' && f.name !== 'port');
  it.each(valued.map((f) => [f.name, f] as const))('--%s', (name, f) => {
    if (f.kind !== 'value') return;
    expect(refusal(forward(...ports, `--${name}`, wrong(f.type.shape)))).toMatch(new RegExp(`--${name}`));
    expect(refusal(forward(...ports, `--${name}x`, '1'))).toMatch(new RegExp(`unknown option '--${name}x'`));
  });

  it.each([
    [['--budget', '0'], /--budget must be a whole number from 1 to 1024, not '0'/],
    [['--budget', '1025'], /--budget must be a whole number from 1 to 1024, not '1025'/],
    [['--budget', '-3'], /--budget must be a whole number from 1 to 1024, not '-3'/],
    [['--duration', '2200000'], /--duration must be a number of seconds above 0 and at most 2147483/],
    [['--json=yes'], /--json takes no value/],
    [['--stats', '--stats'], null],
  ])('out of range or malformed: %j', (extra, message) => {
    if (message === null) expect(() => readForwardConfig([...ports, ...extra])).not.toThrow();
    else expect(refusal(forward(...ports, ...extra))).toMatch(message);
  });

  it('port keys out of range', () => {
    expect(
      refusal(forward('--switch', 'macvlan', '--port', 'w=tap:t0,role=lower,bc-cutoff=-2', '--port', 'b=tap:t1')),
    ).toMatch(/bc-cutoff must be a whole number from -1/);
    expect(refusal(forward('--port', 'a=tap:t0,rx-filter=on,rx-vlan=4096', '--port', 'b=tap:t1'))).toMatch(
      /rx-vlan must be a whole number from 0 to 4095, not '4096'/,
    );
  });
});
