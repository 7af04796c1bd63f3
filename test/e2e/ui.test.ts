// tapyard ui in a real browser (Debian's chromium through playwright-core): a macvtap lab with
// the forwarder in the hv namespace, ping through it while the page is open, and the page must
// show the counters rising, trace a frame as `tapyard trace --json` does, send one through the live
// forwarder and show where its copy went, refuse a POST without the
// token and a foreign Host, and say the run ended once the ui is stopped, leaving nothing listening.
// A ui served from the guest's namespace is asked from the ext namespace, another machine: 403
// unless --allow-remote.

import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { CLI, type Lab, labUp, ROOT } from '../helpers/lab.js';

const CHROMIUM = '/usr/bin/chromium';
const shots = mkdtempSync(join(tmpdir(), 'ty-ui-'));

/** `tapyard ui ARGS` (in network namespace NS, if given), and the URL it prints once it listens. */
function startUi(args: string[], ns?: string): { child: ChildProcess; url: Promise<string>; stderr: () => string } {
  const command = [process.execPath, CLI, 'ui', ...args];
  const child =
    ns === undefined
      ? spawn(command[0]!, command.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] })
      : spawn('ip', ['netns', 'exec', ns, ...command], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  const url = new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no URL from the ui: ${err}`)), 15_000);
    child.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      const m = /ui at (http:\/\/\S+)/.exec(err);
      if (m !== null) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
  });
  return { child, url, stderr: () => err };
}

function post(url: URL, path: string, headers: Record<string, string>, body: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, path, method: 'POST', headers }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * GET http://ADDRESS:PORT/ from namespace NS; the status and body, or null while nothing answers yet
 * (the request crosses the forwarder the ui starts).
 */
function getFrom(ns: string, address: string, port: number): { status: number; body: string } | null {
  const script =
    `require('http').get({ host: ${JSON.stringify(address)}, port: ${port}, path: '/', timeout: 2000 }, (r) => {` +
    "let b = ''; r.on('data', (d) => { b += d; });" +
    "r.on('end', () => process.stdout.write(JSON.stringify({ status: r.statusCode, body: b })));" +
    "}).on('error', () => process.exit(3)).on('timeout', () => process.exit(3));";
  const r = spawnSync('ip', ['netns', 'exec', ns, process.execPath, '-e', script], { encoding: 'utf8' });
  return r.status === 0 ? (JSON.parse(r.stdout) as { status: number; body: string }) : null;
}

/** Whether anything accepts a connection on this loopback port. */
function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

describe.skipIf(!existsSync(CHROMIUM))('tapyard ui in a browser', () => {
  let lab: Lab;
  let browser: Browser;
  let ui: ReturnType<typeof startUi>;

  beforeAll(async () => {
    lab = await labUp('macvtap');
    const e = lab.env;
    ui = startUi([
      '--listen',
      '127.0.0.1:0',
      '--netns',
      lab.ns('hv'),
      '--',
      '--port',
      `wire=macvtap:${e.WIRE_IF}`,
      '--port',
      `guest=tap:${e.GUEST_IF},netns=${e.NS_GST}`,
    ]);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  });

  // The screenshots stay in their temp dir when the page test fails, to be looked at.
  let passed = false;

  afterAll(async () => {
    await browser?.close();
    if (passed) rmSync(shots, { recursive: true, force: true });
    else console.log(`ui screenshots: ${shots}`);
    if (ui?.child.exitCode === null) ui.child.kill('SIGKILL');
    lab?.down();
  });

  test('the page shows the lab live, traces a frame, guards its POST, and ends with the run', async () => {
    const url = new URL(await ui.url);
    const page = await browser.newPage({ viewport: { width: 1100, height: 820 } });
    await page.goto(url.href);
    await page.locator('svg g[data-port="wire"]').waitFor();
    await page.locator('#counters tr[data-port="guest"]').waitFor();

    // Ping from ext to the guest through the forwarder while the page is open.
    const rx = async () => Number(await page.locator('#counters tr[data-port="wire"] td').nth(2).textContent());
    const before = await rx();
    const ping = spawn('ip', [
      'netns',
      'exec',
      lab.ns('ext'),
      'ping',
      '-c',
      '15',
      '-i',
      '0.2',
      '-W',
      '2',
      lab.env.GUEST_IP!,
    ]);
    let pingOut = '';
    ping.stdout.on('data', (d: Buffer) => {
      pingOut += d.toString();
    });
    const pinged = new Promise<number | null>((resolve) => ping.once('close', resolve));
    await page.waitForFunction(
      (b) => Number(document.querySelectorAll('#counters tr[data-port="wire"] td')[2]?.textContent) >= b + 5,
      before,
      { timeout: 15_000 },
    );
    const during = await rx();
    expect(await pinged).toBe(0);
    expect(pingOut).toMatch(/15 received/);
    // The next objects bring the page up to every echo request the wire port read, and past the
    // figure it showed while ping ran.
    await page.waitForFunction(
      (d) =>
        Number(document.querySelectorAll('#counters tr[data-port="wire"] td')[2]?.textContent) >= Math.max(d + 1, 15),
      during,
      { timeout: 10_000 },
    );
    expect(await page.locator('svg g[data-port="wire"] .port-counters').textContent()).toMatch(/^rx [1-9]\d* /);
    await page.screenshot({ path: join(shots, 'ui-live.png'), fullPage: true });

    // A frame traced in the page has the hops `tapyard trace --json` gives for the same words.
    await page.fill('#dst', 'b');
    await page.fill('#vlan', '7');
    await page.click('button[type="submit"]');
    await page.locator('#hops li.hop').first().waitFor();
    const cli = JSON.parse(
      execFileSync(
        process.execPath,
        [CLI, 'trace', 'macvlan', '--mode', 'bridge', '--dst', 'b', '--vlan', '7', '--json'],
        { encoding: 'utf8' },
      ),
    ) as { hops: { outputs: { port: string }[] }[]; copies: Record<string, number> };
    expect(await page.locator('#hops > li.hop').count()).toBe(cli.hops.length);
    const outs = cli.hops.flatMap((h) => h.outputs.map((o) => `copy to ${o.port}:`));
    const shown = await page.locator('#hops li.out').allTextContents();
    expect(shown.map((t) => t.slice(0, t.indexOf(':') + 1))).toEqual(outs);
    expect(await page.locator('#trace-topology').textContent()).toMatch(/vlan 7/);
    await page.screenshot({ path: join(shots, 'ui-trace.png'), fullPage: true });

    // A bad field is trace's own sentence, shown in the page.
    await page.fill('#dst', 'nobody');
    await page.click('button[type="submit"]');
    await expect.poll(() => page.locator('#trace-error').textContent()).toMatch(/nobody/);

    // A frame sent through the live forwarder "from the guest": its copy goes to the wire, and the
    // guest port's rx counts it on the page.
    const guestRx = async () => Number(await page.locator('#counters tr[data-port="guest"] td').nth(2).textContent());
    const rxBefore = await guestRx();
    await page.selectOption('#send-port', 'guest');
    await page.fill('#send-dst', 'broadcast');
    await page.click('#send button[type="submit"]');
    await page.locator('#sent li.out').first().waitFor();
    expect(await page.locator('#sent li.out').allTextContents()).toEqual(['written to wire']);
    expect(await page.locator('#sent li').first().textContent()).toBe(
      '60 bytes switched as if read on guest (counted as its rx)',
    );
    await page.waitForFunction(
      (b) => Number(document.querySelectorAll('#counters tr[data-port="guest"] td')[2]?.textContent) >= b + 1,
      rxBefore,
      { timeout: 10_000 },
    );
    await page.screenshot({ path: join(shots, 'ui-send.png'), fullPage: true });
    await page.fill('#send-dst', '01:02:03');
    await page.click('#send button[type="submit"]');
    await expect.poll(() => page.locator('#send-error').textContent()).toMatch(/^dst must be a MAC address/);

    // The POSTs need this run's token, and the server answers only to its loopback name.
    const token = url.searchParams.get('token')!;
    const json = { 'content-type': 'application/json' };
    expect(await post(url, '/trace', json, '{"dst":"b"}')).toBe(403);
    expect(await post(url, '/trace', { ...json, 'x-tapyard-token': 'f'.repeat(32) }, '{}')).toBe(403);
    expect(await post(url, '/send', json, '{"port":"guest"}')).toBe(403);
    expect(await post(url, '/send', { ...json, 'x-tapyard-token': token }, '{"port":"nope"}')).toBe(400);
    expect(await post(url, '/trace', { ...json, 'x-tapyard-token': token }, '{"topology":"macvlan"}')).toBe(200);
    const foreign = { ...json, 'x-tapyard-token': token, host: 'tapyard.example:80' };
    expect(await post(url, '/trace', foreign, '{"topology":"macvlan"}')).toBe(403);

    // Ctrl-C: the forwarder's final object reaches the page, then nothing is left listening.
    const exited = new Promise<number | null>((resolve) => ui.child.once('exit', resolve));
    ui.child.kill('SIGINT');
    expect(await exited).toBe(0);
    await expect.poll(() => page.locator('#status').textContent()).toMatch(/^the run ended after/);
    expect(await listening(Number(url.port))).toBe(false);
    await page.screenshot({ path: join(shots, 'ui-ended.png'), fullPage: true });
    // The README's pictures are refreshed only when asked, so a test run leaves the tree clean.
    if (process.env.TY_UPDATE_SCREENSHOTS === '1') {
      mkdirSync(join(ROOT, 'docs', 'screenshots'), { recursive: true });
      for (const f of ['ui-live.png', 'ui-trace.png', 'ui-send.png'])
        copyFileSync(join(shots, f), join(ROOT, 'docs', 'screenshots', f));
    }
    passed = true;
  });

  test('bad input: one sentence, status 2; a forwarder that fails ends the ui with 1, nothing listening', async () => {
    const bad = spawnSync(process.execPath, [CLI, 'ui', '--listen', '1.2.3:80', '--', '--port', 'a=tap:x'], {
      encoding: 'utf8',
    });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toBe(
      "tapyard: --listen must be an IPv4 address and a port such as 127.0.0.1:8080, not '1.2.3:80'\n",
    );
    // No such interface in the lab's hv namespace: the forwarder says so and the ui goes with it.
    const gone = startUi([
      '--listen',
      '127.0.0.1:0',
      '--netns',
      lab.ns('hv'),
      '--',
      '--port',
      `a=macvtap:ty-${lab.id}-no0`,
      '--port',
      `b=macvtap:ty-${lab.id}-no1`,
    ]);
    const url = new URL(await gone.url);
    const code = await new Promise<number | null>((resolve) => gone.child.once('exit', resolve));
    expect(code).toBe(1);
    expect(gone.stderr()).toMatch(/tapyard: port a: there is no interface/);
    expect(await listening(Number(url.port))).toBe(false);
  });

  test('a client on another machine is refused with 403, and served with --allow-remote', async () => {
    const e = lab.env;
    const forward = ['--port', `wire=macvtap:${e.WIRE_IF}`, '--port', `guest=tap:${e.GUEST_IF},netns=${e.NS_GST}`];
    for (const allowRemote of [false, true]) {
      const remote = allowRemote ? ['--allow-remote'] : [];
      const served = startUi(['--listen', '0.0.0.0:0', ...remote, '--netns', lab.ns('hv'), '--', ...forward], e.NS_GST);
      const port = Number(new URL(await served.url).port);
      let answer = getFrom(lab.ns('ext'), e.GUEST_IP!, port);
      for (let i = 0; answer === null && i < 40; i++) {
        await new Promise((r) => setTimeout(r, 250));
        answer = getFrom(lab.ns('ext'), e.GUEST_IP!, port);
      }
      const exited = new Promise<number | null>((resolve) => served.child.once('exit', resolve));
      served.child.kill('SIGINT');
      expect(await exited).toBe(0);
      if (allowRemote) {
        expect(answer?.status).toBe(200);
        expect(answer?.body).toMatch(/<html/i);
      } else {
        expect(answer?.status).toBe(403);
        expect(JSON.parse(answer!.body).error).toMatch(/is not on this machine \(start the ui with --allow-remote\)/);
      }
    }
  });
});
