// typing, the benchmark's latency probe (bench/baseline/typing.c): several --to IP@NETNS probe
// several paths in turn from one process, each socket made in its own namespace. The benchmark's
// idle latency rows rely on it: a path probed from the wrong namespace would measure another path.

import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { addNamespace, deleteAll, newRunId } from '../helpers/kernel-lab.js';
import { ROOT } from '../helpers/lab.js';

const TYPING = join(ROOT, 'bench', 'baseline', 'bin', 'typing');
const run = newRunId();
const nsA = `ty-${run}-a`;
const nsB = `ty-${run}-b`;
const nsC = `ty-${run}-c`; // no server: its echoes never come

interface Server {
  stop: () => Promise<number>;
}

/** An echo server on 127.0.0.1 in `ns`; stop() ends it and returns how many datagrams it echoed. */
function server(ns: string, port: number): Promise<Server> {
  const child = spawn('ip', ['netns', 'exec', ns, TYPING, 'server', '--bind', '127.0.0.1', '--port', String(port)]);
  let out = '';
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
  });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.stderr.on('data', (d: Buffer) => {
      if (d.toString().includes('ready'))
        resolve({
          stop: () =>
            new Promise((done) => {
              child.once('exit', () => done(Number(/echoed (\d+)/.exec(out)?.[1] ?? -1)));
              child.kill('SIGTERM');
            }),
        });
    });
  });
}

beforeAll(() => {
  for (const ns of [nsA, nsB, nsC]) addNamespace(ns);
});
afterAll(() => deleteAll());

test('probes each path in its own namespace, in turn, --count round trips each', async () => {
  // The same address and port in both namespaces: only the namespace tells the paths apart.
  const [a, b] = await Promise.all([server(nsA, 7801), server(nsB, 7801)]);
  const client = spawnSync(
    TYPING,
    ['client', '--to', `127.0.0.1@${nsA}`, '--to', `127.0.0.1@${nsB}`, '--port', '7801', '--count', '40', '--json'],
    { encoding: 'utf8', timeout: 20_000 },
  );
  const [echoedA, echoedB] = [await a.stop(), await b.stop()];
  expect(client.status).toBe(0);
  const out = JSON.parse(client.stdout.trim().split('\n').pop() as string) as {
    targets: { to: string; sent: number; lost: number; rtt_ns: number[] }[];
  };
  expect(out.targets.map((t) => t.to)).toEqual([`127.0.0.1@${nsA}`, `127.0.0.1@${nsB}`]);
  for (const t of out.targets) {
    expect(t.sent).toBe(40);
    expect(t.rtt_ns).toHaveLength(t.sent - t.lost);
    expect(t.rtt_ns.every((ns) => ns > 0)).toBe(true);
  }
  // Each server saw its own path's probes only: 40 measured, 20 warm-up and at least one to find the path.
  expect(echoedA).toBeGreaterThanOrEqual(61);
  expect(echoedB).toBeGreaterThanOrEqual(61);
  expect(echoedA).toBeLessThan(70);
  expect(echoedB).toBeLessThan(70);
});

test('a path that never answers ends the client with one line naming it', async () => {
  const a = await server(nsA, 7802);
  const client = spawnSync(
    TYPING,
    ['client', '--to', `127.0.0.1@${nsA}`, '--to', `127.0.0.1@${nsC}`, '--port', '7802', '--count', '5'],
    { encoding: 'utf8', timeout: 20_000 },
  );
  await a.stop();
  expect(client.status).toBe(2);
  expect(client.stderr.trim()).toBe(`typing: no echo from 127.0.0.1@${nsC}:7802 within 5 s`);
});

test('a namespace that does not exist is one line and exit 2', () => {
  const client = spawnSync(TYPING, ['client', '--to', `127.0.0.1@ty-${run}-none`, '--count', '1'], {
    encoding: 'utf8',
    timeout: 10_000,
  });
  expect(client.status).toBe(2);
  expect(client.stderr.trim()).toBe(`typing: open /run/netns/ty-${run}-none: No such file or directory`);
});

test('a namespace is a name in /run/netns, never a path', () => {
  const client = spawnSync(TYPING, ['client', '--to', '127.0.0.1@../../proc/1/ns/net', '--count', '1'], {
    encoding: 'utf8',
    timeout: 10_000,
  });
  expect(client.status).toBe(2);
  expect(client.stderr.trim()).toBe("typing: bad namespace name '../../proc/1/ns/net'");
});
