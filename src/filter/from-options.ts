// A receive filter for a forwarder port, from its spec options. It plays the guest NIC's
// virtio-net filter on the frames tapyard is about to hand to that port:
//   rx-filter=on               promisc off, as a booted Linux guest leaves it (reset leaves it on)
//   rx-mode=allmulti+nobcast   the VIRTIO_NET_CTRL_RX switches to turn on (promisc, allmulti,
//                              alluni, nomulti, nouni, nobcast)
//   rx-mac=MAC+MAC             the MAC table (unicast and multicast entries, split by the group bit)
//   rx-vlan=VID+VID            a VLAN filter (as if VIRTIO_NET_F_CTRL_VLAN were negotiated)
// The NIC's own MAC is the port's (mac=... overrides it).

import { TapyardError } from '../error.js';
import { isGroup, type Mac, parseMac } from '../mac.js';
import { RxFilter, type RxMode } from './rx-filter.js';

const MODES: readonly RxMode[] = ['promisc', 'allmulti', 'alluni', 'nomulti', 'nouni', 'nobcast'];
const KEYS = ['rx-filter', 'rx-mode', 'rx-mac', 'rx-vlan'] as const;

/** Take the rx-* options out of `options`; null when the port has no filter. */
export function rxFilterFromOptions(
  port: string,
  options: Record<string, string>,
  portMac: Mac | null,
): RxFilter | null {
  const given = Object.fromEntries(KEYS.filter((k) => k in options).map((k) => [k, options[k]!])) as Partial<
    Record<(typeof KEYS)[number], string>
  >;
  for (const key of KEYS) delete options[key];
  const bad = (why: string) => new TapyardError('EUSAGE', `port ${port}: ${why}`);
  const on = given['rx-filter'];
  if (on === undefined || on === 'off') {
    const stray = KEYS.find((k) => k !== 'rx-filter' && given[k] !== undefined);
    if (stray !== undefined) throw bad(`${stray} needs rx-filter=on`);
    return null;
  }
  if (on !== 'on') throw bad(`rx-filter=${on} must be on or off`);
  const mac = options.mac !== undefined ? parseMac(options.mac) : portMac;
  if (mac === null) throw bad("rx-filter=on needs the NIC's MAC: this port has none, so give mac=...");

  const filter = new RxFilter(mac);
  filter.setFeatures({ ctrlVlan: given['rx-vlan'] !== undefined });
  filter.setRxMode('promisc', false);
  for (const mode of list(given['rx-mode'])) {
    if (!MODES.includes(mode as RxMode)) throw bad(`rx-mode ${mode} is not one of ${MODES.join(', ')}`);
    filter.setRxMode(mode as RxMode, true);
  }
  const table = list(given['rx-mac']).map((text) => {
    const m = parseMac(text);
    if (m === null) throw bad(`rx-mac ${text} is not a MAC address`);
    return m;
  });
  filter.setMacTable(
    table.filter((m) => !isGroup(m)),
    table.filter((m) => isGroup(m)),
  );
  for (const text of list(given['rx-vlan'])) {
    const vid = Number(text);
    if (!/^\d+$/.test(text) || vid > 4095) throw bad(`rx-vlan ${text} is not a VLAN id (0-4095)`);
    filter.setVlan(vid, true);
  }
  return filter;
}

function list(value: string | undefined): string[] {
  return value === undefined || value === '' ? [] : value.split('+');
}
