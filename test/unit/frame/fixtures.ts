// The captured frames of test/fixtures/frames/*.hex (see capture.sh there): the bytes, and the
// comment lines, whose tcpdump decodes are where the tests take their expected values from.

import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const DIR = fileURLToPath(new URL('../../fixtures/frames/', import.meta.url));

export interface Fixture {
  name: string;
  bytes: Uint8Array;
  /** What it is and how it was made. */
  about: string;
  /** `tcpdump -n -e -t` on the frame. */
  tcpdump: string;
  /** `tcpdump -n -t -vv` on the frame, joined into one line. */
  tcpdumpVerbose: string;
}

export function fixtureNames(): string[] {
  return readdirSync(DIR)
    .filter((f) => f.endsWith('.hex'))
    .map((f) => f.slice(0, -4))
    .sort();
}

export function loadFixture(name: string): Fixture {
  const text = readFileSync(`${DIR}${name}.hex`, 'utf8');
  const comments = text.split('\n').filter((l) => l.startsWith('#'));
  const hex = text
    .split('\n')
    .filter((l) => !l.startsWith('#'))
    .join('')
    .replace(/\s+/g, '');
  const bytes = new Uint8Array(hex.length / 2);
  for (let i = 0; i < bytes.length; i++) bytes[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  const tagged = (tag: string) => comments.find((l) => l.startsWith(`# ${tag}: `))?.slice(tag.length + 4) ?? '';
  return {
    name,
    bytes,
    about: comments[0]?.slice(2) ?? '',
    tcpdump: tagged('tcpdump -e'),
    tcpdumpVerbose: tagged('tcpdump -vv'),
  };
}

/** The first capture group of `pattern` in `text`; fails the test when tcpdump said otherwise. */
export function grab(text: string, pattern: RegExp): string {
  const m = pattern.exec(text);
  if (m === null || m[1] === undefined) throw new Error(`tcpdump line lacks ${pattern}: ${text}`);
  return m[1];
}
