// The built-in guest: tapyard plays the VM behind a macvtap or a bridged tap, and the lab's
// external namespace reaches it with the kernel's own ping, ping6, UDP and TCP.

import { afterEach, describe, expect, test } from 'vitest';
import { forwardArgs, type Lab, labUp, port, startTapyard } from '../helpers/lab.js';

let lab: Lab | null = null;
afterEach(() => {
  lab?.down();
  lab = null;
});

const GUEST6 = 'fd00:77::2';
const EXT6 = 'fd00:77::1';

describe.each(['macvtap', 'bridge'] as const)('a built-in guest on the %s path', (kind) => {
  test('answers ARP, ping, ping6, UDP echo, and a SYN with a RST; every frame counted', async () => {
    const l = await labUp(kind, '--ipv6');
    lab = l;
    const e = l.env;
    l.run('ext', 'ip', '-6', 'addr', 'add', `${EXT6}/64`, 'dev', e.EXT_IF!, 'nodad');
    const wire = forwardArgs(l).slice(0, 3); // forward --port wire=...
    const t = startTapyard(l, [...wire, '--port', `vm=guest:${e.GUEST_IP}/24,ip6=${GUEST6}/64,udp-echo=7`, '--json']);
    await t.waitFor(/forwarding/);
    if (kind === 'macvtap') {
      // The guest's solicited-node group: a real guest joins it, and a macvtap that is not told
      // (trustGuestRxFilters) filters the neighbour solicitation out. Here it is told by hand.
      l.run('hv', 'ip', 'maddr', 'add', '33:33:ff:00:00:02', 'dev', e.WIRE_IF!);
    }
    expect(l.run('ext', 'ping', '-c', '3', '-i', '0.2', '-W', '2', e.GUEST_IP!)).toMatch(/3 received/);
    expect(l.run('ext', 'ping', '-6', '-c', '3', '-i', '0.2', '-W', '2', GUEST6)).toMatch(/3 received/);
    // UDP echo, and a TCP connection refused by a RST (not a time-out), with the kernel's sockets.
    const script = `
      const dgram = require('node:dgram'); const net = require('node:net');
      const s = dgram.createSocket('udp4');
      s.on('message', (m) => { console.log('udp ' + m); s.close();
        const c = net.connect(80, '${e.GUEST_IP}'); c.on('error', (err) => console.log('tcp ' + err.code));
        c.setTimeout(2000, () => { console.log('tcp timeout'); c.destroy(); }); });
      s.send('hello', 7, '${e.GUEST_IP}');`;
    const out = l.run('ext', 'node', '-e', script);
    expect(out).toMatch(/udp hello/);
    expect(out).toMatch(/tcp ECONNREFUSED/);
    await t.stop();
    const r = JSON.parse(t.stdout().trim().split('\n').at(-1)!);
    expect(r.balanced).toBe(true);
    const vm = port(r, 'vm') as ReturnType<typeof port> & { guest: Record<string, number> };
    expect(vm.guest.icmp).toBeGreaterThanOrEqual(3);
    expect(vm.guest.icmpv6).toBeGreaterThanOrEqual(4); // a neighbour solicitation and three echoes
    expect(vm.guest.udp).toBeGreaterThanOrEqual(1);
    expect(vm.guest.tcp).toBeGreaterThanOrEqual(1);
    expect(vm.guest.answered + vm.guest.unanswered).toBe(vm.txFrames);
    // Its replies (and its gratuitous ARP) enter the ledger as the vm port's rx.
    expect(vm.rxFrames).toBe(vm.guest.answered + 1);
  });
});
