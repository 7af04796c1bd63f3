// lab from-libvirt on real domain XML fragments: the topology file it writes comes up, and each
// answer it prints (host <-> guest, guest <-> guest, from the why model) is what a real ping in
// that lab does. direct in each mode, with and without trustGuestRxFilters and a VLAN tag, on a
// switch with and without hairpin; bridge interfaces; a type='network' interface with its network.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { CLI } from '../helpers/lab.js';

const dir = mkdtempSync(join(tmpdir(), 'ty-libvirt-'));
const ids: string[] = [];
afterAll(() => {
  for (const id of ids) spawnSync(process.execPath, [CLI, 'lab', 'down', id], { stdio: 'ignore' });
  rmSync(dir, { recursive: true, force: true });
});

/** Every answer the cases gave, in order. */
const reached: boolean[] = [];
const tapyard = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });

const direct = (mode: string, extra = '', attrs = '') =>
  `<interface type='direct'${attrs}>
      <mac address='52:54:00:12:34:56'/>
      <source dev='eth0' mode='${mode}'/>${extra}
      <model type='virtio'/>
    </interface>`;
const TRUST = " trustGuestRxFilters='yes'";
const VLAN = (id: number) => `\n      <vlan><tag id='${id}'/></vlan>`;
const BRIDGE = (extra = '') => `<interface type='bridge'>
      <source bridge='br0'/>${extra}
      <model type='virtio'/>
    </interface>`;
const domain = (...interfaces: string[]) => `<domain type='kvm'>
  <name>vm</name>
  <memory unit='KiB'>524288</memory>
  <devices>
    ${interfaces.join('\n    ')}
  </devices>
</domain>`;

interface Answer {
  from: string;
  to: string;
  reached: boolean;
  vlan: string | null;
}

const cases: { name: string; xml: string; cable: string; network?: string }[] = [
  ...['bridge', 'vepa', 'private', 'passthrough'].flatMap((mode) =>
    ['switch', 'hairpin'].map((cable) => ({ name: `direct ${mode}, ${cable}`, xml: domain(direct(mode)), cable })),
  ),
  { name: 'direct vepa, trustGuestRxFilters, hairpin', xml: domain(direct('vepa', '', TRUST)), cable: 'hairpin' },
  { name: 'direct bridge with a VLAN tag, hairpin', xml: domain(direct('bridge', VLAN(42))), cable: 'hairpin' },
  {
    name: 'two direct bridge-mode guests, one trusted, on a switch',
    xml: domain(direct('bridge', '', TRUST), direct('bridge')),
    cable: 'switch',
  },
  { name: 'two direct vepa guests, hairpin', xml: domain(direct('vepa'), direct('vepa')), cable: 'hairpin' },
  { name: 'two direct private guests, hairpin', xml: domain(direct('private'), direct('private')), cable: 'hairpin' },
  {
    name: 'two direct guests in VLAN 42, and one in 43',
    xml: domain(direct('bridge', VLAN(42)), direct('bridge', VLAN(42)), direct('bridge', VLAN(43))),
    cable: 'switch',
  },
  { name: 'two bridge interfaces', xml: domain(BRIDGE(), BRIDGE()), cable: 'switch' },
  { name: 'a bridge interface with a VLAN tag', xml: domain(BRIDGE(), BRIDGE(VLAN(10))), cable: 'switch' },
  {
    name: "type='network', a network of forward mode vepa on eth0",
    xml: domain("<interface type='network'><source network='lan'/><model type='virtio'/></interface>"),
    cable: 'hairpin',
    network: "<network><name>lan</name><forward mode='vepa'><interface dev='eth0'/></forward></network>",
  },
];

/** 3 pings from the namespace of `from` (host: the hypervisor's) to `to`'s address. */
function pings(id: string, from: string, toIp: string): number {
  const ns = `ty-${id}-${from === 'host' ? 'hv' : from}`;
  const r = spawnSync('ip', ['netns', 'exec', ns, 'ping', '-c', '3', '-i', '0.1', '-W', '1', toIp], {
    encoding: 'utf8',
  });
  return Number(/ (\d+) received/.exec(r.stdout)?.[1] ?? Number.NaN);
}

describe('from-libvirt: the why answer is what a real ping does in the lab it wrote', () => {
  test.each(cases)('$name', ({ name, xml, cable, network }) => {
    const slug = name.replace(/[^a-z0-9]+/g, '-');
    const file = join(dir, `${slug}.xml`);
    const out = join(dir, `${slug}.yaml`);
    writeFileSync(file, xml);
    const extra: string[] = [];
    if (network !== undefined) {
      writeFileSync(join(dir, `${slug}.net.xml`), network);
      extra.push('--network', join(dir, `${slug}.net.xml`));
    }
    const r = tapyard('lab', 'from-libvirt', file, '--out', out, '--cable', cable, '--json', ...extra);
    if (r.status !== 0) throw new Error(r.stderr);
    const mapped = JSON.parse(r.stdout) as {
      interfaces: { guest: string; address: string }[];
      unmapped: unknown[];
      answers: Answer[];
    };
    expect(mapped.unmapped).toEqual([]);
    const id = `l${Math.random().toString(36).slice(2, 7)}`;
    ids.push(id);
    const up = tapyard('lab', 'up', out, '--id', id);
    if (up.status !== 0) throw new Error(up.stderr);
    const ip = (station: string) => mapped.interfaces.find((m) => m.guest === station)!.address;
    const seen = mapped.answers.map((a) => `${a.from} -> ${a.to}: ${pings(id, a.from, ip(a.to))} of 3`);
    expect(seen).toEqual(mapped.answers.map((a) => `${a.from} -> ${a.to}: ${a.reached ? 3 : 0} of 3`));
    reached.push(...mapped.answers.map((a) => a.reached));
    expect(tapyard('lab', 'down', id).status).toBe(0);
  });

  test('the answers are not all the same: the cases reach both ways', () => {
    // Guard against a lab where nothing (or everything) gets through making the comparisons above empty.
    expect(reached.filter((a) => a).length).toBeGreaterThan(2);
    expect(reached.filter((a) => !a).length).toBeGreaterThan(2);
  });
});
