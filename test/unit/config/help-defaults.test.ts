// Every command's --help, read as a new user reads it: a default is text one could type back,
// never an empty "(default )", raw numbers for addresses, or two defaults on one line.

import { expect, test } from 'vitest';
import { forwardHelp } from '../../../src/config/forward.js';
import { sendHelp } from '../../../src/config/send.js';
import { traceHelp } from '../../../src/config/trace.js';
import { whyHelp } from '../../../src/config/why.js';

test.each([
  ['forward', forwardHelp],
  ['send', sendHelp],
  ['trace', traceHelp],
  ['why', whyHelp],
])('%s --help: no empty default, no raw integers, one default per line', (_name, help) => {
  const text = help();
  expect(text).not.toMatch(/\(default \)/);
  expect(text).not.toMatch(/\(default \d{6,}/);
  for (const line of text.split('\n')) expect(line.match(/\(default/g)?.length ?? 0).toBeLessThanOrEqual(1);
});

test('why --help names the bridge ports it defaults to once: a, b, ext', () => {
  const line = whyHelp()
    .split('\n')
    .find((l) => l.trimStart().startsWith('--port NAME'));
  expect(line).toMatch(/a bridge port \(default: a, b, ext\) \(repeat it\)$/);
});
