import { describe, expect, it } from 'vitest';
import { readForwardConfig } from '../../../src/config/forward.js';
import { parseIpv6 } from '../../../src/grammar/ip-address.js';
import { type HostFilter, syncSteps } from '../../../src/trust/macvtap-sync.js';
import { fromBuiltinGuest, fromNetdev, MAC_TABLE_ENTRIES } from '../../../src/trust/rx-filter-info.js';
import { trustLinks } from '../../../src/trust/watch.js';

const host: HostFilter = {
  mac: '02:00:00:00:00:0a',
  promisc: false,
  allmulti: false,
  multicastOn: true,
  multicast: ['01:00:5e:00:00:01', '33:33:00:00:00:01', '01:00:5e:07:07:07'],
  staticMulticast: ['01:00:5e:07:07:07'],
};
const guest = (flags: string[], multicast: readonly string[], mac = '02:00:00:00:00:0a') =>
  fromNetdev('guest', { mac, flags: ['BROADCAST', 'MULTICAST', 'UP', ...flags], multicast });
const says = (steps: ReturnType<typeof syncSteps>) => steps.map((s) => s.says);

describe("mirroring a guest's filter onto its macvtap (qemuDomainSyncRxFilter)", () => {
  it('nothing to do when the macvtap already has what the guest asked for', () => {
    expect(syncSteps('mvt', guest([], ['01:00:5e:00:00:01', '33:33:00:00:00:01', '01:00:5e:07:07:07']), host)).toEqual(
      [],
    );
  });

  it('takes the MAC, adds groups by difference, deletes only the groups user space added', () => {
    const g = guest([], ['01:00:5e:00:00:01', '01:00:5e:01:01:01'], '02:11:22:33:44:55');
    const steps = syncSteps('mvt', g, host);
    expect(says(steps)).toEqual([
      'address 02:11:22:33:44:55',
      'maddr add 01:00:5e:01:01:01',
      'maddr del 01:00:5e:07:07:07', // 33:33:00:00:00:01 stays: the macvtap's own stack joined it
    ]);
    expect(steps[0]!.args).toEqual(['link', 'set', 'dev', 'mvt', 'address', '02:11:22:33:44:55']);
    expect(steps[1]!.args).toEqual(['maddr', 'add', '01:00:5e:01:01:01', 'dev', 'mvt']);
  });

  it('promisc and allmulti follow the guest; a table past 64 entries is allmulti; no MULTICAST is off', () => {
    const all = host.multicast;
    expect(says(syncSteps('mvt', guest(['PROMISC', 'ALLMULTI'], all), host))).toEqual([
      'promisc on',
      'allmulticast on',
    ]);
    const many = Array.from(
      { length: MAC_TABLE_ENTRIES + 1 },
      (_, i) => `01:00:5e:00:01:${i.toString(16).padStart(2, '0')}`,
    );
    const overflowed = guest([], many);
    expect(overflowed['multicast-overflow']).toBe(true);
    expect(overflowed['multicast-table']).toEqual([]);
    expect(says(syncSteps('mvt', overflowed, host))).toEqual(['allmulticast on', 'maddr del 01:00:5e:07:07:07']);
    const none = fromNetdev('guest', { mac: host.mac, flags: ['BROADCAST', 'UP'], multicast: [] });
    expect(none.multicast).toBe('none');
    expect(says(syncSteps('mvt', none, host))).toEqual(['multicast off', 'maddr del 01:00:5e:07:07:07']);
  });

  it('turns promisc on for a guest that filters VLANs, as libvirt does', () => {
    const g = { ...guest([], host.multicast), 'vlan-table': [15] };
    expect(says(syncSteps('mvt', g, host))).toEqual(['promisc on']);
  });
});

describe('the filter report, shaped like query-rx-filter', () => {
  it('has every field QEMU reports, for a namespace interface', () => {
    expect(Object.keys(guest([], []))).toEqual([
      'name',
      'promiscuous',
      'multicast',
      'unicast',
      'vlan',
      'broadcast-allowed',
      'multicast-overflow',
      'unicast-overflow',
      'main-mac',
      'vlan-table',
      'unicast-table',
      'multicast-table',
    ]);
  });

  it("the built-in guest needs 224.0.0.1, ff02::1 and its address's solicited-node group", () => {
    const f = fromBuiltinGuest('vm', 0x02_00_00_00_00_0b, parseIpv6('fd77::12:3456'));
    expect(f['main-mac']).toBe('02:00:00:00:00:0b');
    expect(f['multicast-table']).toEqual(['01:00:5e:00:00:01', '33:33:00:00:00:01', '33:33:ff:12:34:56']);
    expect(fromBuiltinGuest('vm', 0x02_00_00_00_00_0b, null)['multicast-table']).toEqual(['01:00:5e:00:00:01']);
  });
});

describe('which guest a trusted macvtap follows', () => {
  const config = (...args: string[]) => readForwardConfig(args)!;
  it('the other port of a cross-connect, or of its pair', () => {
    expect(trustLinks(config('--port', 'g=tap:x', '--port', 'w=macvtap:m,trust-guest-rx-filters'))).toEqual([
      { macvtap: 1, guest: 0 },
    ]);
    const pairs = config(
      '--switch',
      'pairs',
      ...['w1=macvtap:m1', 'g1=tap:t1', 'w2=macvtap:m2,trust-guest-rx-filters', 'g2=guest:10.0.0.2/24'].flatMap((p) => [
        '--port',
        p,
      ]),
    );
    expect(trustLinks(pairs)).toEqual([{ macvtap: 2, guest: 3 }]);
  });

  it('is bad usage with a switch that has no pairs, or a peer whose filter tapyard cannot see', () => {
    const hub = config('--port', 'w=macvtap:m,trust-guest-rx-filters', '--port', 'a=tap:x', '--port', 'b=tap:y');
    expect(() => trustLinks(hub)).toThrow(/needs to know its guest/);
    const qemu = config('--port', 'w=macvtap:m,trust-guest-rx-filters', '--port', 'q=qemu:/tmp/ty-none.sock');
    expect(() => trustLinks(qemu)).toThrow(/q is a qemu port, whose filter tapyard cannot see/);
    expect(() => config('--port', 'g=tap:x,trust-guest-rx-filters', '--port', 'w=macvtap:m')).toThrow(
      /trust-guest-rx-filters is a macvtap option/,
    );
  });
});
