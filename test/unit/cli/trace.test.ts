// tapyard trace: the text and JSON it prints, and one-line errors with exit status 2.

import { afterEach, describe, expect, it, vi } from 'vitest';
import { traceCommand } from '../../../src/cli/trace.js';
import { describeReason } from '../../../src/reason.js';
import { MacvlanReason } from '../../../src/switch/macvlan.js';
import { runCommand } from '../../helpers/run-command.js';

const trace = (...argv: string[]) => runCommand(traceCommand, argv);

afterEach(() => vi.restoreAllMocks());

describe('tapyard trace', () => {
  it('prints --help with examples, exit 0', async () => {
    const r = await trace('--help');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/usage: tapyard trace macvlan/);
    expect(r.out).toMatch(/Examples:/);
  });

  it('follows a private broadcast through a hairpin switch back to its sender only', async () => {
    const r = await trace('macvlan', '--mode', 'private', '--hairpin', '--from', 'a', '--dst', 'broadcast');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/\[1\] macvlan, in from a/);
    expect(r.out).toMatch(/\[2\] switch, in from lower/);
    expect(r.out).toMatch(/\[3\] macvlan, in from lower/);
    expect(r.out).toContain(describeReason(MacvlanReason.GROUP_TO_SENDER));
    expect(r.out).toMatch(/Copies: +a ×1, b ×0, host ×0, ext ×1/);
  });

  it('gives the same copies in --json, with every hop', async () => {
    const r = await trace('macvlan', '--mode', 'vepa', '--hairpin', '--from', 'a', '--dst', 'ipv4-mcast', '--json');
    const j = JSON.parse(r.out) as { copies: Record<string, number>; hops: { at: string }[]; frame: { dst: string } };
    expect(j.frame.dst).toBe('01:00:5e:00:00:01');
    expect(j.hops.map((h) => h.at)).toEqual(['macvlan', 'switch', 'macvlan']);
    // Endpoints join 224.0.0.1 as Linux does; the reflected copy skips the sender.
    expect(j.copies).toEqual({ a: 0, b: 1, host: 1, ext: 1 });
    const none = await trace(
      'macvlan',
      '--endpoint',
      'a=vepa,groups=',
      '--endpoint',
      'b=vepa,groups=',
      '--hairpin',
      '--from',
      'a',
      '--dst',
      'ipv4-mcast',
      '--json',
    );
    expect(JSON.parse(none.out).copies).toEqual({ a: 0, b: 0, host: 1, ext: 1 });
  });

  it('takes endpoint specs with groups and stations in source lists', async () => {
    const r = await trace(
      'macvlan',
      '--endpoint',
      'v=vepa,groups=01:00:5e:00:00:01',
      '--endpoint',
      's=source,sources=ext,nodst',
      '--wire',
      'direct',
      '--from',
      'ext',
      '--dst',
      'v',
      '--json',
    );
    expect(JSON.parse(r.out).copies).toEqual({ v: 0, s: 1, host: 0, ext: 0 });
  });

  it('traces a bridge with a learned entry and a VLAN-tagged hex frame', async () => {
    const r = await trace(
      'bridge',
      '--port',
      'p1,hairpin',
      '--port',
      'p2',
      '--fdb',
      'p2=p1',
      '--from',
      'p1',
      '--dst',
      'p2',
    );
    expect(r.out).toMatch(/→ p1 +bridge: the destination was learned on the ingress port and hairpin is on/);
    const hex = await trace(
      'bridge',
      '--from',
      'p1',
      '--hex',
      'ffffffffffff 020000000201 8100 000a 88b5 0000000000000000000000000000',
      '--json',
    );
    const j = JSON.parse(hex.out) as { frame: { vlan: number }; copies: Record<string, number> };
    expect(j.frame.vlan).toBe(10);
    expect(j.copies).toEqual({ p1: 0, p2: 1, p3: 1, host: 1 });
  });

  it('lets time pass: a learned entry ages out after ageing_time, a static one never does', async () => {
    const copies = async (...argv: string[]) =>
      JSON.parse((await trace('bridge', '--from', 'p1', '--dst', 'p2', '--json', ...argv)).out).copies;
    expect(await copies('--fdb', 'p2=p2', '--after', '299')).toEqual({ p1: 0, p2: 1, p3: 0, host: 0 });
    expect(await copies('--fdb', 'p2=p2', '--after', '300')).toEqual({ p1: 0, p2: 1, p3: 1, host: 0 });
    expect(await copies('--fdb', 'p2=p2', '--ageing', '10', '--after', '10')).toEqual({ p1: 0, p2: 1, p3: 1, host: 0 });
    expect(await copies('--fdb', 'p2=p2,static', '--after', '100000')).toEqual({ p1: 0, p2: 1, p3: 0, host: 0 });
    const r = await trace('bridge', '--fdb', 'p2=p2,statik');
    expect(r.err).toMatch(/--fdb p2=p2: unknown option 'statik' \(did you mean static\?\)/);
  });

  it.each([
    [[], /say which topology/],
    [['ovs'], /unknown topology 'ovs': say macvlan or bridge/],
    [['macvlan', '--mode', 'hub'], /--mode must be one of private, vepa, bridge, passthru, source, not 'hub'/],
    [['macvlan', '--endpoint', 'p=passthru', '--endpoint', 'q=vepa'], /passthru mode and must be alone/],
    [['macvlan', '--from', 'zz'], /--from zz is not a station/],
    [['macvlan', '--dst', 'nowhere'], /--dst nowhere is neither a station/],
    [['macvlan', '--port', 'p1'], /--port is not a macvlan option/],
    [['bridge', '--hex', 'abc'], /--hex must be pairs of hex digits/],
    [['bridge', '--hex', '0102'], /not a valid Ethernet frame/],
    [['bridge', '--vlan', '5000'], /--vlan must be a whole number from 0 to 4095, not '5000'/],
    [['bridge', '--fdb', 'p9=p1'], /--fdb p9 is neither a station/],
    [['bridge', '--bogus'], /unknown option '--bogus'/],
    [['bridge', '--port', 'p1,hairpn'], /--port p1: unknown option 'hairpn' \(did you mean hairpin\?\)/],
    [['bridge', '--port', 'p1,mac=02:00:00:00:00:09'], /--port p1: unknown option 'mac' \(did you mean local-mac\?\)/],
    [['macvlan', '--endpoint', 'a=vepa,nodst=maybe'], /--endpoint a: nodst must be on or off, not 'maybe'/],
    [['macvlan', '--wire', 'direct', '--fdb', 'a=lower'], /--fdb needs a switch/],
  ])('refuses bad input with one line and exit 2: %j', async (argv, message) => {
    const r = await trace(...(argv as string[]));
    expect(r.code).toBe(2);
    expect(r.err).toMatch(message);
    expect(r.err.trim().split('\n')).toHaveLength(1);
    expect(r.out).toBe('');
  });
});
