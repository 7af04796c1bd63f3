// A side channel (the capture file, standard output) never takes the datapath down, and
// signals end a run with its counters. SIGUSR1 prints them and opens nothing.

import { execFileSync, spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { CLI, forwardArgs, type Lab, labUp, startTapyard } from '../helpers/lab.js';

let lab: Lab;
beforeAll(async () => {
  lab = await labUp('macvtap');
});
afterAll(() => lab?.down());

const ping = (count: number) => lab.run('ext', 'ping', '-c', String(count), '-i', '0.1', '-W', '2', lab.env.GUEST_IP!);
const quoted = (args: string[]) => args.map((a) => `'${a}'`).join(' ');

/** A shell pipeline in the hypervisor namespace, with ping running meanwhile; its stdout and stderr. */
function inHv(script: string, pings = 10): { stdout: string; stderr: string; status: number | null } {
  const child = spawnSync(
    'ip',
    [
      'netns',
      'exec',
      lab.ns('hv'),
      'bash',
      '-c',
      `(sleep 1; ip netns exec ${lab.ns('ext')} ping -c ${pings} -i 0.1 -W 2 ${lab.env.GUEST_IP} >/dev/null) & ` +
        `${script}; wait`,
    ],
    {
      encoding: 'utf8',
      timeout: 30_000,
    },
  );
  return { stdout: child.stdout, stderr: child.stderr, status: child.status };
}

describe('the datapath outlives its side channels', () => {
  test('a capture onto a full filesystem: a warning, the file ends at a whole block, forwarding goes on', () => {
    // A private mount namespace with a 64 KiB tmpfs: 30 pings fill it within a second or two.
    const args = quoted(forwardArgs(lab, '--json', '--duration', '5', '--capture', '/mnt/c.pcapng'));
    const r = inHv(
      `unshare -m bash -c "mount -t tmpfs -o size=64k tapyard-full /mnt && ` +
        `dd if=/dev/zero of=/mnt/fill bs=1k count=60 status=none; node '${CLI}' ${args}; ` +
        `echo tcpdump-rc=\\$(tcpdump -r /mnt/c.pcapng -n >/dev/null 2>&1; echo \\$?)"`,
      40,
    );
    expect(r.stderr).toMatch(/tapyard: warning: the capture \/mnt\/c.pcapng stopped after \d+ frames: no space left/);
    const report = JSON.parse(r.stdout.split('\n').find((l) => l.startsWith('{'))!);
    expect(report.balanced).toBe(true);
    // All 40 round trips crossed: the capture's failure did not stop the forwarding.
    expect(report.ports.find((p: { name: string }) => p.name === 'guest').txFrames).toBeGreaterThanOrEqual(40);
    expect(r.stdout).toMatch(/tcpdump-rc=0/);
  });

  test('--capture-error stop ends the run cleanly, with counters and exit status 1', () => {
    const r = inHv(
      `node '${CLI}' ${quoted(
        forwardArgs(lab, '--json', '--duration', '5', '--capture', '/dev/full', '--capture-error', 'stop'),
      )}; echo rc=$?`,
      3,
    );
    expect(r.stdout).toMatch(/"balanced":true/);
    expect(r.stdout).toMatch(/rc=1/);
    expect(r.stderr.trim().split('\n').at(-1)).toMatch(/^tapyard: the capture \/dev\/full stopped after \d+ frames/);
  });

  test('--stats | head -1: the closed pipe ends the stats, not the run', () => {
    const r = inHv(
      `node '${CLI}' ${quoted(forwardArgs(lab, '--stats', '--duration', '4'))} | head -1; echo rc=\${PIPESTATUS[0]}`,
    );
    expect(r.stdout).toMatch(/^t=1s /);
    expect(r.stdout).toMatch(/rc=0/);
    expect(r.stderr).toMatch(/warning: standard output closed \(EPIPE\); forwarding goes on/);
    // The final counters went to stderr, and show the pings that crossed after the pipe closed.
    expect(r.stderr).toMatch(/guest\s+rx [1-9]\d* frames/);
    expect(r.stderr).toMatch(/\(balanced\)/);
  });
});

describe('signals', () => {
  test.each([
    'SIGHUP',
    'SIGQUIT',
    'SIGTERM',
  ] as const)('%s ends the run with counters, exit status 0', async (signal) => {
    const t = startTapyard(lab, forwardArgs(lab, '--json'));
    await t.waitFor(/forwarding/);
    ping(2);
    const stop = await t.stop(signal);
    expect(stop.code).toBe(0);
    expect(JSON.parse(t.stdout().trim().split('\n').at(-1)!).balanced).toBe(true);
  });

  test('SIGUSR1 prints the counters and opens no port (no inspector)', async () => {
    const t = startTapyard(lab, forwardArgs(lab));
    await t.waitFor(/forwarding/);
    ping(2);
    const pid = Number(
      execFileSync('pgrep', ['-n', '-f', `${CLI} forward --port wire=macvtap:${lab.env.WIRE_IF}`], {
        encoding: 'utf8',
      }).trim(),
    );
    process.kill(pid, 'SIGUSR1');
    await t.waitFor(/ledger: rx [1-9]/);
    // Counters go to standard output, as the final ones do; stderr carries sentences only.
    expect(t.stdout()).toMatch(/counters after [\d.]+ s:\n\s+wire\s+rx [1-9]/);
    expect(t.stderr()).not.toMatch(/counters after/);
    await new Promise((r) => setTimeout(r, 300));
    // Nothing listens in the namespace tapyard runs in (the inspector would be on 9229).
    const listening = execFileSync('ip', ['netns', 'exec', lab.ns('hv'), 'ss', '-Hltnp'], { encoding: 'utf8' });
    expect(listening).toBe('');
    expect(t.child.exitCode).toBeNull();
    const stop = await t.stop('SIGINT');
    expect(stop.code).toBe(0);
  });
});
