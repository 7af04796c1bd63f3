// A burst of broadcasts into a pcap port: every frame the wire received is accounted for, by
// tapyard's ledger or by the kernel's counters beside it.

import { execFileSync } from 'node:child_process';
import { afterEach, expect, test } from 'vitest';
import { BROADCAST } from '../../src/mac.js';
import { markedFrames, sendFrames } from '../helpers/frames.js';
import { finalReport, type Lab, labUp, port, startTapyard } from '../helpers/lab.js';

let lab: Lab | null = null;
afterEach(() => {
  lab?.down();
  lab = null;
});

test('a 1000-frame burst into a pcap port: what the capture lost is counted beside the ledger', async () => {
  const l = await labUp('ref-veth');
  lab = l;
  const tap = `ty-${l.id}-gtp`;
  const gst = l.ns('gst');
  execFileSync('ip', ['-n', gst, 'tuntap', 'add', 'dev', tap, 'mode', 'tap']);
  execFileSync('ip', ['-n', gst, 'link', 'set', tap, 'up']);
  const t = startTapyard(
    l,
    ['forward', '--json', '--port', `wire=pcap:${l.env.GUEST_IF}`, '--port', `guest=tap:${tap}`],
    'gst',
  );
  await t.waitFor(/forwarding/);
  const before = l.stat('gst', l.env.GUEST_IF!, 'rx_packets');
  const count = 1000;
  await sendFrames(l.ns('ext'), l.env.EXT_IF!, markedFrames(BROADCAST, 0x02_00_00_00_00_0e, count), count, 60);
  await new Promise((r) => setTimeout(r, 1500));
  const received = l.stat('gst', l.env.GUEST_IF!, 'rx_packets') - before;
  await t.stop();
  const r = finalReport(t);
  const wire = port(r, 'wire');
  const guest = port(r, 'guest');
  expect(r.balanced).toBe(true);
  expect(received).toBeGreaterThanOrEqual(count);
  // Every frame the interface received is either read by tapyard or counted as lost before it.
  expect(wire.rxFrames + wire.kernel!.beforeRead).toBe(received);
  expect(guest.txFrames).toBe(wire.rxFrames);
});
