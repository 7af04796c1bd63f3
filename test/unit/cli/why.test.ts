// tapyard why --dst: a group is one address, and a missing one is refused in one line with exit 2.

import { afterEach, describe, expect, it, vi } from 'vitest';
import { whyCommand } from '../../../src/cli/why.js';
import { runCommand } from '../../helpers/run-command.js';

const why = (...argv: string[]) => runCommand(whyCommand, argv);

afterEach(() => vi.restoreAllMocks());

const TOPOLOGY = ['macvlan', '--endpoint', 'a=vepa', '--guest', 'a,groups=224.1.2.3', '--from', 'ext', '--to', 'a'];

describe('tapyard why --dst GROUP', () => {
  it('asks about the group it was given', async () => {
    const r = await why(...TOPOLOGY, '--dst', 'ipv4-mcast=224.1.2.3');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/does a frame from ext to 01:00:5e:01:02:03 reach a\?/);
  });

  it.each([
    ['ipv4-mcast=', /--dst must be a group MAC or a multicast address, not ''/],
    [
      'ipv4-mcast=224.1.2.3+224.1.2.4',
      /--dst must be a group MAC or a multicast address, not '224\.1\.2\.3\+224\.1\.2\.4'/,
    ],
  ])('refuses --dst %s with one line and exit 2', async (dst, message) => {
    const r = await why(...TOPOLOGY, '--dst', dst);
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
    expect(r.err).toMatch(message);
    expect(r.err.trim().split('\n')).toHaveLength(1);
  });
});
