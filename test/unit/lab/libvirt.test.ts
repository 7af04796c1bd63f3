// libvirt's XML read into a lab: what maps, to which path and keys; what does not, named with why;
// the file it writes is a topology file tapyard reads; bad XML is one line.

import { describe, expect, test } from 'vitest';
import { parseTopology } from '../../../src/config/topology.js';
import { TapyardError } from '../../../src/error.js';
import { fromLibvirt, readNetwork } from '../../../src/lab/libvirt.js';

const read = (xml: string, networks: string[] = []) =>
  fromLibvirt(xml, 'dom.xml', { networks: new Map(networks.map((n) => readNetwork(n, 'net.xml'))), cable: 'switch' });

describe('interfaces that map', () => {
  test("type='direct': the mode (libvirt's default vepa, its passthrough is passthru), trust and a VLAN tag", () => {
    const lab = read(`<domain><name>Web 1</name><devices>
      <interface type='direct' trustGuestRxFilters='yes'><source dev='eth0' mode='bridge'/></interface>
      <interface type='direct'><source dev='eth0'/><vlan><tag id='42'/></vlan></interface>
    </devices></domain>`);
    expect(lab.name).toBe('web-1');
    expect(lab.unmapped).toEqual([]);
    expect(lab.interfaces.map((m) => [m.guest, m.via, m.mode, m.trusted, m.vlan])).toEqual([
      ['g1', 'macvtap', 'bridge', true, null],
      ['g2', 'macvtap', 'vepa', false, 42],
    ]);
    const t = parseTopology(lab.yaml, 'web-1.yaml');
    expect(t.lower).toEqual({ cable: 'switch', address: '10.77.0.3/24' });
    expect(t.forwarders.map((f) => f.ports)).toEqual([
      ['wire=macvtap:wg1,trust-guest-rx-filters', 'guest=tap:g1,netns=g1'],
      ['wire=macvtap:wg2,trunk=42', 'guest=tap:g2,netns=g2,vlan=42'],
    ]);
    expect(
      read("<interface type='direct'><source dev='eth0' mode='passthrough'/></interface>").interfaces[0]!.mode,
    ).toBe('passthru');
  });

  test("type='bridge', and type='network' through the network's own XML", () => {
    const lab = read(
      `<devices><interface type='bridge'><source bridge='br0'/></interface>
       <interface type='network'><source network='default'/></interface></devices>`,
      ["<network><name>default</name><forward mode='nat'/><bridge name='virbr0'/></network>"],
    );
    expect(lab.interfaces.map((m) => [m.via, m.libvirt])).toEqual([
      ['bridge', "type='bridge' bridge='br0'"],
      ['bridge', "type='network' network='default'"],
    ]);
    expect(parseTopology(lab.yaml, 'x.yaml').guests.map((g) => g.via)).toEqual(['bridge', 'bridge']);
    const direct = read("<interface type='network'><source network='lan'/></interface>", [
      "<network><name>lan</name><forward mode='private'><interface dev='eth1'/></forward></network>",
    ]);
    expect(direct.interfaces[0]).toMatchObject({ via: 'macvtap', mode: 'private' });
  });

  test('a network whose forward mode is a name every object inherits is no macvtap mode', () => {
    const [, path] = readNetwork("<network><name>n</name><forward mode='toString' dev='eth1'/></network>", 'net.xml');
    expect(path.via).toBe('bridge');
    expect(path.why).toMatch(/toString/);
  });
});

describe('interfaces that do not map are named, with why', () => {
  test.each([
    ["<interface type='user'/>", /type='user' is not a path through the host's NIC/],
    ["<interface type='network'><source network='default'/></interface>", /give its XML with --network FILE/],
    ["<interface type='direct'><source mode='vepa'/></interface>", /no <source dev=/],
    ["<interface type='direct'><source dev='eth0' mode='loud'/></interface>", /mode 'loud' is not a macvtap mode/],
    // A mode is looked up among the modes, not among what every object inherits.
    ["<interface type='direct'><source dev='eth0' mode='constructor'/></interface>", /'constructor' is not a macvtap/],
    ["<interface type='bridge'><source bridge='ovsbr'/><virtualport type='openvswitch'/></interface>", /Open vSwitch/],
    ["<interface type='bridge'><source bridge='br0'/><vlan><tag id='5000'/></vlan></interface>", /not a VLAN id/],
    ["<interface type='bridge' trustGuestRxFilters='yes'><source bridge='br0'/></interface>", /is for type='direct'/],
  ])('%s', (xml, why) => {
    // After a good interface of the same path, so that only its own fault can leave it out.
    const first = xml.includes("type='bridge'")
      ? "<interface type='bridge'><source bridge='br0'/></interface>"
      : "<interface type='direct'><source dev='eth0' mode='bridge'/></interface>";
    const lab = read(`<devices>${first}${xml}</devices>`);
    expect(lab.interfaces).toHaveLength(1);
    expect(lab.unmapped.map((u) => u.index)).toEqual([2]);
    expect(lab.unmapped[0]!.why).toMatch(why);
  });

  test('what the kernel refuses: a macvtap beside passthru, a second NIC, a macvtap and a bridge on one NIC', () => {
    const two = (a: string, b: string) => read(`<devices>${a}${b}</devices>`).unmapped.map((u) => u.why);
    const d = (dev: string, mode: string) =>
      `<interface type='direct'><source dev='${dev}' mode='${mode}'/></interface>`;
    expect(two(d('eth0', 'passthrough'), d('eth0', 'bridge'))).toEqual([
      expect.stringMatching(/passthru gives the NIC to one/),
    ]);
    expect(two(d('eth0', 'vepa'), d('eth1', 'vepa'))).toEqual([expect.stringMatching(/one NIC, eth0; .* on eth1/)]);
    expect(two(d('eth0', 'vepa'), "<interface type='bridge'><source bridge='br0'/></interface>")).toEqual([
      expect.stringMatching(/refuses to bridge a NIC that has one/),
    ]);
  });

  test('an attribute cannot write lines of its own into the file (a newline by character reference)', () => {
    const lab = read("<interface type='direct'><source dev='eth0&#10;ipv6: true' mode='vepa'/></interface>");
    expect(lab.interfaces[0]!.libvirt).toBe("type='direct' dev='eth0?ipv6: true' mode='vepa'");
    expect(parseTopology(lab.yaml, 'x.yaml').ipv6).toBe(false);
  });

  test('bad XML is one sentence', () => {
    expect(() => read('<domain><devices>')).toThrow(TapyardError);
    expect(() => read('<domain><devices>')).toThrow(/^dom\.xml: not XML: /);
    expect(() => read('<domain/>')).toThrow(/^dom\.xml: no <interface> in it$/);
  });
});
