// A guest that sends absurd virtio-net headers: a packet socket with PACKET_VNET_HDR in the guest
// namespace writes 3000 frames with random flags, GSO types, hdr_len, gso_size, csum_start and
// csum_offset onto the guest's tap (offload on at tapyard's end). The kernel refuses some at the
// sender; whatever reaches tapyard is forwarded or dropped under a named reason: nothing crashes,
// the ledger balances, and the run ends as Ctrl-C ends it.

import { execFileSync } from 'node:child_process';
import { afterEach, expect, test } from 'vitest';
import { type Lab, labUp, startTapyard } from '../helpers/lab.js';

let lab: Lab | null = null;
afterEach(() => {
  lab?.down();
  lab = null;
});

const SENDER = `
import random, socket, struct, sys
ifname, dst = sys.argv[1], bytes.fromhex(sys.argv[2].replace(':', ''))
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.setsockopt(263, 15, 1)  # SOL_PACKET, PACKET_VNET_HDR
s.bind((ifname, 0))
src = s.getsockname()[4]
r = random.Random(7)
sent = refused = 0
for i in range(3000):
    size = r.choice([0, 20, 60, 1400, 1500, 4000, 9000, 20000, 65000])
    ip = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + 20 + size, i, 0, 64, 6, 0,
                     bytes([10, 77, 0, 2]), bytes([10, 77, 0, 1]))
    tcp = struct.pack('!HHIIBBHHH', 40000, 5001, i, 0, 0x50, 0x18, 65535, 0, 0)
    payload = bytes(r.getrandbits(8) for _ in range(min(size, 64))) + bytes(max(0, size - 64))
    frame = dst + src + b'\\x08\\x00' + ip + tcp + payload
    pick = lambda *xs: r.choice(xs)
    hdr = struct.pack('<BBHHHH',
        pick(0, 1, 2, 3, 0xff), pick(0, 1, 3, 4, 5, 0x80, 0x81, 0x84, 0xff),
        pick(0, 14, 54, 66, 0xffff, r.getrandbits(16)), pick(0, 1, 536, 1448, 0xffff, r.getrandbits(16)),
        pick(0, 14, 34, 0xfffe, r.getrandbits(16)), pick(0, 6, 16, 0xffff, r.getrandbits(16)))
    try:
        s.send(hdr + frame)
        sent += 1
    except OSError:
        refused += 1
print(sent, refused)
`;

test('3000 random virtio-net headers from a guest: no crash, every frame accounted for', async () => {
  lab = await labUp('macvtap');
  const e = lab.env;
  const t = startTapyard(lab, [
    'forward',
    '--json',
    '--port',
    `wire=macvtap:${e.WIRE_IF}`,
    '--port',
    `guest=tap:${e.GUEST_IF},netns=${e.NS_GST},offload=on`,
  ]);
  await t.waitFor(/forwarding/);
  const out = execFileSync(
    'ip',
    ['netns', 'exec', lab.ns('gst'), 'python3', '-c', SENDER, e.GUEST_IF!, e.EXT_MAC ?? 'ff:ff:ff:ff:ff:ff'],
    { encoding: 'utf8', timeout: 60_000 },
  );
  const [sent] = out.trim().split(' ').map(Number);
  expect(sent).toBeGreaterThan(0);
  await new Promise((r) => setTimeout(r, 500));
  expect(t.child.exitCode).toBeNull();
  const exit = await t.stop('SIGINT');
  expect(exit.code).toBe(0);
  expect(t.errors()).not.toMatch(/unexpected|Error|at /);
  const report = JSON.parse(t.stdout().trim().split('\n').at(-1)!) as {
    balanced: boolean;
    ports: { name: string; rxFrames: number; drops: Record<string, number> }[];
  };
  expect(report.balanced).toBe(true);
  const guest = report.ports.find((p) => p.name === 'guest')!;
  expect(guest.rxFrames).toBeGreaterThan(0);
  for (const p of report.ports) for (const reason of Object.keys(p.drops)) expect(reason).toMatch(/^[a-z0-9A-Z-]+$/);
});
