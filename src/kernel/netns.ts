// The pieces every lab is made of, in one place: a namespace (loopback up, IPv6 quiet), a veth
// pair between two namespaces, a Linux bridge that forwards at once. The lab builder
// (src/lab/builder.ts), the model's kernel lab (src/verify/lab.ts) and the tests' conformance labs
// (test/helpers/kernel-lab.ts) all build with these. Names must carry the project's prefix
// ty-; links are created inside namespaces the caller made, never in the caller's own.

import { TapyardError } from '../error.js';
import { STOP_REQUESTS } from '../stop-signals.js';
import { iproute } from './iproute.js';

/** A namespace of ours: ty-..., and short enough for iproute2. */
function checkName(name: string): void {
  if (!name.startsWith('ty-') || name.length > 40) throw new TapyardError('ELAB', `refusing to create ${name}`);
}

export interface NamespaceOptions {
  /** Keep IPv6 on (the lab's --ipv6); off by default, so that no DAD, RS or MLD of its own runs. */
  readonly ipv6?: boolean;
}

/** Create it with loopback up; IPv6 off first, so that devices made later never send anything. */
export function addNamespace(name: string, o: NamespaceOptions = {}): void {
  checkName(name);
  iproute(['netns', 'add', name]);
  iproute(['link', 'set', 'lo', 'up'], { netns: name });
  if (o.ipv6 !== true)
    iproute([
      'netns',
      'exec',
      name,
      'sysctl',
      '-qw',
      'net.ipv6.conf.all.disable_ipv6=1',
      'net.ipv6.conf.default.disable_ipv6=1',
    ]);
}

/** Remove it; one that is gone already is not an error. */
export function removeNamespace(name: string): void {
  try {
    iproute(['netns', 'del', name]);
  } catch {
    // already gone
  }
}

/** One end of a veth pair: its namespace and its name. */
export interface VethEnd {
  readonly netns: string;
  readonly name: string;
}

/** A veth pair created inside `a`'s namespace, its peer moved into `b`'s; both ends up unless told. */
export function addVeth(a: VethEnd, b: VethEnd, o: { readonly up?: boolean } = {}): void {
  checkName(a.name);
  checkName(b.name);
  iproute(['link', 'add', a.name, 'type', 'veth', 'peer', 'name', b.name, 'netns', b.netns], { netns: a.netns });
  if (o.up === false) return;
  iproute(['link', 'set', a.name, 'up'], { netns: a.netns });
  iproute(['link', 'set', b.name, 'up'], { netns: b.netns });
}

export interface BridgeOptions {
  /** Multicast snooping; unset: the kernel's default (on). */
  readonly snooping?: boolean;
  readonly ageingSeconds?: number;
  readonly address?: string;
  /** Bring it up at once (default); false leaves that to the caller, once its ports are on. */
  readonly up?: boolean;
}

/** A Linux bridge that forwards at once: STP off and no forward delay (else 15 s of silence). */
export function addBridge(netns: string, name: string, o: BridgeOptions = {}): void {
  checkName(name);
  iproute(
    [
      'link',
      'add',
      name,
      ...(o.address === undefined ? [] : ['address', o.address]),
      'type',
      'bridge',
      'stp_state',
      '0',
      'forward_delay',
      '0',
      ...(o.snooping === undefined ? [] : ['mcast_snooping', o.snooping ? '1' : '0']),
      ...(o.ageingSeconds === undefined ? [] : ['ageing_time', String(Math.round(o.ageingSeconds * 100))]),
    ],
    { netns },
  );
  if (o.up !== false) iproute(['link', 'set', name, 'up'], { netns });
}

/** Wait until every port of a bridge forwards (a port starts disabled until it and its peer are up). */
export async function waitForwarding(netns: string, ports: readonly string[]): Promise<void> {
  const deadline = Date.now() + 5000;
  const forwarding = (p: string) => /state forwarding/.test(iproute(['-d', 'link', 'show', 'dev', p], { netns }));
  while (!ports.every(forwarding)) {
    if (Date.now() > deadline)
      throw new TapyardError('ELAB', `bridge ports ${ports.join(', ')} in ${netns} never reached forwarding`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

// --- namespaces this process made, removed whatever happens ---------------------------------------

const live = new Set<string>();
let hooked = false;

function removeLive(names: Iterable<string>): void {
  for (const name of [...names]) {
    removeNamespace(name);
    live.delete(name);
  }
}

function hook(): void {
  if (hooked) return;
  hooked = true;
  process.once('exit', () => removeLive(live));
  // A lab being built or used when the process is told to stop is removed at once; the process
  // then ends here only when nobody else handles the signal (the ui stops its run its own way).
  for (const signal of STOP_REQUESTS) {
    const onSignal = () => {
      removeLive(live);
      if (process.listenerCount(signal) === 1) process.exit(130);
    };
    process.on(signal, onSignal);
  }
}

/**
 * addNamespace, and the namespace is removed when the process exits or is told to stop, unless
 * removeOwnNamespace took it first. For labs that live as long as their process (the lab builder
 * keeps a state file instead, for `lab down` from another process).
 */
export function addOwnNamespace(name: string, o: NamespaceOptions = {}): void {
  checkName(name);
  hook();
  live.add(name); // before it exists: a signal during the add still removes it
  addNamespace(name, o);
}

export function removeOwnNamespace(name: string): void {
  if (live.has(name)) removeLive([name]);
}

export function removeAllOwnNamespaces(): void {
  removeLive(live);
}
