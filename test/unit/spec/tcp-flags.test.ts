// TCP flag letters: what frame/ prints, spec/ reads back.

import fc from 'fast-check';
import { expect, test } from 'vitest';
import { formatTcpFlags, TcpFlag } from '../../../src/frame/tcp.js';
import { parseTcpFlags } from '../../../src/spec/tcp-flags.js';

test('any set of the nine flags reads back from the letters it prints as', () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 0x1ff }), (flags) => {
      expect(parseTcpFlags(formatTcpFlags(flags))).toBe(flags);
    }),
  );
});

test('tcpdump letters in any order; none is no flag; an unknown letter is refused', () => {
  expect(parseTcpFlags('S')).toBe(TcpFlag.SYN);
  expect(parseTcpFlags('.S')).toBe(TcpFlag.SYN | TcpFlag.ACK);
  expect(parseTcpFlags('none')).toBe(0);
  expect(parseTcpFlags('')).toBe(0);
  for (const bad of ['s', 'SX', 'A', 'None']) expect(parseTcpFlags(bad)).toBeNull();
});
