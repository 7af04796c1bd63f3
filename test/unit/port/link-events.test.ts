// The kernel's link and multicast-address notifications are walked with every length checked:
// the ifindex of each RTM_NEWLINK/DELLINK and RTM_NEWMULTICAST/DELMULTICAST, nothing past a
// message that claims more than the datagram holds or less than its type carries.

import { expect, test } from 'vitest';
import { linkEventIndexes } from '../../../src/port/link-events.js';

/** One netlink message: header (len, type, flags, seq, pid) and a body with the ifindex at 4. */
function message(type: number, bodyLen: number, ifindex: number, lenField?: number): Uint8Array {
  const len = 16 + bodyLen;
  const bytes = new Uint8Array((len + 3) & ~3);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, lenField ?? len, true);
  view.setUint16(4, type, true);
  if (bodyLen >= 8) view.setInt32(20, ifindex, true);
  return bytes;
}

const join = (...parts: Uint8Array[]) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
};

test('link and multicast messages name their interface; others are skipped', () => {
  const datagram = join(
    message(16, 16 + 40, 7), // RTM_NEWLINK with attributes after the ifinfomsg
    message(20, 8, 99), // RTM_NEWADDR: not ours to read
    message(56, 8 + 8, 3), // RTM_NEWMULTICAST (ifaddrmsg + an attribute)
    message(17, 16, 5), // RTM_DELLINK
    message(57, 8, 4), // RTM_DELMULTICAST
  );
  expect(linkEventIndexes(datagram)).toEqual([7, 3, 5, 4]);
});

test('a message longer than the datagram, or too short for its type, ends the walk', () => {
  expect(linkEventIndexes(join(message(16, 16, 7), message(16, 16, 8, 4096)))).toEqual([7]);
  expect(linkEventIndexes(join(message(16, 16, 7), message(16, 8, 8)))).toEqual([7]);
  expect(linkEventIndexes(join(message(16, 16, 7), message(16, 16, 8, 3)))).toEqual([7]);
  expect(linkEventIndexes(new Uint8Array(10))).toEqual([]);
  expect(linkEventIndexes(message(16, 16, 7).subarray(0, 20))).toEqual([]);
});
