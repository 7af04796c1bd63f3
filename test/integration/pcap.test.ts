// A pcap port on a plain veth: the guest reaches the external host through libpcap capture and
// injection, and the end of the interface ends tapyard with one sentence, not an abort.

import { execFileSync } from 'node:child_process';
import { afterEach, expect, test } from 'vitest';
import { finalReport, type Lab, labUp, port, startTapyard } from '../helpers/lab.js';

let lab: Lab | null = null;
afterEach(() => {
  lab?.down();
  lab = null;
});

/** ref-veth lab, with the guest's address moved from its veth to a tap: tapyard joins the two. */
async function pcapLab(): Promise<{ lab: Lab; args: string[] }> {
  const l = await labUp('ref-veth');
  const tap = `ty-${l.id}-gtp`;
  const gst = l.ns('gst');
  execFileSync('ip', ['-n', gst, 'tuntap', 'add', 'dev', tap, 'mode', 'tap']);
  execFileSync('ip', ['-n', gst, 'addr', 'flush', 'dev', l.env.GUEST_IF!]);
  execFileSync('ip', ['-n', gst, 'link', 'set', tap, 'up']);
  execFileSync('ip', ['-n', gst, 'addr', 'add', `${l.env.GUEST_IP}/24`, 'dev', tap]);
  return { lab: l, args: ['forward', '--port', `wire=pcap:${l.env.GUEST_IF}`, '--port', `guest=tap:${tap}`] };
}

test('ping crosses a pcap port and a tap, every frame counted', async () => {
  const setup = await pcapLab();
  lab = setup.lab;
  const t = startTapyard(lab, [...setup.args, '--json'], 'gst');
  await t.waitFor(/forwarding/);
  expect(lab.run('ext', 'ping', '-c', '4', '-i', '0.2', '-W', '2', lab.env.GUEST_IP!)).toMatch(/4 received/);
  expect((await t.stop()).code).toBe(0);
  const r = finalReport(t);
  expect(r.balanced).toBe(true);
  expect(r.ledger.drops).toBe(0);
  // Only inbound frames are captured: what tapyard itself injected does not come back.
  expect(port(r, 'wire').rxFrames).toBe(port(r, 'guest').txFrames);
  expect(port(r, 'wire').txFrames).toBe(port(r, 'guest').rxFrames);
  expect(port(r, 'wire').rxFrames).toBeGreaterThanOrEqual(5); // 4 echo requests and an ARP
});

test('deleting the captured interface ends tapyard with one sentence', async () => {
  const setup = await pcapLab();
  lab = setup.lab;
  const t = startTapyard(lab, setup.args, 'gst');
  await t.waitFor(/forwarding/);
  await new Promise((r) => setTimeout(r, 300));
  execFileSync('ip', ['-n', lab.ns('gst'), 'link', 'del', lab.env.GUEST_IF!]);
  const exit = await t.exited();
  expect(exit.code).toBe(1);
  expect(exit.atMs).toBeLessThan(10_000);
  const lines = t.errors().trim().split('\n');
  expect(lines).toEqual([expect.stringMatching(/^tapyard: port wire: the interface ty-\w+-gve was deleted$/)]);
});

test('an interface that is down is refused at once', async () => {
  const setup = await pcapLab();
  lab = setup.lab;
  execFileSync('ip', ['-n', lab.ns('gst'), 'link', 'set', lab.env.GUEST_IF!, 'down']);
  const t = startTapyard(lab, setup.args, 'gst');
  const exit = await t.exited();
  expect(exit.code).toBe(1);
  expect(t.errors().trim()).toMatch(
    /^tapyard: port wire: ty-\w+-gve is down \(libpcap captures only on an interface that is up\)$/,
  );
});
