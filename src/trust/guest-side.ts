// Where tapyard sees a guest's receive filter. A guest namespace's interface (a tap port) is read
// with one `ip -batch` (link and maddr) per look, in its own namespace: a multicast join changes
// dev->mc without any link event, so it has to be looked at, and a look is one short process.
// The built-in guest's filter is its configuration and never changes while it runs.

import { spawn } from 'node:child_process';
import type { Mac } from '../mac.js';
import { fromBuiltinGuest, fromNetdev, type RxFilterInfo } from './rx-filter-info.js';

export interface GuestSide {
  /** The guest port's name, which the filter report carries as QEMU carries the NIC's. */
  readonly port: string;
  /** The guest's filter now, or an error sentence when it cannot be read. */
  read(): Promise<RxFilterInfo | string>;
}

export function netdevGuest(port: string, ifname: string, netns: string | null): GuestSide {
  const where = netns === null ? ifname : `${ifname} in ${netns}`;
  return {
    port,
    read: () =>
      new Promise((resolve) => {
        const child = spawn('ip', [...(netns === null ? [] : ['-n', netns]), '-j', '-batch', '-'], {
          stdio: ['pipe', 'pipe', 'pipe'],
        });
        let out = '';
        let err = '';
        child.stdout.on('data', (d: Buffer) => {
          out += d.toString();
        });
        child.stderr.on('data', (d: Buffer) => {
          err += d.toString();
        });
        child.on('error', (e) => resolve(`cannot run ip: ${e.message}`));
        child.on('close', (code) => {
          if (code !== 0) return resolve(`cannot read ${where}: ${err.trim() || `ip exited ${code}`}`);
          try {
            resolve(fromNetdev(port, parseBatch(out)));
          } catch {
            resolve(`cannot read ${where}: ip printed what tapyard does not understand`);
          }
        });
        child.stdin.end(`link show dev ${ifname}\nmaddr show dev ${ifname}\n`);
      }),
  };
}

export function builtinGuest(port: string, mac: Mac, ipv6: Uint8Array | null): GuestSide {
  const filter = fromBuiltinGuest(port, mac, ipv6);
  return { port, read: async () => filter };
}

interface IpLink {
  address: string;
  flags: string[];
}
interface IpMaddr {
  maddr?: { link?: string }[];
}

/** `ip -j -batch` prints one JSON array per command, one after the other. */
function parseBatch(text: string) {
  const [links, maddrs] = text
    .trim()
    .split(/\n(?=\[)/)
    .map((part) => JSON.parse(part) as unknown[]);
  const [link] = links as IpLink[];
  if (link === undefined) throw new Error('ip link show printed no link'); // the caller says it in a sentence
  const groups = ((maddrs as IpMaddr[])[0]?.maddr ?? []).flatMap((m) => (m.link === undefined ? [] : [m.link]));
  return { mac: link.address, flags: link.flags, multicast: groups.map((g) => g.toLowerCase()) };
}
