// Every declared key of every layer and every flag of send: an unknown key, a wrong type and an
// out-of-range value each give one sentence, as a usage error, naming the layer and the token,
// both in a frame spec and in --expect; nothing is opened to find out.

import { describe, expect, it } from 'vitest';
import { readSendConfig, SEND_FLAGS } from '../../../src/config/send.js';
import { TapyardError } from '../../../src/error.js';
import type { Key } from '../../../src/grammar/keys.js';
import { readFrameSpec } from '../../../src/send/frame-spec.js';
import { LAYER_KINDS, LAYERS } from '../../../src/send/layers.js';
import { readMatch } from '../../../src/send/match.js';

const WRONG: Record<string, string> = {
  N: 'lots',
  MAC: 'zz:zz',
  IPV4: '10.0.0.999',
  IPV6: 'fd00::g',
  'on|off': 'maybe',
  TYPE: 'nope',
  'request|reply|N': 'nope',
  FLAGS: 'SX',
  HEX: 'zz',
};

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

const cases = LAYER_KINDS.flatMap((kind) =>
  (Object.values(LAYERS[kind].keys) as Key<unknown>[]).map((key) => ({ kind, key })),
);
const head = (kind: string) => (LAYERS[kind as keyof typeof LAYERS].value === undefined ? kind : `${kind} 7`);

describe.each([
  ['frame spec', readFrameSpec],
  ['--expect', readMatch],
] as const)('every layer key in a %s', (what, read) => {
  it.each(cases.map((c) => [`${c.kind} ${c.key.name}`, c] as const))('%s: a wrong value', (_name, { kind, key }) => {
    const wrong = WRONG[key.shape];
    expect(wrong, `a wrong value for shape ${key.shape}`).toBeDefined();
    const message = refusal(() => read(`${head(kind)} ${key.name}=${wrong}`));
    expect(message).toMatch(new RegExp(`^${what}, layer 1 \\(${kind}\\): ${key.name} must be .*'${wrong}'`));
  });

  it.each(
    cases.filter((c) => c.key.shape === 'N').map((c) => [`${c.kind} ${c.key.name}`, c] as const),
  )('%s: out of range', (_name, { kind, key }) => {
    const message = refusal(() => read(`${head(kind)} ${key.name}=4294967296`));
    expect(message).toMatch(new RegExp(`layer 1 \\(${kind}\\): ${key.name} must be .* not '4294967296'$`));
  });

  it.each(LAYER_KINDS.filter((k) => Object.keys(LAYERS[k].keys).length > 0))('%s: an unknown key', (kind) => {
    const first = (Object.values(LAYERS[kind].keys) as Key<unknown>[])[0]!.name;
    const message = refusal(() => read(`${head(kind)} ${first}x=1`));
    expect(message).toBe(`${what}, layer 1 (${kind}): unknown option '${first}x' (did you mean ${first}?)`);
  });
});

describe('every valued flag of send', () => {
  const valued = Object.values(SEND_FLAGS).filter((f) => f.kind === 'value');
  it.each(valued.map((f) => [f.name, f] as const))('--%s with a wrong value', (name, f) => {
    const wrong = { N: '-1', S: 'soon', PPS: '0', SPEC: '', BYTES: '', FILE: '', MATCH: '', IFACE: '' }[
      f.type.shape as string
    ];
    expect(wrong, f.type.shape).toBeDefined();
    const message = refusal(() => readSendConfig(['--port', 'x=pcap:ty0', `--${name}`, wrong!, 'eth']));
    expect(message).toMatch(new RegExp(`^--${name} `));
  });
});
