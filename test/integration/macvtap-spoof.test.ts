// A guest that sends frames out of its macvtap with a source MAC that is not the macvtap's: the
// kernel lets them out (tap_get_user, macvlan_queue_xmit read only the destination), so tapyard
// counts them (spoofedSource) and, with spoof=drop, drops them under `spoofed-source`. Both ways a
// frame can take: through the loop (here a capture, so also each frame's fate) and through the
// splice, where C does the check. The kernel is the oracle: what reaches the external side.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { EtherType } from '../../src/frame/ethernet.js';
import { formatMac, type Mac, parseMac, readMac } from '../../src/mac.js';
import { tapio } from '../../src/port/native.js';
import { markedFrames, sendFrames } from '../helpers/frames.js';
import { finalReport, type Lab, labUp, port, startTapyard, type Tapyard } from '../helpers/lab.js';

const FOREIGN: Mac = parseMac('02:5b:00:00:00:01')!;
const SPOOFED = 20;
const OWN = 10;
const LENGTH = 60;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let lab: Lab;
let dir: string;
beforeAll(async () => {
  lab = await labUp('macvtap');
  dir = mkdtempSync(join(tmpdir(), 'tapyard-spoof-'));
});
/** The run of the test under way: one that fails half-way must not keep the macvtap open. */
let running: Tapyard | null = null;
afterEach(async () => {
  if (running !== null && running.child.exitCode === null) await running.stop('SIGKILL');
  running = null;
});
afterAll(() => {
  lab?.down();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

/** The 0x88b5 frames that reach the external side, by source MAC. */
function listenOnExt(): { bySource: () => Map<Mac, number>; close: () => void } {
  const t = tapio();
  const fd = t.packetSocket(lab.env.EXT_IF!, EtherType.EXPERIMENTAL, `/run/netns/${lab.ns('ext')}`);
  const ring = new Uint8Array(256 * 1024 + 12 + 65536 + 4096);
  const offsets = new Uint32Array(64);
  const lengths = new Int32Array(64);
  const seen = new Map<Mac, number>();
  const drain = () => {
    for (let n = t.readBatch(fd, ring, offsets, lengths, 0, 12, 64); n > 0; ) {
      for (let i = 0; i < n; i++) {
        const src = readMac(ring, offsets[i]! + 6);
        seen.set(src, (seen.get(src) ?? 0) + 1);
      }
      n = t.readBatch(fd, ring, offsets, lengths, 0, 12, 64);
    }
  };
  const timer = setInterval(drain, 2);
  return {
    bySource: () => {
      drain();
      return seen;
    },
    close: () => {
      clearInterval(timer);
      t.close(fd);
    },
  };
}

function wireMac(): Mac {
  return parseMac(lab.run('hv', 'cat', `/sys/class/net/${lab.env.WIRE_IF}/address`).trim())!;
}

/** Frames from the guest's side of its tap: `count` with source `src`, to the external side. */
async function fromGuest(src: Mac, count: number): Promise<void> {
  const frames = markedFrames(parseMac(lab.env.EXT_MAC!)!, src, count, LENGTH);
  await sendFrames(lab.ns('gst'), lab.env.GUEST_IF!, frames, count, LENGTH);
}

interface Run {
  t: Tapyard;
  capture: string | null;
}

async function forward(spoof: string | null, path: 'loop' | 'splice'): Promise<Run> {
  const e = lab.env;
  const capture = path === 'loop' ? join(dir, `${spoof ?? 'default'}.pcapng`) : null;
  const t = startTapyard(lab, [
    'forward',
    '--port',
    `wire=macvtap:${e.WIRE_IF}${spoof === null ? '' : `,spoof=${spoof}`}`,
    '--port',
    `guest=tap:${e.GUEST_IF},netns=${e.NS_GST}`,
    '--json',
    ...(capture === null ? [] : ['--capture', capture]),
  ]);
  running = t;
  await t.waitFor(/forwarding/);
  await sleep(300); // the tap's carrier comes up a moment after tapyard attaches it
  return { t, capture };
}

/** Each frame's fate on the guest's interface of the capture, as tshark reads it. */
function guestFates(capture: string): string[] {
  return execFileSync(
    'tshark',
    ['-r', capture, '-T', 'fields', '-E', 'separator=/t', '-e', 'frame.interface_name', '-e', 'frame.comment'],
    { encoding: 'utf8' },
  )
    .trim()
    .split('\n')
    .map((line) => line.split('\t'))
    .filter(([iface]) => iface === 'guest')
    .map(([, comment]) => comment ?? '');
}

const warnings = (t: Tapyard) => t.stderr().match(/^tapyard: port wire: warning: .*source MAC.*$/gm) ?? [];

describe.each(['loop', 'splice'] as const)('through the %s', (path) => {
  test('a frame with a foreign source goes out counted, once warned; one with the macvtap’s own is not', async () => {
    const { t, capture } = await forward(null, path);
    const ext = listenOnExt();
    let seen: Map<Mac, number>;
    try {
      await fromGuest(FOREIGN, SPOOFED);
      await fromGuest(wireMac(), OWN);
      await sleep(1300); // the splice's counts are seen by the port's next look at its device (each second)
      seen = ext.bySource();
    } finally {
      ext.close();
    }
    expect((await t.stop()).code).toBe(0);
    // The kernel lets them out: count and pass is what it does, plus the count.
    expect(seen.get(FOREIGN)).toBe(SPOOFED);
    expect(seen.get(wireMac())).toBe(OWN);
    const r = finalReport(t);
    const wire = port(r, 'wire');
    expect(r.balanced).toBe(true);
    expect(wire.spoofedSource).toBe(SPOOFED);
    expect(wire.drops).toEqual({});
    expect(warnings(t)).toHaveLength(1);
    const spliced = port(r, 'guest').splicedFrames;
    if (path === 'splice') expect(spliced).toBeGreaterThanOrEqual(SPOOFED);
    else {
      expect(spliced).toBe(0);
      const fates = guestFates(capture!);
      expect(fates.filter((f) => f === 'to wire (cross-peer) with a spoofed source (counted)')).toHaveLength(SPOOFED);
      expect(fates.filter((f) => f === 'to wire (cross-peer)').length).toBeGreaterThanOrEqual(OWN);
    }
  });

  test('spoof=drop: a frame with a foreign source is dropped under spoofed-source; the ledger balances', async () => {
    const { t, capture } = await forward('drop', path);
    const ext = listenOnExt();
    let seen: Map<Mac, number>;
    try {
      // Mixed in one batch: the frames between the dropped ones still go out, in order.
      const frames = new Uint8Array((SPOOFED + OWN) * LENGTH);
      const dst = parseMac(lab.env.EXT_MAC!)!;
      const own = wireMac();
      for (let i = 0; i < SPOOFED + OWN; i++)
        frames.set(markedFrames(dst, i % 3 === 0 && i / 3 < OWN ? own : FOREIGN, 1, LENGTH), i * LENGTH);
      await sendFrames(lab.ns('gst'), lab.env.GUEST_IF!, frames, SPOOFED + OWN, LENGTH);
      await sleep(500);
      seen = ext.bySource();
    } finally {
      ext.close();
    }
    expect((await t.stop()).code).toBe(0);
    expect(seen.get(FOREIGN)).toBeUndefined();
    expect(seen.get(wireMac())).toBe(OWN);
    const r = finalReport(t);
    const wire = port(r, 'wire');
    expect(r.balanced).toBe(true);
    expect(r.ledger.rx + r.ledger.clones).toBe(r.ledger.tx + r.ledger.drops + r.ledger.queued);
    expect(wire.drops).toEqual({ 'spoofed-source': SPOOFED });
    expect(wire.spoofedSource).toBe(0);
    expect(warnings(t)).toHaveLength(0);
    if (capture !== null) {
      const fates = guestFates(capture);
      expect(fates.filter((f) => f === 'to wire (cross-peer) dropped: spoofed-source')).toHaveLength(SPOOFED);
    }
  });
});

test("the check follows the macvtap's address when it changes while running", async () => {
  const before = wireMac();
  const after = parseMac('02:5b:00:00:00:02')!;
  const { t } = await forward('drop', 'splice');
  const ext = listenOnExt();
  let seen: Map<Mac, number>;
  try {
    lab.run('hv', 'ip', 'link', 'set', lab.env.WIRE_IF!, 'address', '02:5b:00:00:00:02');
    await sleep(300); // the kernel announces the change; the port reads its device's state then
    await fromGuest(after, OWN);
    await fromGuest(before, SPOOFED);
    await sleep(500);
    seen = ext.bySource();
  } finally {
    ext.close();
    lab.run('hv', 'ip', 'link', 'set', lab.env.WIRE_IF!, 'address', formatMac(before));
  }
  expect((await t.stop()).code).toBe(0);
  expect(seen.get(after)).toBe(OWN);
  expect(seen.get(before)).toBeUndefined();
  const r = finalReport(t);
  expect(r.balanced).toBe(true);
  expect(port(r, 'wire').drops).toEqual({ 'spoofed-source': SPOOFED });
});

test('with trust-guest-rx-filters the check takes the MAC the guest gave the macvtap at once', async () => {
  const e = lab.env;
  const renamed = '02:5b:00:00:00:03';
  const t = startTapyard(lab, [
    'forward',
    '--port',
    `wire=macvtap:${e.WIRE_IF},trust-guest-rx-filters=on,spoof=drop`,
    '--port',
    `guest=tap:${e.GUEST_IF},netns=${e.NS_GST}`,
    '--json',
  ]);
  running = t;
  const guestMac = lab.run('gst', 'cat', `/sys/class/net/${e.GUEST_IF}/address`).trim();
  const ext = listenOnExt();
  let seen: Map<Mac, number>;
  try {
    await t.waitFor(/forwarding/);
    await sleep(300);
    lab.run('gst', 'ip', 'link', 'set', e.GUEST_IF!, 'address', renamed);
    await t.waitFor(new RegExp(`<- guest: address ${renamed}`));
    // At once: the port's own look at its device may not have come yet.
    await fromGuest(parseMac(renamed)!, SPOOFED);
    await sleep(300);
    seen = ext.bySource();
  } finally {
    ext.close();
    lab.run('gst', 'ip', 'link', 'set', e.GUEST_IF!, 'address', guestMac);
  }
  expect((await t.stop()).code).toBe(0);
  expect(seen.get(parseMac(renamed)!)).toBe(SPOOFED);
  const r = finalReport(t);
  expect(r.balanced).toBe(true);
  expect(port(r, 'wire').drops).toEqual({});
});
