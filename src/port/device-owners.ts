// Who else has a character device open: every process's fds, by device number. A macvtap
// spreads its frames over every open queue (tap_get_queue hashes the flow), so a second reader
// silently takes part of the guest's traffic; tapyard looks before it opens one.

import { readdirSync, readFileSync, statSync } from 'node:fs';

export interface Owner {
  pid: number;
  command: string;
}

/** glibc's gnu_dev_major/minor for the 64-bit dev_t Node reports. */
function devMajor(rdev: number): number {
  return ((rdev >>> 8) & 0xfff) | (Math.floor(rdev / 2 ** 32) & ~0xfff);
}
function devMinor(rdev: number): number {
  return (rdev & 0xff) | ((rdev >>> 12) & ~0xff);
}

/** Processes other than this one with the character device major:minor open. */
export function openersOf(major: number, minor: number): Owner[] {
  const owners: Owner[] = [];
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue; // gone, or not ours to look at
    }
    for (const fd of fds) {
      try {
        const st = statSync(`/proc/${pid}/fd/${fd}`);
        if (st.isCharacterDevice() && devMajor(st.rdev) === major && devMinor(st.rdev) === minor) {
          owners.push({ pid, command: readFileSync(`/proc/${pid}/comm`, 'utf8').trim() });
          break;
        }
      } catch {
        // closed meanwhile
      }
    }
  }
  return owners;
}
