// The ui's why form in a real browser (Debian's chromium through playwright-core), on a macvtap lab
// whose run watches the kernel's drops (--kernel-reasons): host → guest on macvtap in vepa mode,
// asked with fields, answers with the real cause, draws the switch as the lost hop, and the kernel's
// own reason (the switch's NOT_SPECIFIED in br_handle_frame_finish) beside the model's. A page opened
// without the token says before any submit that its forms cannot be sent. The screenshots
// (ui-why.png, ui-no-token.png) go to a temp dir, and to docs/screenshots/ with TY_UPDATE_SCREENSHOTS=1
// as test/e2e/ui.test.ts does, so a test run leaves the tree clean.

import { type ChildProcess, spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { CLI, type Lab, labUp, ROOT } from '../helpers/lab.js';

const CHROMIUM = '/usr/bin/chromium';
const DOCS = join(ROOT, 'docs', 'screenshots');
const SHOTS = mkdtempSync(join(tmpdir(), 'ty-ui-why-'));

function keep(name: string): void {
  if (process.env.TY_UPDATE_SCREENSHOTS === '1') copyFileSync(join(SHOTS, name), join(DOCS, name));
}

describe.skipIf(!existsSync(CHROMIUM))('the ui why form in a browser', () => {
  let lab: Lab;
  let browser: Browser;
  let child: ChildProcess;
  let url: Promise<string>;

  beforeAll(async () => {
    lab = await labUp('macvtap', '--mode', 'vepa');
    const e = lab.env;
    const args = ['ui', '--listen', '127.0.0.1:0', '--netns', lab.ns('hv'), '--'];
    args.push('--port', `wire=macvtap:${e.WIRE_IF}`, '--port', `guest=tap:${e.GUEST_IF},netns=${e.NS_GST}`);
    args.push('--kernel-reasons');
    child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    url = new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no URL from the ui: ${err}`)), 30_000);
      child.stderr!.on('data', (d: Buffer) => {
        err += d.toString();
        const m = /ui at (http:\/\/\S+)/.exec(err);
        if (m !== null) {
          clearTimeout(timer);
          resolve(m[1]!);
        }
      });
    });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  });

  afterAll(async () => {
    await browser?.close();
    if (child?.exitCode === null) {
      child.kill('SIGINT');
      await new Promise((r) => child.once('close', r));
    }
    lab?.down();
    rmSync(SHOTS, { recursive: true, force: true });
  });

  test("answers host → guest on macvtap: the real cause, the lost hop drawn, the kernel's reason", async () => {
    const page = await browser.newPage({ viewport: { width: 1100, height: 1500 } });
    await page.goto(new URL(await url).href);
    await page.locator('#counters tr[data-port="guest"]').waitFor();
    // The kernel around the ports: the macvtap's macvlan in the lab's mode, on its lower.
    expect(await page.locator('svg#topo g[data-kernel="wire"]').textContent()).toMatch(
      /^kernel: macvlan \(vepa\)lower ty-\w+-eth\+ the host stack/,
    );
    // The run watches the kernel's drops on its devices: the table says none so far, not "not watched".
    await expect.poll(() => page.locator('#kernel-reasons tbody').textContent(), { timeout: 15_000 }).toBe('none');
    await page.selectOption('#why-mode', 'vepa');
    await page.selectOption('#why-from', 'host');
    await page.selectOption('#why-to', 'a');
    await page.check('#why-verify');
    await page.click('#why button[type="submit"]');
    await page.locator('#why-kernel li').first().waitFor({ timeout: 60_000 });
    expect(await page.locator('#why-answer').textContent()).toBe(
      "No: host cannot reach a: the host's frames leave through the lower and macvlan never sees them, so a gets " +
        'one only if something outside sends it back.',
    );
    expect(await page.locator('svg#why-topo g[data-node="switch"] rect').getAttribute('fill')).toBe('#f6c2c2');
    expect(await page.locator('svg#why-topo g[data-node="macvlan"] rect').getAttribute('fill')).toBe('#e4e7eb');
    const kernel = await page.locator('#why-kernel li').allTextContents();
    expect(kernel).toHaveLength(4);
    expect(kernel[0]).toBe('ARP request (broadcast) from host: the kernel dropped nothing - agrees');
    expect(kernel[1]).toBe(
      "ARP reply a → host: the kernel dropped it: NOT_SPECIFIED in br_handle_frame_finish (on the switch's port " +
        'toward the lower) - agrees',
    );
    await page.screenshot({ path: join(SHOTS, 'ui-why.png'), fullPage: true });
    keep('ui-why.png');
  });

  test('a page without the token says so before any submit, and its buttons are off', async () => {
    const page = await browser.newPage({ viewport: { width: 1100, height: 700 } });
    const bare = new URL(await url);
    bare.search = '';
    await page.goto(bare.href);
    await page.locator('#token-note').waitFor();
    expect(await page.locator('#token-note').textContent()).toMatch(/opened without the run's token/);
    expect(await page.locator('#why button[type="submit"]').isDisabled()).toBe(true);
    expect(await page.locator('#trace button[type="submit"]').isDisabled()).toBe(true);
    await page.screenshot({ path: join(SHOTS, 'ui-no-token.png') });
    keep('ui-no-token.png');
  });
});
