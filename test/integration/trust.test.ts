// trust-guest-rx-filters: a guest that changes its MAC or joins a multicast group, behind a
// macvtap served by tapyard. Without trust the macvtap (macvlan) keeps filtering by what it was
// told at creation and the guest loses that traffic; with trust tapyard mirrors the guest's filter
// onto the macvtap within a second, as libvirt's qemuDomainSyncRxFilter does, and says so.

import { execFileSync, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { afterEach, describe, expect, test } from 'vitest';
import { forwardArgs, type Lab, labUp, startTapyard, type Tapyard } from '../helpers/lab.js';

let lab: Lab | null = null;
afterEach(() => {
  lab?.down();
  lab = null;
});

const NEW_MAC = '02:11:22:33:44:55';
const GROUP = '239.1.1.1';
const GROUP_MAC = '01:00:5e:01:01:01';

function ipJson<T>(ns: string, ...args: string[]): T {
  return JSON.parse(execFileSync('ip', ['-n', ns, '-j', ...args], { encoding: 'utf8' })) as T;
}
const linkMac = (ns: string, dev: string) => ipJson<{ address: string }[]>(ns, 'link', 'show', 'dev', dev)[0]!.address;
const groups = (ns: string, dev: string) =>
  (ipJson<{ maddr: { link?: string }[] }[]>(ns, 'maddr', 'show', 'dev', dev)[0]?.maddr ?? []).flatMap((m) =>
    m.link === undefined ? [] : [m.link],
  );

/** Wait until `check` holds; how long it took, or null after `ms`. */
async function within(ms: number, check: () => boolean): Promise<number | null> {
  const start = Date.now();
  while (Date.now() - start <= ms) {
    if (check()) return Date.now() - start;
    await new Promise((r) => setTimeout(r, 25));
  }
  return null;
}

/**
 * The last filter tapyard reported for the guest port `name`, once a report matching `seen` has
 * arrived (the test's own event loop takes tapyard's output in only while it waits).
 */
async function lastFilter(t: Tapyard, name: string, seen: RegExp): Promise<Record<string, unknown>> {
  await t.waitFor(new RegExp(`^tapyard: rx-filter ${name}: .*${seen.source}`, 'm'), 3000);
  const lines = [...t.stderr().matchAll(new RegExp(`^tapyard: rx-filter ${name}: (\\{.*\\})$`, 'gm'))];
  expect(lines.length).toBeGreaterThan(0);
  return JSON.parse(lines.at(-1)![1]!) as Record<string, unknown>;
}

/** A socket in the guest namespace `ns` (address `ip`) that joins GROUP and prints the first datagram, or 'nothing'. */
function receiver(ns: string, ip: string) {
  const py = `
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('${GROUP}', 5000))
mreq = socket.inet_aton('${GROUP}') + socket.inet_aton('${ip}')
s.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, mreq)
print('joined', flush=True)
s.settimeout(4)
try:
    print('got ' + s.recv(100).decode(), flush=True)
except socket.timeout:
    print('nothing', flush=True)`;
  const child = spawn('ip', ['netns', 'exec', ns, 'python3', '-c', py], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
  });
  const done = new Promise<string>((resolve) => child.on('close', () => resolve(out.trim())));
  return { joined: () => out.includes('joined'), done };
}

/** Five datagrams to GROUP from namespace `ns` (address `ip`), 0.2 s apart. */
function sendToGroup(ns: string, ip: string): void {
  const py = `
import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton('${ip}'))
for i in range(5):
    s.sendto(b'hello', ('${GROUP}', 5000)); time.sleep(0.2)`;
  execFileSync('ip', ['netns', 'exec', ns, 'python3', '-c', py]);
}

const pings = (l: Lab, ...args: string[]) => {
  try {
    return l.run('ext', 'ping', '-c', '3', '-i', '0.3', '-W', '2', ...args);
  } catch (err) {
    return String((err as { stdout?: string }).stdout ?? err);
  }
};

describe.each([false, true])('a guest behind a macvtap, trust-guest-rx-filters=%s', (trust) => {
  test(`changes its MAC: unicast ${trust ? 'follows' : 'is lost'}`, async () => {
    const l = await labUp('macvtap');
    lab = l;
    const e = l.env;
    const args = forwardArgs(l);
    if (trust) args[2] += ',trust-guest-rx-filters=on';
    const t = startTapyard(l, args);
    await t.waitFor(/forwarding/);
    expect(pings(l, e.GUEST_IP!)).toMatch(/3 received/);
    l.run('gst', 'ip', 'link', 'set', 'dev', e.GUEST_IF!, 'address', NEW_MAC);
    l.run('ext', 'ip', 'neigh', 'flush', 'dev', e.EXT_IF!);
    const took = await within(1000, () => linkMac(e.NS_HV!, e.WIRE_IF!) === NEW_MAC);
    if (trust) {
      expect(took, 'the macvtap takes the guest MAC within a second').not.toBeNull();
      expect(pings(l, e.GUEST_IP!)).toMatch(/3 received/);
      expect((await lastFilter(t, 'guest', /"main-mac":"/))['main-mac']).toBe(NEW_MAC);
      await t.waitFor(new RegExp(`rx-filter wire \\(${e.WIRE_IF}\\) <- guest: address ${NEW_MAC}`), 3000);
    } else {
      expect(took).toBeNull();
      // ARP still works (broadcast), but the echo to the new MAC ends in hv's own stack.
      expect(pings(l, e.GUEST_IP!)).toMatch(/ 0 received/);
      expect(t.stderr()).not.toMatch(/rx-filter/);
      expect(linkMac(e.NS_HV!, e.WIRE_IF!)).not.toBe(NEW_MAC);
    }
    await t.stop();
  });

  test(`joins ${GROUP}: the group ${trust ? 'arrives' : 'never arrives'}`, async () => {
    const l = await labUp('macvtap');
    lab = l;
    const e = l.env;
    const args = forwardArgs(l);
    if (trust) args[2] += ',trust-guest-rx-filters=on';
    const t = startTapyard(l, args);
    await t.waitFor(/forwarding/);
    const r = receiver(e.NS_GST!, e.GUEST_IP!);
    expect(await within(5000, r.joined)).not.toBeNull();
    expect(groups(e.NS_GST!, e.GUEST_IF!)).toContain(GROUP_MAC);
    const took = await within(1000, () => groups(e.NS_HV!, e.WIRE_IF!).includes(GROUP_MAC));
    if (trust) {
      // The report is the guest's filter, and the macvtap now has all of it, added by tapyard.
      const f = await lastFilter(t, 'guest', new RegExp(GROUP_MAC));
      expect(new Set(f['multicast-table'] as string[])).toEqual(new Set(groups(e.NS_GST!, e.GUEST_IF!)));
      expect(f['main-mac']).toBe(linkMac(e.NS_HV!, e.WIRE_IF!));
      const onMacvtap = groups(e.NS_HV!, e.WIRE_IF!);
      for (const g of f['multicast-table'] as string[]) expect(onMacvtap).toContain(g);
      expect(l.run('hv', 'ip', 'maddr', 'show', 'dev', e.WIRE_IF!)).toMatch(
        new RegExp(`${GROUP_MAC} users \\d+ static`),
      );
    }
    sendToGroup(e.NS_EXT!, e.EXT_IP!);
    const got = await r.done;
    if (trust) {
      expect(took, 'the macvtap joins the group within a second').not.toBeNull();
      expect(got).toMatch(/got hello/);
    } else {
      expect(took).toBeNull();
      expect(got).toBe('joined\nnothing');
    }
    if (trust) {
      // The guest left the group when its socket closed: the next look deletes it from the macvtap.
      expect(await within(1000, () => !groups(e.NS_HV!, e.WIRE_IF!).includes(GROUP_MAC))).not.toBeNull();
    }
    await t.stop();
  });
});

test('the built-in guest with trust: ping6 works with no maddr added by hand', async () => {
  const l = await labUp('macvtap', '--ipv6');
  lab = l;
  const e = l.env;
  const vm = `vm=guest:${e.GUEST_IP}/24,ip6=${e.GUEST_IP6}/64`;
  const t = startTapyard(l, ['forward', '--port', `wire=macvtap:${e.WIRE_IF},trust-guest-rx-filters`, '--port', vm]);
  await t.waitFor(/rx-filter wire .* maddr add 33:33:ff:00:00:02/);
  expect(l.run('ext', 'ping', '-6', '-c', '3', '-i', '0.3', '-W', '2', e.GUEST_IP6!)).toMatch(/3 received/);
  expect((await lastFilter(t, 'vm', /33:33:ff/))['multicast-table']).toEqual([
    '01:00:5e:00:00:01',
    '33:33:00:00:00:01',
    '33:33:ff:00:00:02',
  ]);
  await t.stop();
});

test('trust needs a guest it can see: a hub port or a pcap peer is bad usage', () => {
  const run = (...args: string[]) => {
    try {
      execFileSync('node', ['dist/src/cli/main.js', 'forward', ...args], { encoding: 'utf8', stdio: 'pipe' });
      return { status: 0, stderr: '' };
    } catch (err) {
      const x = err as { status: number; stderr: string };
      return { status: x.status, stderr: x.stderr };
    }
  };
  const hub = run('--port', 'a=macvtap:ty-none-mvt,trust-guest-rx-filters', '--port', 'b=tap:x', '--port', 'c=tap:y');
  expect(hub.status).toBe(2);
  expect(hub.stderr).toMatch(/^tapyard: port a: trust-guest-rx-filters needs to know its guest/);
  const pcap = run('--port', 'a=macvtap:ty-none-mvt,trust-guest-rx-filters', '--port', 'b=pcap:lo');
  expect(pcap.status).toBe(2);
  expect(pcap.stderr).toMatch(/b is a pcap port, whose filter tapyard cannot see/);
});

describe.each([false, true])('guests side by side (bridge mode, --switch pairs), trust %s', (trust) => {
  test(`g2 joins ${GROUP}, g1 sends to it: g2 ${trust ? 'receives' : 'receives nothing'}`, async () => {
    const l = await labUp('guests', '--mode', 'bridge');
    lab = l;
    const e = l.env;
    const t = startTapyard(l, [
      'forward',
      '--switch',
      'pairs',
      ...[1, 2].flatMap((i) => [
        '--port',
        `w${i}=macvtap:${e[`WIRE_IF_${i}`]}${trust ? ',trust-guest-rx-filters' : ''}`,
        '--port',
        `g${i}=tap:${e[`GUEST_IF_${i}`]},netns=${e[`NS_G${i}`]}`,
      ]),
    ]);
    await t.waitFor(/forwarding/);
    const r = receiver(e.NS_G2!, e.GUEST_IP_2!);
    expect(await within(5000, r.joined)).not.toBeNull();
    const took = await within(1000, () => groups(e.NS_HV!, e.WIRE_IF_2!).includes(GROUP_MAC));
    expect(took === null).toBe(!trust);
    // Each macvtap follows its own guest only.
    expect(groups(e.NS_HV!, e.WIRE_IF_1!)).not.toContain(GROUP_MAC);
    sendToGroup(e.NS_G1!, e.GUEST_IP_1!);
    expect(await r.done).toBe(trust ? 'joined\ngot hello' : 'joined\nnothing');
    await t.stop();
  });
});

/** The command lines of PID's children now, from every thread's /proc children list. */
function children(pid: number): string[][] {
  const found: string[][] = [];
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      for (const child of readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').split(' ').filter(Boolean))
        found.push(readFileSync(`/proc/${child}/cmdline`, 'utf8').split('\0').filter(Boolean));
    } catch {
      // the thread or the child has just ended
    }
  }
  return found;
}

test("a trusted port reads its guest's filter in-process: no child reads it, and a change still follows", async () => {
  const l = await labUp('macvtap');
  lab = l;
  const e = l.env;
  const args = forwardArgs(l);
  args[2] += ',trust-guest-rx-filters=on';
  const t = startTapyard(l, args);
  await t.waitFor(/forwarding/);
  const pid = t.child.pid!;
  expect(readFileSync(`/proc/${pid}/comm`, 'utf8').trim()).toBe('node');
  // The first look reports the filter and mirrors it; what it changes runs as ip children.
  await t.waitFor(/^tapyard: rx-filter guest: /m, 3000);
  await new Promise((r) => setTimeout(r, 500));
  // 1.5 s with the guest still. The only ip child allowed is the netns tap's once-a-second
  // counters reading (kernel-drops.ts: ip -s ... link show); nothing reads the guest's filter. (A
  // child caught before its exec shows node's command line, or none once it has exited.)
  const seen: string[][] = [];
  for (const end = Date.now() + 1500; Date.now() < end; await new Promise((r) => setTimeout(r, 2)))
    seen.push(...children(pid));
  expect(seen.filter((argv) => argv[0] === 'ip' && !argv.includes('-s'))).toEqual([]);
  l.run('gst', 'ip', 'link', 'set', 'dev', e.GUEST_IF!, 'address', NEW_MAC);
  expect(await within(1000, () => linkMac(e.NS_HV!, e.WIRE_IF!) === NEW_MAC)).not.toBeNull();
  await t.stop();
});
