// VLANs through tapyard on the macvtap path, the kernel as the oracle. This kernel has no 802.1Q
// module (CONFIG_VLAN_8021Q off), so no namespace here can tag or untag by itself: the tags are
// checked on the wire with tcpdump in the external namespace, and the loop is closed by a second
// tapyard there, with an access port, in front of the external host's stack:
//
//   gst: tap ── tapyard (hv): guest vlan=15 | wire trunk=15 ── macvtap ── lower ══ veth ══ ext:
//     ext veth (tcpdump) ── macvtap passthru ── tapyard (ext): trunk=15 | host vlan=15 ── tap (EXT_IP)
//
// macvtap itself passes tagged frames through unchanged (it switches on the MAC only), which is
// what lets both tapyards see and set the tags.

import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { CLI, finalReport, type Lab, labUp, port, startTapyard, type Tapyard } from '../helpers/lab.js';

/** tcpdump -e on an interface of a namespace, until stop() (SIGINT), its lines. */
function tcpdump(ns: string, ifname: string): { ready: Promise<void>; stop(): Promise<string[]> } {
  const child: ChildProcess = spawn('ip', ['netns', 'exec', ns, 'tcpdump', '-i', ifname, '-e', '-n', '-l', '-U'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
  });
  const ready = new Promise<void>((resolve, reject) => {
    child.stderr!.on('data', (d: Buffer) => {
      if (/listening on/.test(d.toString())) resolve();
    });
    child.once('exit', (code) => reject(new Error(`tcpdump on ${ifname} exited ${code} before listening`)));
  });
  return {
    ready,
    stop: async () => {
      const closed = new Promise((r) => child.once('close', r));
      child.kill('SIGINT');
      await closed;
      return out.split('\n').filter((l) => l.length > 0);
    },
  };
}

/** `tapyard send` in a namespace; resolves with its exit status and output. */
function send(lab: Lab, role: 'gst' | 'ext', ...args: string[]): { code: number; out: string } {
  try {
    const out = execFileSync('ip', ['netns', 'exec', lab.ns(role), 'node', CLI, 'send', ...args], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return { code: 0, out };
  } catch (err) {
    const e = err as { status: number; stdout: string; stderr: string };
    return { code: e.status, out: `${e.stdout}${e.stderr}` };
  }
}

/** The module is loaded (or built in: then /proc/net/vlan exists), or can be. */
const hasVlanModule = (() => {
  if (existsSync('/proc/net/vlan/config')) return true;
  try {
    execFileSync('modprobe', ['-n', '8021q'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

describe('VLANs through tapyard (macvtap path, a tapyard with an access port on the external side too)', () => {
  let lab: Lab;
  let extMvt: string;
  let extTap: string;
  let extTapMac: string;
  const running: Tapyard[] = [];

  beforeAll(async () => {
    // The external host's stack sits behind a second tapyard: its address is on a tap (lab up vlan).
    lab = await labUp('vlan');
    extMvt = lab.env.EXT_TRUNK_IF!;
    extTap = lab.env.EXT_HOST_IF!;
    extTapMac = lab.env.EXT_HOST_MAC!;
  });
  afterAll(async () => {
    for (const t of running) if (t.child.exitCode === null) await t.stop();
    lab?.down();
  });

  /** Both tapyards: the hypervisor's (guest access, wire trunk) and the external side's. */
  async function both(hv: { guest: string; wire: string }, ext: { host: string; trunk: string }, ...extra: string[]) {
    // A test that failed half-way leaves its tapyards: they would hold the devices.
    for (const t of running.splice(0)) if (t.child.exitCode === null) await t.stop();
    const e = lab.env;
    const h = startTapyard(lab, [
      'forward',
      '--port',
      `wire=macvtap:${e.WIRE_IF},${hv.wire}`,
      '--port',
      `guest=tap:${e.GUEST_IF},netns=${e.NS_GST},${hv.guest}`,
      '--json',
      ...extra,
    ]);
    const x = startTapyard(
      lab,
      [
        'forward',
        '--port',
        `trunk=macvtap:${extMvt},${ext.trunk}`,
        '--port',
        `host=tap:${extTap},${ext.host}`,
        '--json',
        ...extra,
      ],
      'ext',
    );
    running.push(h, x);
    await h.waitFor(/forwarding/);
    await x.waitFor(/forwarding/);
    return { h, x };
  }

  test('VLAN 15: guest pings ext, tagged 15 on the wire both ways; VLAN 20 is dropped by name', async () => {
    const e = lab.env;
    const { h, x } = await both({ guest: 'vlan=15', wire: 'trunk=15' }, { host: 'vlan=15', trunk: 'trunk=15' });
    const wire = tcpdump(lab.ns('ext'), e.EXT_IF!);
    await wire.ready;
    expect(lab.run('gst', 'ping', '-c', '3', '-i', '0.2', '-W', '2', e.EXT_IP!)).toMatch(/3 received/);
    // A frame of VLAN 20 from the outside, for the guest's MAC: not a VLAN the trunk carries.
    const stray = send(
      lab,
      'ext',
      '--port',
      `x=pcap:${e.EXT_IF}`,
      `eth dst=${e.GUEST_MAC} / vlan 20 / ipv4 src=${e.EXT_IP} dst=${e.GUEST_IP} / udp dport=9 / text stray`,
    );
    expect(stray.code).toBe(0);
    await new Promise((r) => setTimeout(r, 300));
    const lines = await wire.stop();
    const icmp = lines.filter((l) => /ICMP echo/.test(l));
    // Requests out and replies back, every one of them tagged 15 on the wire; none untagged.
    expect(icmp.filter((l) => /vlan 15, p 0, ethertype IPv4.*ICMP echo request/.test(l)).length).toBeGreaterThanOrEqual(
      3,
    );
    expect(icmp.filter((l) => /vlan 15, p 0, ethertype IPv4.*ICMP echo reply/.test(l)).length).toBeGreaterThanOrEqual(
      3,
    );
    expect(icmp.filter((l) => !/ethertype 802\.1Q \(0x8100\).*vlan 15/.test(l))).toEqual([]);
    expect(lines.some((l) => /ARP/.test(l) && /vlan 15/.test(l))).toBe(true);

    await h.stop();
    await x.stop();
    const hv = finalReport(h);
    const ext = finalReport(x);
    expect(hv.balanced).toBe(true);
    expect(ext.balanced).toBe(true);
    expect(port(hv, 'wire').drops['vlan-not-member']).toBe(1);
    expect(port(hv, 'guest').rxFrames).toBeGreaterThanOrEqual(4); // 3 requests and an ARP, at least
    expect(port(ext, 'host').txFrames).toBeGreaterThanOrEqual(4);

    // The model says the same of this topology: the guest's frame leaves its tapyard tagged 15
    // and reaches ext with the tag on (the wire is a veth straight to ext, the macvtap in bridge mode).
    const predicted = JSON.parse(
      execFileSync(
        'node',
        [
          CLI,
          'trace',
          'macvlan',
          '--endpoint',
          'g=bridge,vlan=15',
          '--wire',
          'direct',
          '--from',
          'g',
          '--dst',
          'ext',
          '--json',
        ],
        {
          encoding: 'utf8',
        },
      ),
    ) as { deliveries: { station: string; tags: string[] }[] };
    expect(predicted.deliveries.map((d) => [d.station, d.tags])).toEqual([['ext', ['vlan 15']]]);
  });

  test("QinQ (802.1ad): the guest's C-tag 15 crosses inside S-tag 100, both tags kept", async () => {
    const e = lab.env;
    const { h, x } = await both(
      { guest: 'vlan=100', wire: 'trunk=100' },
      { host: 'vlan=100', trunk: 'trunk=100' },
      '--vlan-proto',
      '802.1ad',
    );
    const wire = tcpdump(lab.ns('ext'), e.EXT_IF!);
    const host = tcpdump(lab.ns('ext'), extTap);
    const guest = tcpdump(lab.ns('gst'), e.GUEST_IF!);
    await Promise.all([wire.ready, host.ready, guest.ready]);
    // The guest's own C-tag, PCP 5, out; and from the external host, C-tag 15 PCP 3 back.
    const out = send(
      lab,
      'gst',
      '--port',
      `g=pcap:${e.GUEST_IF}`,
      `eth src=${e.GUEST_MAC} dst=${extTapMac} / vlan 15 pcp=5 / ` +
        `ipv4 src=${e.GUEST_IP} dst=${e.EXT_IP} / udp dport=9 / text qinq-out`,
    );
    const back = send(
      lab,
      'ext',
      '--port',
      `x=pcap:${extTap}`,
      `eth src=${extTapMac} dst=${e.GUEST_MAC} / vlan 15 pcp=3 / ` +
        `ipv4 src=${e.EXT_IP} dst=${e.GUEST_IP} / udp dport=9 / text qinq-back`,
    );
    expect([out.code, back.code]).toEqual([0, 0]);
    await new Promise((r) => setTimeout(r, 300));
    const [onWire, atHost, atGuest] = await Promise.all([wire.stop(), host.stop(), guest.stop()]);
    const qinq = /ethertype 802\.1Q-QinQ \(0x88a8\).*vlan 100, p 0, ethertype 802\.1Q \(0x8100\), vlan 15, p (\d)/;
    expect(
      onWire
        .filter((l) => qinq.test(l))
        .map((l) => qinq.exec(l)![1])
        .sort(),
    ).toEqual(['3', '5']);
    // On each access side the S-tag is gone and the guest's C-tag is there, its PCP kept.
    expect(atHost.filter((l) => /vlan 15, p 5, ethertype IPv4/.test(l) && !/0x88a8/.test(l)).length).toBe(1);
    expect(atGuest.filter((l) => /vlan 15, p 3, ethertype IPv4/.test(l) && !/0x88a8/.test(l)).length).toBe(1);
    await h.stop();
    await x.stop();
    expect(finalReport(h).balanced).toBe(true);
    expect(finalReport(x).balanced).toBe(true);
  });

  test.skipIf(!hasVlanModule)(
    'with the 802.1Q module: a real VLAN interface on the external side answers VLAN 15',
    async () => {
      const e = lab.env;
      const vlanIf = `ty-${lab.id}-v15`;
      lab.run('ext', 'ip', 'link', 'del', extMvt);
      lab.run('ext', 'ip', 'addr', 'flush', 'dev', extTap);
      lab.run('ext', 'ip', 'link', 'add', 'link', e.EXT_IF!, 'name', vlanIf, 'type', 'vlan', 'id', '15');
      lab.run('ext', 'ip', 'addr', 'add', `${e.EXT_IP}/24`, 'dev', vlanIf);
      lab.run('ext', 'ip', 'link', 'set', vlanIf, 'up');
      const h = startTapyard(lab, [
        'forward',
        '--port',
        `wire=macvtap:${e.WIRE_IF},trunk=15`,
        '--port',
        `guest=tap:${e.GUEST_IF},netns=${e.NS_GST},vlan=15`,
      ]);
      running.push(h);
      await h.waitFor(/forwarding/);
      expect(lab.run('gst', 'ping', '-c', '3', '-i', '0.2', '-W', '2', e.EXT_IP!)).toMatch(/3 received/);
      await h.stop();
    },
  );
});
