// The four classic "why can't A reach B?" cases, answered by the models: where the frame is
// lost, and which changes the re-run model finds helpful.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { whyCommand } from '../../../src/cli/why.js';
import { ipv4MulticastMac } from '../../../src/mac.js';
import { packageRoot } from '../../../src/package-root.js';
import { LINUX_DEFAULT_GROUPS, type Wire } from '../../../src/sim/topology.js';
import { bridgeTwin, type Guest, type MacvtapSetup, why } from '../../../src/sim/why.js';
import type { MacvlanMode } from '../../../src/switch/macvlan.js';
import { runCommand } from '../../helpers/run-command.js';

const GROUP = ipv4MulticastMac(0xe0_01_02_03); // 224.1.2.3

function macvtap(mode: MacvlanMode, wire: Wire, guests: [string, Guest][] = [], names = ['a', 'b']): MacvtapSetup {
  return {
    path: 'macvtap',
    endpoints: names.map((name) => ({ name, mode, groups: LINUX_DEFAULT_GROUPS })),
    wire,
    guests: new Map(guests),
    trusted: new Set(),
  };
}

const changes = (a: ReturnType<typeof why>) => a.fixes.map((f) => f.change);

describe('why: VEPA without hairpin', () => {
  const a = why(macvtap('vepa', 'switch'), { from: 'a', to: 'b', dst: null });

  it('loses the ARP request at the switch, which does not send it back toward the lower', () => {
    expect(a.reached).toBe(false);
    const arp = a.frames[0]!;
    expect(arp.name).toMatch(/ARP request/);
    expect(arp.reached).toBe(false);
    expect(arp.lost).toMatch(/^\[2\] switch, in from lower: sent it only to ext/);
    expect(arp.lost).toMatch(/hairpin is off/);
    expect(arp.passedBy[0]).toMatch(/macvlan, in from a: sent it only to lower/);
  });

  it('finds hairpin on the switch port, or bridge mode, and nothing unrelated', () => {
    expect(changes(a)).toHaveLength(2);
    expect(changes(a)[0]).toMatch(/hairpin/);
    expect(changes(a)[1]).toMatch(/bridge mode/);
  });

  it('reaches once the switch reflects, as the re-run says', () => {
    expect(why(macvtap('vepa', 'hairpin'), { from: 'a', to: 'b', dst: null }).reached).toBe(true);
  });
});

describe('why: the host to its guest over macvtap', () => {
  const a = why(macvtap('vepa', 'switch'), { from: 'host', to: 'a', dst: null });

  it('says the host sends on the lower, where macvlan never sees the frame', () => {
    expect(a.reached).toBe(false);
    // The answer leads with it (issue 21): the switch is only where the frame was last seen.
    expect(a.frames[0]!.cause).toMatch(/the host's frames leave through the lower and macvlan never sees them/);
  });

  it('finds an on-host macvlan in bridge mode together with bridge mode for the guest, and hairpin', () => {
    expect(changes(a).some((c) => /hairpin/.test(c))).toBe(true);
    const onHost = changes(a).find((c) => /on-host macvlan in bridge mode/.test(c));
    expect(onHost).toMatch(/bridge mode.*and give the host/);
    // Neither half alone is enough: both were tried.
    expect(a.tried.map((f) => f.change).some((c) => /on-host macvlan/.test(c))).toBe(true);
  });

  it('works on the bridge path, where the host is the bridge device', () => {
    expect(why(bridgeTwin(macvtap('vepa', 'switch')), { from: 'host', to: 'a', dst: null }).reached).toBe(true);
  });

  it('works directly in bridge mode with the host on an on-host macvlan', () => {
    const setup = macvtap('bridge', 'switch', [], ['a', 'hostmv']);
    expect(why(setup, { from: 'hostmv', to: 'a', dst: null }).reached).toBe(true);
  });
});

describe('why: private mode', () => {
  it('loses the ARP request even with hairpin: the broadcast comes back to its sender only', () => {
    const a = why(macvtap('private', 'hairpin'), { from: 'a', to: 'b', dst: null });
    expect(a.reached).toBe(false);
    expect(a.frames.map((f) => f.reached)).toEqual([false, true, true, true]);
    expect(a.frames[0]!.lost).toMatch(/^\[3\] macvlan, in from lower: sent it only to a .*sender only/);
  });

  it('is never fixed by the switch: hairpin alone is tried and refused; another mode helps', () => {
    const a = why(macvtap('private', 'switch'), { from: 'a', to: 'b', dst: null });
    const hairpin = a.tried.find((f) => /^turn on hairpin/.test(f.change))!;
    expect(hairpin.helps).toBe(false);
    expect(hairpin.stillLost).toMatch(/ARP request .* still does not reach b: .*sender only/);
    expect(changes(a)[0]).toMatch(/bridge mode/);
    expect(changes(a)).toContainEqual(expect.stringMatching(/hairpin.*, and put the endpoints involved in vepa mode/));
  });
});

describe('why: a multicast the guest filter drops', () => {
  const guest: [string, Guest] = ['a', { groups: [GROUP] }];

  it('loses it in macvlan: the macvtap never joined what its guest joined', () => {
    const a = why(macvtap('vepa', 'switch', [guest], ['a']), { from: 'ext', to: 'a', dst: GROUP });
    expect(a.reached).toBe(false);
    expect(a.frames[0]!.lost).toMatch(/macvlan, in from lower: sent it only to host/);
    expect(a.frames[0]!.lost).toMatch(/mc_filter has no bit for this group/);
    expect(changes(a)).toEqual([
      expect.stringMatching(/trustGuestRxFilters/),
      expect.stringMatching(/all-multicast on the macvtap/),
    ]);
  });

  it('says the guest NIC refuses it when the guest did not join, and needs both sides changed', () => {
    const a = why(macvtap('vepa', 'switch', [['a', { groups: [] }]], ['a']), { from: 'ext', to: 'a', dst: GROUP });
    const allmulti = a.tried.find((f) => /all-multicast on the macvtap/.test(f.change))!;
    expect(allmulti.stillLost).toMatch(/guest NIC \(virtio-net receive filter\) refused it/);
    expect(changes(a).every((c) => /, and /.test(c))).toBe(true);
  });

  it('reaches the guest on the bridge path, where the tap filters nothing', () => {
    const a = why(bridgeTwin(macvtap('vepa', 'switch', [guest], ['a'])), { from: 'ext', to: 'a', dst: GROUP });
    expect(a.reached).toBe(true);
  });
});

describe('tapyard why (the command)', () => {
  const run = (args: string[]) => runCommand(whyCommand, args);

  it('answers in sentences, with the hop and the fixes', async () => {
    const r = await run(['macvlan', '--mode', 'vepa', '--from', 'a', '--to', 'b']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^No: a cannot reach b\.$/m);
    expect(r.out).toMatch(/lost at \[2\] switch, in from lower/);
    expect(r.out).toMatch(/What would change that .*\n {2}• turn on hairpin/);
  });

  it('compares the two paths side by side', async () => {
    const r = await run(['macvlan', '--from', 'host', '--to', 'a', '--compare']);
    expect(r.out).toMatch(/ARP request \(broadcast\) from host +lost +arrives/);
    expect(r.out).toMatch(/--- bridge path ---\n[\s\S]*Yes: a gets every frame of the ping\./);
  });

  it('gives JSON for scripts, with groups written as MACs', async () => {
    const r = await run([
      'macvlan',
      '--endpoint',
      'a=vepa',
      '--guest',
      'a,groups=224.1.2.3',
      '--from',
      'ext',
      '--to',
      'a',
      '--dst',
      'ipv4-mcast=224.1.2.3',
      '--json',
    ]);
    const json = JSON.parse(r.out);
    expect(json.reached).toBe(false);
    expect(json.question.dst).toBe('01:00:5e:01:02:03');
    expect(json.fixes.map((f: { change: string }) => f.change)[0]).toMatch(/trustGuestRxFilters/);
  });

  it('refuses bad input with one sentence and status 2', async () => {
    for (const args of [
      ['macvlan', '--from', 'a'],
      ['macvlan', '--from', 'a', '--to', 'nobody'],
      ['bridge', '--mode', 'vepa', '--from', 'a', '--to', 'b'],
      ['macvlan', '--guest', 'a,groups=10.0.0.1', '--from', 'ext', '--to', 'a'],
      ['macvlan', '--trust-guest-rx-filters', 'a', '--from', 'ext', '--to', 'a'],
      ['ring', '--from', 'a', '--to', 'b'],
    ]) {
      const r = await run(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.err, args.join(' ')).toMatch(/^tapyard: [^\n]+\n$/);
    }
  });
});

describe('docs/modes.md', () => {
  it('shows what tapyard why prints now for each case it pastes', async () => {
    const doc = readFileSync(join(packageRoot(), 'docs', 'modes.md'), 'utf8');
    const blocks = [...doc.matchAll(/```\n\$ tapyard why ([^\n]*)\n([\s\S]*?)\n```/g)];
    expect(blocks.length).toBe(4);
    for (const [, command, printed] of blocks) {
      let out = '';
      const log = vi.spyOn(console, 'log').mockImplementation((s: string) => {
        out += s;
      });
      try {
        expect(await whyCommand(command!.split(' '))).toBe(0);
      } finally {
        log.mockRestore();
      }
      expect(printed, command).toBe(out);
    }
  });
});
