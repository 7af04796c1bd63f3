// --user NAME, as QEMU's -runas: once every device is open, tapyard gives up root. The open
// fds keep working (read, write, TUNGETIFF, SIOCGIFMTU on a socket made in the tap's namespace
// need no privilege); the kernel's counters of a tap in another namespace (ip -n needs root)
// keep their last reading.

import { execFileSync } from 'node:child_process';
import { chownSync } from 'node:fs';
import { TapyardError } from '../error.js';

export interface RunAs {
  user: string;
  uid: number;
  gid: number;
}

/** Look the user up before anything is opened, so that a typo is a usage error. */
export function lookUpUser(user: string): RunAs {
  let line: string;
  try {
    line = execFileSync('getent', ['passwd', user], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    throw new TapyardError('EUSAGE', `--user: there is no user ${JSON.stringify(user.slice(0, 32))} on this machine`);
  }
  const [, , uid, gid] = line.split(':');
  return { user, uid: Number(uid), gid: Number(gid) };
}

/**
 * Drop to the user: supplementary groups first, then the group, then the user (setuid last).
 * FILES (the sockets tapyard made and removes at the end) become the user's first: the user can
 * then remove them from a sticky directory such as /tmp, and connect to them at mode 0600.
 */
export function dropPrivileges(to: RunAs, files: readonly string[] = []): void {
  const { setgroups, setgid, setuid, geteuid } = process;
  if (setgroups === undefined || setgid === undefined || setuid === undefined || geteuid === undefined) {
    throw new TapyardError('EPRIV', '--user needs a POSIX system');
  }
  for (const file of files) chownSync(file, to.uid, to.gid);
  setgroups([to.gid]);
  setgid(to.gid);
  setuid(to.uid);
  if (geteuid() !== to.uid) throw new TapyardError('EPRIV', `could not become ${to.user}: still uid ${geteuid()}`);
}
