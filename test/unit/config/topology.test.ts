// Topology files: every file shipped in labs/ reads, and conforms to the JSON Schema published in
// docs/ (checked here by a small validator of its own, not by the declarations that wrote it); the
// published schema is the one the declarations print; a typo or a wrong type is one line that
// names the file, the line and the key.

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { parse } from 'yaml';
import { parseTopology, topologyJsonSchema } from '../../../src/config/topology.js';
import { TapyardError } from '../../../src/error.js';
import { packageRoot } from '../../../src/package-root.js';

const ROOT = packageRoot();
const LABS = readdirSync(join(ROOT, 'labs')).filter((f) => f.endsWith('.yaml'));
const SCHEMA = JSON.parse(readFileSync(join(ROOT, 'docs', 'topology.schema.json'), 'utf8')) as Schema;

interface Schema {
  type?: string | string[];
  enum?: unknown[];
  pattern?: string;
  properties?: Record<string, Schema>;
  required?: string[];
  additionalProperties?: boolean | Schema;
  items?: Schema;
  maxItems?: number;
  minimum?: number;
  maximum?: number;
  oneOf?: Schema[];
}

/** The JSON Schema keywords the published schema uses; returns the first violation, or null. */
function violation(value: unknown, s: Schema, path = '$'): string | null {
  if (s.oneOf !== undefined) {
    const ok = s.oneOf.filter((o) => violation(value, o, path) === null).length;
    return ok === 1 ? null : `${path}: matches ${ok} of oneOf`;
  }
  if (s.enum !== undefined && !s.enum.includes(value)) return `${path}: not in enum`;
  const types = s.type === undefined ? [] : Array.isArray(s.type) ? s.type : [s.type];
  const typeOf = (v: unknown) =>
    Array.isArray(v) ? 'array' : Number.isInteger(v) ? 'integer' : v === null ? 'null' : typeof v;
  if (types.length > 0 && !types.some((t) => t === typeOf(value) || (t === 'number' && typeof value === 'number')))
    return `${path}: not ${types.join('|')}`;
  if (typeof value === 'string' && s.pattern !== undefined && !new RegExp(s.pattern).test(value))
    return `${path}: does not match ${s.pattern}`;
  if (typeof value === 'number' && ((s.minimum ?? value) > value || (s.maximum ?? value) < value))
    return `${path}: out of range`;
  if (Array.isArray(value)) {
    if (s.maxItems !== undefined && value.length > s.maxItems) return `${path}: too many items`;
    for (const [i, v] of value.entries()) {
      const bad = s.items === undefined ? null : violation(v, s.items, `${path}[${i}]`);
      if (bad !== null) return bad;
    }
  }
  if (typeOf(value) === 'object') {
    const o = value as Record<string, unknown>;
    for (const r of s.required ?? []) if (!(r in o)) return `${path}: needs ${r}`;
    for (const [k, v] of Object.entries(o)) {
      const p = s.properties?.[k];
      if (p !== undefined) {
        const bad = violation(v, p, `${path}.${k}`);
        if (bad !== null) return bad;
      } else if (s.additionalProperties === false) return `${path}: unknown key ${k}`;
      else if (typeof s.additionalProperties === 'object') {
        const bad = violation(v, s.additionalProperties, `${path}.${k}`);
        if (bad !== null) return bad;
      }
    }
  }
  return null;
}

describe('the shipped files and the published schema', () => {
  test('docs/topology.schema.json is what the declarations print (npm run schemas)', () => {
    expect(readFileSync(join(ROOT, 'docs', 'topology.schema.json'), 'utf8')).toBe(topologyJsonSchema());
  });

  test.each(LABS)('labs/%s reads and conforms to the published schema', (file) => {
    const text = readFileSync(join(ROOT, 'labs', file), 'utf8');
    const t = parseTopology(text, file);
    expect(t.name).toBe(file.replace(/\.yaml$/, ''));
    expect(violation(parse(text), SCHEMA)).toBeNull();
  });

  test('the validator used here catches what the schema forbids', () => {
    const good = parse(readFileSync(join(ROOT, 'labs', 'macvtap.yaml'), 'utf8'));
    expect(violation({ ...good, gusets: [] }, SCHEMA)).toMatch(/unknown key gusets/);
    expect(violation({ ...good, ipv6: 'yes' }, SCHEMA)).toMatch(/ipv6: not boolean/);
    expect(violation({ ...good, guests: [{ ...good.guests[0], mode: 'loud' }] }, SCHEMA)).toMatch(/mode: not in enum/);
  });

  test("the README's topology file reads, and is the shipped impaired lab", () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const yaml = /```yaml\n(name: impaired\n[^`]*)```/.exec(readme)![1]!;
    const shipped = parseTopology(readFileSync(join(ROOT, 'labs', 'impaired.yaml'), 'utf8'), 'impaired.yaml');
    expect(parseTopology(yaml, 'README.md')).toEqual({ ...shipped, about: null });
  });

  test('a JSON file reads as the same topology as its YAML', () => {
    const text = readFileSync(join(ROOT, 'labs', 'impaired.yaml'), 'utf8');
    expect(parseTopology(JSON.stringify(parse(text), null, 2), 'impaired.json')).toEqual(
      parseTopology(text, 'impaired.yaml'),
    );
  });

  test('a port written as a map is the same port spec as written out', () => {
    const t = parseTopology(readFileSync(join(ROOT, 'labs', 'impaired.yaml'), 'utf8'), 'impaired.yaml');
    expect(t.forwarders[0]!.ports).toEqual(['wire=macvtap:wvm', 'vm=guest:10.77.0.2/24,loss=30%,seed=1']);
  });
});

const BASE = `name: t
lower:
  cable: direct
external:
  address: 10.77.0.1/24
guests:
  - name: gst
    kind: tap
    address: 10.77.0.2/24
forwarders:
  - name: fw
    ports:
      - wire=macvtap:wgst
      - name: guest
        kind: tap
        target: gst
        netns: gst
`;

/** The one line a bad file gets. */
function error(text: string): string {
  try {
    parseTopology(text, 'lab.yaml');
  } catch (err) {
    expect(err).toBeInstanceOf(TapyardError);
    expect((err as TapyardError).code).toBe('EUSAGE');
    const message = (err as Error).message;
    expect(message.split('\n')).toHaveLength(1);
    return message;
  }
  throw new Error('no error');
}

describe('one line naming the key and its line', () => {
  test('the base file is good', () => {
    const t = parseTopology(BASE, 'lab.yaml');
    expect(t.forwarders[0]!.ports).toEqual(['wire=macvtap:wgst', 'guest=tap:gst,netns=gst']);
    expect(t.guests[0]).toMatchObject({ nic: 'gst', endpoint: 'wgst', via: 'macvtap', mode: 'bridge' });
  });

  test.each([
    [
      'a typo at the top',
      BASE.replace('guests:', 'gusets:'),
      "lab.yaml:6: unknown key 'gusets' (did you mean guests?)",
    ],
    [
      'a typo in a guest',
      BASE.replace('    address: 10.77.0.2/24', '    adress: 10.77.0.2/24'),
      "lab.yaml:9: guests[0]: unknown key 'adress' (did you mean address?)",
    ],
    [
      'a wrong type',
      BASE.replace('name: t\n', 'name: t\nipv6: yes\n'),
      "lab.yaml:2: ipv6: must be true or false, not 'yes'",
    ],
    [
      'a number for a text',
      BASE.replace('name: t', 'name: 7'),
      'lab.yaml:1: name: must be text (a lowercase name), not number 7',
    ],
    [
      'a word not in the list',
      BASE.replace('    kind: tap', '    kind: tap\n    mode: loud'),
      "lab.yaml:9: guests[0].mode: must be one of private, vepa, bridge, passthru, not 'loud'",
    ],
    [
      'an address out of range',
      BASE.replace('10.77.0.2/24', '10.77.0.256/24'),
      "lab.yaml:9: guests[0].address: must be an IPv4 address with its prefix, like 10.77.0.2/24, not '10.77.0.256/24'",
    ],
    [
      'a missing key',
      BASE.replace('  address: 10.77.0.1/24\n', '  vlan-host: false\n'),
      'lab.yaml:5: external: needs the key address',
    ],
    [
      'an empty value',
      BASE.replace('  cable: direct', '  cable:'),
      'lab.yaml:3: lower.cable: must be one of direct, switch, hairpin, not nothing',
    ],
    [
      'a list where a map goes',
      BASE.replace('lower:\n  cable: direct', 'lower:\n  - direct'),
      'lab.yaml:3: lower: must be a map of keys, not a list',
    ],
    [
      "a port key's typo, in a map port",
      BASE.replace('        netns: gst', '        netns: gst\n        los: 30%'),
      "lab.yaml:14: forwarders[0].ports[1]: port guest: unknown option 'los' (did you mean loss?)",
    ],
    [
      'a wrong port value, in a text port',
      BASE.replace('wire=macvtap:wgst', 'wire=macvtap:wgst,loss=300%'),
      "lab.yaml:13: forwarders[0].ports[0]: port wire: loss must be a percentage from 0 to 100, not '300%'",
    ],
    [
      'a port on a link the lab does not have',
      BASE.replace('wire=macvtap:wgst', 'wire=macvtap:eth0'),
      "lab.yaml:13: forwarders[0].ports[0]: 'eth0' is not a link or namespace of this lab",
    ],
    [
      'a guest path that does not exist for its kind',
      BASE.replace('    kind: tap', '    kind: macvlan\n    via: bridge'),
      'lab.yaml:7: guests[0].via: a macvlan guest goes via lower, not bridge',
    ],
    ['not YAML at all', 'name: [t', 'lab.yaml:1: not YAML or JSON:'],
  ])('%s', (_, text, expected) => {
    expect(error(text).slice(0, expected.length)).toBe(expected);
  });
});
