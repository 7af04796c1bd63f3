// The questions macvtap users ask, asked of the kernel: can the hypervisor reach its own guest
// (lab up host-to-guest), and can guests side by side on one lower reach each other in each mode
// (lab up guests)? tapyard is every guest's backend; each answer is a real ping between the lab's
// namespaces, and each must be what `tapyard why` says the model predicts for the same topology.

import { execFileSync } from 'node:child_process';
import { afterEach, describe, expect, test } from 'vitest';
import { CLI, forwardArgs, type Lab, labUp, startTapyard } from '../helpers/lab.js';

let lab: Lab | null = null;
afterEach(() => {
  lab?.down();
  lab = null;
});

/** How many of three pings from namespace `ns` to `ip` came back. */
function pingFrom(ns: string, ip: string): number {
  let out: string;
  try {
    out = execFileSync('ip', ['netns', 'exec', ns, 'ping', '-c', '3', '-i', '0.3', '-W', '2', ip], {
      encoding: 'utf8',
    });
  } catch (err) {
    out = String((err as { stdout?: string }).stdout ?? '');
  }
  const m = / (\d+) received/.exec(out);
  if (m === null) throw new Error(`no ping summary from ${ns}: ${out}`);
  return Number(m[1]);
}

/** The model's answer: does a ping (ARP both ways, echo both ways) get through? */
function modelSays(...args: string[]): boolean {
  const out = execFileSync('node', [CLI, 'why', 'macvlan', ...args, '--json'], { encoding: 'utf8' });
  return (JSON.parse(out) as { reached: boolean }).reached;
}

describe('host to guest: the hypervisor pings its own guest behind a macvtap (bridge mode)', () => {
  const cases = [
    { name: 'address on the lower, no reflection', flags: [], why: ['--mode', 'bridge', '--wire', 'direct'] },
    {
      name: 'address on an on-host bridge-mode macvlan',
      flags: ['--host-macvlan'],
      why: ['--endpoint', 'h=bridge', '--endpoint', 'a=bridge', '--wire', 'direct'],
    },
    {
      name: 'address on the lower, switch port in hairpin',
      flags: ['--hairpin'],
      why: ['--mode', 'bridge', '--hairpin'],
    },
  ];
  test.each(cases)('$name', async ({ flags, why }) => {
    const l = await labUp('host-to-guest', ...flags);
    lab = l;
    const t = startTapyard(l, forwardArgs(l));
    await t.waitFor(/forwarding/);
    const from = flags.includes('--host-macvlan') ? 'h' : 'host';
    const predicted = modelSays(...why, '--from', from, '--to', 'a');
    const received = pingFrom(l.env.NS_HV!, l.env.GUEST_IP!);
    // The external host reaches the guest in every case: the lab itself works.
    expect(pingFrom(l.env.NS_EXT!, l.env.GUEST_IP!)).toBeGreaterThan(0);
    expect(received).toBe(predicted ? 3 : 0);
    expect(predicted).toBe(flags.length > 0);
    await t.stop();
  });
});

describe('guests side by side on one lower, one tapyard (--switch pairs)', () => {
  const cases = (['private', 'vepa', 'bridge'] as const).flatMap((mode) =>
    [false, true].map((hairpin) => ({ mode, hairpin, expected: mode === 'bridge' || (mode === 'vepa' && hairpin) })),
  );
  test.each(cases)('$mode, hairpin $hairpin: g1 reaches g2 = $expected', async ({ mode, hairpin, expected }) => {
    const l = await labUp('guests', '--mode', mode, hairpin ? '--hairpin' : '--switch');
    lab = l;
    const e = l.env;
    const ports = [1, 2].flatMap((i) => [
      '--port',
      `w${i}=macvtap:${e[`WIRE_IF_${i}`]}`,
      '--port',
      `g${i}=tap:${e[`GUEST_IF_${i}`]},netns=${e[`NS_G${i}`]}`,
    ]);
    const t = startTapyard(l, ['forward', '--switch', 'pairs', ...ports]);
    await t.waitFor(/forwarding/);
    const predicted = modelSays('--mode', mode, ...(hairpin ? ['--hairpin'] : []), '--from', 'a', '--to', 'b');
    expect(predicted).toBe(expected);
    expect(pingFrom(e.NS_G1!, e.GUEST_IP_2!)).toBe(predicted ? 3 : 0);
    // Each guest reaches the external host whatever the mode: the pairs are wired right.
    expect(pingFrom(e.NS_G2!, e.EXT_IP!)).toBeGreaterThan(0);
    await t.stop();
  });

  test('passthru: the kernel refuses a second macvtap on the lower, and the lab says so', async () => {
    const l = await labUp('guests', '--mode', 'passthru');
    lab = l;
    expect(l.env.GUESTS).toBe('1');
    expect(l.env.PASSTHRU_REFUSED).toMatch(/^ty-\w+-mvt2: .*Invalid argument/);
  });
});
