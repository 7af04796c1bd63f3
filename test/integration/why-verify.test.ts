// `tapyard why --verify` and `tapyard trace --verify` from the command line: the kernel's own
// reasons printed beside the model's, the JSON member, and the machine without bpftrace, where one
// sentence says so and the prediction still prints.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CLI } from '../helpers/lab.js';

function tapyard(args: string[], env: NodeJS.ProcessEnv = process.env) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env, timeout: 60_000 });
  return { status: r.status, out: r.stdout, err: r.stderr };
}

describe('--verify', () => {
  it('why macvlan vepa a → b: the switch drops the replies (NOT_SPECIFIED in br_handle_frame_finish)', () => {
    const r = tapyard(['why', 'macvlan', '--mode', 'vepa', '--from', 'a', '--to', 'b', '--verify']);
    expect(r.err).toBe('');
    expect(r.status).toBe(0);
    expect(r.out).toMatch(/^No: a cannot reach b\.$/m);
    expect(r.out).toContain("The kernel's check (--verify):");
    expect(r.out).toMatch(/kernel: NOT_SPECIFIED in br_handle_frame_finish \(on the switch's port toward the lower\)/);
    expect(r.out).toMatch(/✓ ARP request \(broadcast\) from a: lost before b\n.*no drop/);
    expect(r.out).toContain('The kernel agrees with the model on all 4 frames.');
  });

  it('trace --json carries the verification: copies and drops on both sides', () => {
    const r = tapyard([
      'trace',
      'bridge',
      '--port',
      'p1',
      '--port',
      'p2,flood=off',
      '--from',
      'p1',
      '--dst',
      '02:00:00:00:77:77',
      '--verify',
      '--json',
    ]);
    expect(r.status).toBe(0);
    const out = JSON.parse(r.out) as {
      verify: { unavailable: null; frames: { agree: boolean; kernel: { drops: { reason: string; fn: string }[] } }[] };
    };
    expect(out.verify.unavailable).toBeNull();
    expect(out.verify.frames).toHaveLength(1);
    expect(out.verify.frames[0]!.agree).toBe(true);
    expect(out.verify.frames[0]!.kernel.drops).toMatchObject([
      { reason: 'NO_TX_TARGET', fn: 'br_handle_frame_finish' },
    ]);
  });

  it('says in one sentence what it cannot build (an --fdb the lab was not told), and compares nothing', () => {
    const r = tapyard(['trace', 'bridge', '--fdb', 'p2=p1', '--from', 'p1', '--dst', 'p2', '--verify']);
    expect(r.status).toBe(0);
    expect(r.out).toContain('the lab cannot build what --fdb says the switch already learned');
    expect(r.out).toContain('not checked: the lab cannot build what the model was told.');
  });

  it('without bpftrace: one sentence, and the prediction still prints', () => {
    // A PATH that holds node alone: no bpftrace, no shell to look for it.
    const bin = mkdtempSync(join(tmpdir(), 'ty-verify-'));
    symlinkSync(process.execPath, join(bin, 'node'));
    const r = tapyard(['why', 'macvlan', '--mode', 'vepa', '--from', 'a', '--to', 'b', '--verify'], { PATH: bin });
    rmSync(bin, { recursive: true });
    expect(r.status).toBe(0);
    expect(r.out).toMatch(/^No: a cannot reach b\.$/m);
    expect(r.out).toMatch(
      /not checked: bpftrace is not installed \(Debian's bpftrace package; scripts\/setup installs it\)\./,
    );
  });
});
