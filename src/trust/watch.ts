// trust-guest-rx-filters=on: each trusted macvtap port follows its guest's receive filter. The
// guest is the port the macvtap is wired to (the other port of a cross-connect, or of its pair),
// a tap (a guest namespace's interface) or the built-in guest. Every change of the guest's filter
// is said as one note line carrying the filter as QEMU's query-rx-filter shapes it, and every
// change tapyard made to the macvtap as another:
//   tapyard: rx-filter guest: {"name":"guest","promiscuous":false,...,"multicast-table":[...]}
//   tapyard: rx-filter wire (ty-1a2b3-mvt) <- guest: address 02:11:22:33:44:55, maddr add 01:00:5e:01:01:01
// The guest is looked at when the kernel announces a change of its interface (guest-side.ts),
// and every LOOK_MS for what the kernel does not announce (a link-layer group added by hand, an IP
// group on a kernel before 6.13). A look is made in this process, and a change to the macvtap is
// made by ip(8) children the loop does not wait for (macvtap-sync.ts).

import type { ForwardConfig } from '../config/forward.js';
import { usageError } from '../grammar/value.js';
import { parseMac } from '../mac.js';
import { FdPort } from '../port/fd-port.js';
import type { Port } from '../port/port.js';
import type { SourceGuard } from '../port/source-guard.js';
import { pairedPort } from '../switch/pairs.js';
import { builtinGuest, type GuestSide, netdevGuest } from './guest-side.js';
import { applySteps, type HostFilter, readHostFilter, restoreSteps, type SyncStep, syncSteps } from './macvtap-sync.js';
import { type RxFilterInfo, sameFilter } from './rx-filter-info.js';

const LOOK_MS = 1000;

/** A trusted macvtap and its guest, by port index. */
export interface TrustLink {
  readonly macvtap: number;
  readonly guest: number;
}

/** The trusted macvtaps of a run and their guests; bad usage before any device is opened. */
export function trustLinks(config: ForwardConfig): TrustLink[] {
  const links: TrustLink[] = [];
  config.ports.forEach((p, i) => {
    if (p.device.kind !== 'macvtap' || !p.device.trustGuestRxFilters) return;
    const sw = config.switch.kind;
    if (sw !== 'cross' && sw !== 'pairs') {
      throw usageError(
        `port ${p.name}: trust-guest-rx-filters needs to know its guest: the other port of a cross-connect ` +
          `or of its pair (--switch pairs), not a port of the ${sw} switch`,
      );
    }
    const guest = sw === 'cross' ? 1 - i : pairedPort(i);
    // readSwitchConfig gives a cross-connect two ports and pairs an even number.
    const other = config.ports[guest]!;
    const kind = other.device.kind;
    if (kind !== 'tap' && kind !== 'guest') {
      throw usageError(
        `port ${p.name}: trust-guest-rx-filters reads the guest's filter from a tap or a built-in guest; ` +
          `${other.name} is a ${kind} port, whose filter tapyard cannot see`,
      );
    }
    links.push({ macvtap: i, guest });
  });
  return links;
}

export class RxFilterWatcher {
  private timer: NodeJS.Timeout | null = null;
  private readonly followers: Follower[];

  constructor(links: readonly TrustLink[], config: ForwardConfig, ports: readonly Port[], say: (line: string) => void) {
    this.followers = links.map((link) => {
      const g = config.ports[link.guest]!;
      const device = g.device;
      let side: GuestSide;
      if (device.kind === 'guest') side = builtinGuest(g.name, ports[link.guest]!.mac!, device.ipv6);
      else if (device.kind === 'tap') side = openNetdevGuest(g.name, device.ifname, device.netns ?? null);
      else throw new Error(`unreachable: ${device.kind} guest`);
      const m = config.ports[link.macvtap]!;
      const wire = ports[link.macvtap];
      const guard = wire instanceof FdPort ? wire.sourceGuard : null;
      return new Follower(m.name, (m.device as { ifname: string }).ifname, side, guard, say);
    });
  }

  start(): void {
    if (this.followers.length === 0) return;
    for (const f of this.followers) f.watch();
    const look = () => {
      for (const f of this.followers) f.look();
    };
    look();
    this.timer = setInterval(look, LOOK_MS);
  }

  /** Stop following, and give every macvtap back what it had before (said in one line each). */
  async stop(): Promise<void> {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    await Promise.all(this.followers.map((f) => f.stop()));
  }
}

/** A guest namespace that cannot be looked into says so at every look, and forwarding goes on. */
function openNetdevGuest(port: string, ifname: string, netns: string | null): GuestSide {
  try {
    return netdevGuest(port, ifname, netns);
  } catch (err) {
    const where = netns === null ? ifname : `${ifname} in ${netns}`;
    const sentence = `cannot look at ${where} (${err instanceof Error ? err.message : String(err)})`;
    return { port, read: async () => sentence, watch: () => {}, close: () => {} };
  }
}

/** One macvtap following one guest. */
class Follower {
  /** Set when the run ends: a look still under way then changes nothing and says nothing. */
  private stopped = false;
  private busy = false;
  /** A change was announced during a look: look once more when it ends. */
  private again = false;
  /** The look under way (reading the guest, changing the macvtap), which stop waits for. */
  private current: Promise<void> = Promise.resolve();
  private filter: RxFilterInfo | null = null;
  private problem = '';
  /** The macvtap's own filter before tapyard changed anything: what it gets back at the end. */
  private before: HostFilter | null = null;

  constructor(
    private readonly port: string,
    private readonly ifname: string,
    private readonly guest: GuestSide,
    /** The macvtap port's source check: it takes the guest's MAC as soon as the macvtap has it. */
    private readonly guard: SourceGuard | null,
    private readonly say: (line: string) => void,
  ) {}

  look(): void {
    if (this.stopped) return;
    if (this.busy) {
      this.again = true;
      return;
    }
    this.busy = true;
    this.again = false;
    this.current = this.guest
      .read()
      .then((filter) => this.follow(filter))
      .finally(() => {
        this.busy = false;
        if (this.again && !this.stopped) this.look();
      });
  }

  /** Look whenever the kernel announces a change of the guest's interface. */
  watch(): void {
    this.guest.watch(
      () => this.look(),
      (sentence) => this.complain(`${sentence}; looking every ${LOOK_MS / 1000} s`),
    );
  }

  /** The run is over: no more changes, and the macvtap gets back what it had. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.current;
    this.guest.close();
    if (this.before === null) return;
    let steps: SyncStep[];
    try {
      steps = restoreSteps(this.ifname, this.before, readHostFilter(this.ifname));
    } catch {
      return; // the macvtap is gone: nothing to give back
    }
    if (steps.length === 0) return;
    const { done, failed } = await applySteps(steps);
    if (done.length > 0) this.say(`tapyard: rx-filter ${this.port} (${this.ifname}) restored: ${done.join(', ')}`);
    if (failed.length > 0) this.say(`tapyard: warning: rx-filter ${this.port}: could not restore ${failed.join('; ')}`);
  }

  private async follow(filter: RxFilterInfo | string): Promise<void> {
    if (this.stopped) return;
    this.complain(typeof filter === 'string' ? filter : await this.sync(filter));
  }

  /** Mirror the filter onto the macvtap; what went wrong, or ''. */
  private async sync(filter: RxFilterInfo): Promise<string> {
    if (!sameFilter(this.filter, filter)) this.say(`tapyard: rx-filter ${this.guest.port}: ${JSON.stringify(filter)}`);
    this.filter = filter;
    let steps: SyncStep[];
    try {
      const host = readHostFilter(this.ifname);
      this.before ??= host;
      steps = syncSteps(this.ifname, filter, host);
    } catch {
      return `cannot read the macvtap ${this.ifname}`;
    }
    if (steps.length === 0) return '';
    const { done, failed } = await applySteps(steps);
    // The port reads its device's address only every 0.2 s: until then the guest's frames from
    // its new MAC would count as spoofed.
    const mac = filter['main-mac'];
    if (done.includes(`address ${mac}`)) this.guard?.setMac(parseMac(mac)!);
    if (done.length > 0)
      this.say(`tapyard: rx-filter ${this.port} (${this.ifname}) <- ${this.guest.port}: ${done.join(', ')}`);
    return failed.join('; ');
  }

  /** A problem is said once, when it starts or changes; forwarding goes on. */
  private complain(problem: string): void {
    if (problem !== '' && problem !== this.problem) {
      this.say(`tapyard: warning: rx-filter ${this.port}: ${problem}; forwarding goes on`);
    }
    this.problem = problem;
  }
}
