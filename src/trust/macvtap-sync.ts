// Mirror a guest's receive filter onto its macvtap, as libvirt does for <interface type='direct'
// trustGuestRxFilters='yes'> (src/qemu/qemu_domain.c: qemuDomainSyncRxFilter and its
// syncNicRxFilter* helpers, reading the host side with virNetDevGetRxFilter):
//   - the MAC: the macvtap takes the guest's main-mac (macvlan delivers unicast by MAC);
//   - promisc: the guest's, or on whenever the guest filters VLANs (the macvtap has no VLAN list);
//   - multicast mode: `all`, or a `normal` table that overflowed, is allmulticast on; `none` is
//     multicast off;
//   - the multicast list by difference: add what the guest has and the macvtap lacks, delete what
//     the macvtap has and the guest does not.
// Left out, as libvirt leaves it out: the unicast table (macvlan takes one MAC per endpoint) and
// the VLAN table itself. One difference: only addresses added from user space (dev_mcast's
// global use > 0, what `ip maddr` marks static) are deleted; the macvtap's own stack joined the
// others, and SIOCDELMULTI cannot remove them (ENOENT).
//
// tapyard runs in the macvtap's namespace, so the host side is read from sysfs and
// /proc/net/dev_mcast, and changed with ip(8).

import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { RxFilterInfo } from './rx-filter-info.js';

const IFF_PROMISC = 0x100;
const IFF_ALLMULTI = 0x200;
const IFF_MULTICAST = 0x1000;

/** The macvtap's side of the filter, as virNetDevGetRxFilter reads it. */
export interface HostFilter {
  readonly mac: string;
  readonly promisc: boolean;
  readonly allmulti: boolean;
  readonly multicastOn: boolean;
  /** Every link-layer group on dev->mc, and which of them user space added. */
  readonly multicast: readonly string[];
  readonly staticMulticast: readonly string[];
}

export function readHostFilter(ifname: string): HostFilter {
  const sys = `/sys/class/net/${ifname}`;
  const flags = Number(readFileSync(`${sys}/flags`, 'utf8').trim());
  const multicast: string[] = [];
  const staticMulticast: string[] = [];
  // ifindex name users global-users address (net/core/dev_addr_lists.c: dev_mc_seq_show)
  for (const line of readFileSync('/proc/net/dev_mcast', 'utf8').split('\n')) {
    const [, name, , global, hex] = line.trim().split(/\s+/);
    if (name !== ifname || hex === undefined || hex.length !== 12) continue;
    const mac = hex.replace(/..(?!$)/g, '$&:');
    multicast.push(mac);
    if (Number(global) > 0) staticMulticast.push(mac);
  }
  return {
    mac: readFileSync(`${sys}/address`, 'utf8').trim(),
    promisc: (flags & IFF_PROMISC) !== 0,
    allmulti: (flags & IFF_ALLMULTI) !== 0,
    multicastOn: (flags & IFF_MULTICAST) !== 0,
    multicast,
    staticMulticast,
  };
}

/** One change to the macvtap: the ip(8) arguments and how it reads in a note. */
export interface SyncStep {
  readonly args: readonly string[];
  readonly says: string;
}

/** What to change on `ifname` so that it takes what the guest asked for (pure: nothing is run). */
export function syncSteps(ifname: string, guest: RxFilterInfo, host: HostFilter): SyncStep[] {
  const steps: SyncStep[] = [];
  const link = (setting: string, value: string) => ({
    args: ['link', 'set', 'dev', ifname, setting, value],
    says: `${setting} ${value}`,
  });
  if (guest['main-mac'] !== host.mac) steps.push(link('address', guest['main-mac']));
  const promisc = guest.promiscuous || guest['vlan-table'].length > 0;
  if (promisc !== host.promisc) steps.push(link('promisc', promisc ? 'on' : 'off'));
  const allmulti = guest.multicast === 'all' || (guest.multicast === 'normal' && guest['multicast-overflow']);
  const multicastOn = guest.multicast !== 'none';
  if (multicastOn !== host.multicastOn) steps.push(link('multicast', multicastOn ? 'on' : 'off'));
  if (allmulti !== host.allmulti) steps.push(link('allmulticast', allmulti ? 'on' : 'off'));
  const wanted = new Set(guest['multicast-table']);
  for (const mac of guest['multicast-table']) {
    if (!host.multicast.includes(mac))
      steps.push({ args: ['maddr', 'add', mac, 'dev', ifname], says: `maddr add ${mac}` });
  }
  for (const mac of host.staticMulticast) {
    if (!wanted.has(mac)) steps.push({ args: ['maddr', 'del', mac, 'dev', ifname], says: `maddr del ${mac}` });
  }
  return steps;
}

/**
 * What to change on `ifname` to give it back what it had before tapyard followed its guest
 * (BEFORE): the MAC, the promisc, multicast and allmulticast flags, and the groups user space had
 * added; a group tapyard added is deleted (pure: nothing is run).
 */
export function restoreSteps(ifname: string, before: HostFilter, now: HostFilter): SyncStep[] {
  const steps: SyncStep[] = [];
  const link = (setting: string, on: boolean | string) => {
    const value = typeof on === 'string' ? on : on ? 'on' : 'off';
    steps.push({ args: ['link', 'set', 'dev', ifname, setting, value], says: `${setting} ${value}` });
  };
  if (now.mac !== before.mac) link('address', before.mac);
  if (now.promisc !== before.promisc) link('promisc', before.promisc);
  if (now.multicastOn !== before.multicastOn) link('multicast', before.multicastOn);
  if (now.allmulti !== before.allmulti) link('allmulticast', before.allmulti);
  for (const mac of now.staticMulticast) {
    if (!before.staticMulticast.includes(mac))
      steps.push({ args: ['maddr', 'del', mac, 'dev', ifname], says: `maddr del ${mac}` });
  }
  for (const mac of before.staticMulticast) {
    if (!now.staticMulticast.includes(mac))
      steps.push({ args: ['maddr', 'add', mac, 'dev', ifname], says: `maddr add ${mac}` });
  }
  return steps;
}

/**
 * Run the steps, one ip(8) child after another, without holding the loop while each runs (the
 * frames go on moving); what was done, and a sentence for each step that failed (the rest still run).
 */
export async function applySteps(steps: readonly SyncStep[]): Promise<{ done: string[]; failed: string[] }> {
  const done: string[] = [];
  const failed: string[] = [];
  for (const step of steps) {
    const why = await new Promise<string | null>((resolve) => {
      execFile('ip', step.args, { encoding: 'utf8' }, (err, _out, stderr) =>
        resolve(err === null ? null : stderr.trim() || err.message),
      );
    });
    if (why === null) done.push(step.says);
    else failed.push(`${step.says}: ${why}`);
  }
  return { done, failed };
}
