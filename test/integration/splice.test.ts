// A plain cross-connect is spliced: the frames that need nothing of the loop go from one fd to
// the other below JavaScript, the others through the loop. The kernel is the oracle: every
// frame must reach the guest's tap once and in the order it was sent, whichever way it went,
// and the counters must agree with the tap's own.

import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { EtherType, emitEthernet } from '../../src/frame/ethernet.js';
import { type Mac, parseMac } from '../../src/mac.js';
import { tapio } from '../../src/port/native.js';
import { sendFrames } from '../helpers/frames.js';
import { finalReport, forwardArgs, type Lab, labUp, port, startTapyard } from '../helpers/lab.js';

const LENGTH = 64;
const COUNT = 600;
/**
 * In the second half every fifth frame carries a VLAN tag: the splice leaves a tagged frame, and
 * what is read behind it in the same turn, to the loop.
 */
const tagged = (i: number) => i >= COUNT / 2 && i % 5 === 2;
const TAGGED = Array.from({ length: COUNT }, (_, i) => i).filter(tagged).length;

/** Frames with a sequence number after the Ethernet header (and tag, when there is one). */
function sequence(dst: Mac, src: Mac): Uint8Array {
  const all = new Uint8Array(COUNT * LENGTH);
  for (let i = 0; i < COUNT; i++) {
    const at = i * LENGTH;
    const tags = tagged(i) ? [{ tpid: EtherType.VLAN, tci: 7 }] : [];
    const hdr = emitEthernet({ dst, src, tags, etherType: EtherType.EXPERIMENTAL }, all, at);
    new DataView(all.buffer).setUint32(at + hdr, i);
  }
  return all;
}

/**
 * The sequence numbers of the 0x88b5 frames that reach `ifname` in `ns`, in arrival order. The
 * kernel takes a tag off into metadata before a packet socket sees the frame, so the number is
 * right after the Ethernet header in both kinds.
 */
function listen(ns: string, ifname: string): { read: () => number[]; close: () => void } {
  const t = tapio();
  const fd = t.packetSocket(ifname, EtherType.EXPERIMENTAL, `/run/netns/${ns}`);
  const ring = new Uint8Array(256 * 1024 + 12 + 65536 + 4096);
  const offsets = new Uint32Array(64);
  const lengths = new Int32Array(64);
  const seen: number[] = [];
  const drain = () => {
    for (let n = t.readBatch(fd, ring, offsets, lengths, 0, 12, 64); n > 0; ) {
      for (let i = 0; i < n; i++) seen.push(new DataView(ring.buffer).getUint32(offsets[i]! + 14));
      n = t.readBatch(fd, ring, offsets, lengths, 0, 12, 64);
    }
  };
  const timer = setInterval(drain, 2);
  return {
    read: () => {
      drain();
      return seen;
    },
    close: () => {
      clearInterval(timer);
      t.close(fd);
    },
  };
}

describe.each(['macvtap', 'bridge'])('a plain cross-connect on the %s path', (kind) => {
  let lab: Lab;
  beforeAll(async () => {
    lab = await labUp(kind);
  });
  afterAll(() => lab?.down());

  test('spliced and looped frames reach the guest once each, in order, counted as the tap counts them', async () => {
    const e = lab.env;
    // Read before tapyard starts: only tapyard writes to the guest's device, and a frame of the lab's
    // own (the bridge's IGMP report) it forwards at once would otherwise land before this read and
    // still be in its count (seen once in CI: 601 forwarded, 600 counted after the read).
    const rxBefore = lab.stat('gst', e.GUEST_IF!, 'rx_packets');
    const t = startTapyard(lab, forwardArgs(lab, '--json'));
    await t.waitFor(/forwarding/);
    const sink = listen(lab.ns('gst'), e.GUEST_IF!);
    try {
      const frames = sequence(parseMac(e.GUEST_MAC!)!, parseMac(e.EXT_MAC!)!);
      // Ten at a time, slowly enough that neither the wire's queue nor the guest's backlog overflows.
      for (let at = 0; at < COUNT; at += 10) {
        await sendFrames(lab.ns('ext'), e.EXT_IF!, frames.subarray(at * LENGTH, (at + 10) * LENGTH), 10, LENGTH);
        await new Promise((r) => setTimeout(r, 5));
      }
      await new Promise((r) => setTimeout(r, 300));
      expect(sink.read()).toEqual(Array.from({ length: COUNT }, (_, i) => i));
    } finally {
      sink.close();
    }
    expect((await t.stop()).code).toBe(0);
    const r = finalReport(t);
    const wire = port(r, 'wire');
    const guest = port(r, 'guest');
    expect(r.balanced).toBe(true);
    expect(wire.drops).toEqual({});
    // The bridge lab may add a frame of its own (an IGMP report): at least ours crossed.
    expect(wire.rxFrames).toBeGreaterThanOrEqual(COUNT);
    expect(guest.txFrames).toBe(wire.rxFrames);
    expect(lab.stat('gst', e.GUEST_IF!, 'rx_packets') - rxBefore).toBe(guest.txFrames);
    // Most of the untagged first half went below JavaScript; no tagged frame did.
    expect(wire.splicedFrames).toBeGreaterThan(COUNT / 4);
    expect(wire.splicedFrames).toBeLessThanOrEqual(wire.rxFrames - TAGGED);
  });

  test('with a capture the loop sees every frame: nothing is spliced', async () => {
    const t = startTapyard(lab, forwardArgs(lab, '--json', '--capture', '/dev/null'));
    await t.waitFor(/forwarding/);
    expect(lab.run('ext', 'ping', '-c', '3', '-i', '0.2', '-W', '2', lab.env.GUEST_IP!)).toMatch(/3 received/);
    expect((await t.stop()).code).toBe(0);
    const r = finalReport(t);
    expect(r.balanced).toBe(true);
    expect(port(r, 'wire').rxFrames).toBeGreaterThanOrEqual(3);
    expect(port(r, 'wire').splicedFrames).toBe(0);
    expect(port(r, 'guest').splicedFrames).toBe(0);
  });
});
