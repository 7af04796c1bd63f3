// The lab builder: a Topology (src/config/topology.ts) made real with iproute2, QEMU and tapyard
// forwarders. Every namespace is ty-ID-ROLE and every link ty-ID-NAME, ID fresh per run; links
// are created inside the lab's own namespaces, never in the caller's, so nothing here can touch
// an interface the lab did not make. Each step is written to the state file before it is taken,
// so teardown() removes exactly what was made, also after a failure or a signal half-way.
// The state file ($TAPYARD_RUN_DIR/lab-ID.env, KEY=VALUE lines) is also what `up` prints: the
// shell variables scripts eval. Programs bring a lab up through up.ts (bringUpLab); the pieces a
// lab is made of (namespace, veth, bridge) are src/kernel/netns.ts's.

import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  appendFileSync,
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
} from 'node:fs';
import { join } from 'node:path';
import { renamePort, type Topology, type VmBackend } from '../config/topology.js';
import { TapyardError } from '../error.js';
import { IprouteError, iproute, namespaces, showLink } from '../kernel/iproute.js';
import { addBridge, addNamespace, addVeth, removeNamespace } from '../kernel/netns.js';
import { packageRoot } from '../package-root.js';

export const runDir = (): string => process.env.TAPYARD_RUN_DIR ?? '/run/tapyard';
export const LAB_ID = /^[0-9a-z]{1,6}$/;
const stateFile = (id: string) => join(runDir(), `lab-${id}.env`);

/** Five lowercase letters or digits, random per run. */
export function newLabId(): string {
  return [...randomBytes(5)].map((b) => '0123456789abcdefghijklmnopqrstuvwxyz'[b % 36]).join('');
}

export interface BuildOptions {
  readonly id: string;
  /** Each KEY=VALUE as it is recorded (the CLI prints it). */
  readonly onRecord?: (key: string, value: string) => void;
  /** Asked between steps: a signal arrived, stop and let the caller tear down. */
  readonly interrupted?: () => boolean;
  /** The kind a lab was asked for by (tapyard lab up KIND), else the topology's name. */
  readonly kind?: string;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const sleepSync = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

const ip = (...args: string[]): string => iproute(args);

const withoutPrefix = (cidr: string) => cidr.slice(0, cidr.indexOf('/'));

/** Build the lab; resolves with what it recorded. Throws half-way: call teardown(id) then. */
export async function buildLab(t: Topology, o: BuildOptions): Promise<Record<string, string>> {
  const k = labKit(t, o, claimLab(o.id));
  recordBasics(k);
  await buildWire(k);
  await buildHost(k);
  await buildGuests(k);
  if (t.external.vlanHost) buildVlanHost(k);
  const { id, ns, name, record, step } = k;
  for (const f of t.forwarders) {
    await startForwarder({ id, netns: ns(f.netns), name: f.name, argv: forwardArgv(f, name), record, step });
  }
  record('LAB_READY', '1');
  return k.env;
}

/** The lab can be built: as root, with a free id; its state file, made empty. */
function claimLab(id: string): string {
  if (process.getuid?.() !== 0)
    throw new TapyardError('ELAB', 'lab up must run as root (it creates network namespaces)');
  if (!LAB_ID.test(id)) throw new TapyardError('EUSAGE', `bad lab id '${id}' (1-6 lowercase letters or digits)`);
  mkdirSync(runDir(), { recursive: true, mode: 0o755 });
  const file = stateFile(id);
  if (existsSync(file)) throw new TapyardError('EUSAGE', `lab ${id} already exists (lab down ${id} first)`);
  for (const ns of namespaces())
    if (ns.startsWith(`ty-${id}-`)) throw new TapyardError('EUSAGE', `namespace ${ns} already exists`);
  appendFileSync(file, '', { mode: 0o644 });
  return file;
}

/** What every step of a build uses: the topology, names in the lab, and ip(8) recording into the state file. */
interface LabKit {
  readonly t: Topology;
  readonly o: BuildOptions;
  readonly id: string;
  readonly env: Record<string, string>;
  record(key: string, value: string): void;
  /** Between steps: give a signal its chance, and stop when one came. */
  step(): Promise<void>;
  name(short: string): string;
  ns(role: string): string;
  macOf(role: string, link: string): string;
  addNs(role: string): Promise<void>;
  veth(roleA: string, a: string, roleB: string, b: string): void;
  address(role: string, link: string, v4: string | null, v6: string | null): void;
  tap(role: string, link: string): string;
  bridge(role: string, link: string): void;
}

function labKit(t: Topology, o: BuildOptions, file: string): LabKit {
  const { id } = o;
  const env: Record<string, string> = {};
  const record = (key: string, value: string) => {
    appendFileSync(file, `${key}=${value}\n`);
    env[key] = value;
    o.onRecord?.(key, value);
  };
  const step = async () => {
    await new Promise((resolve) => setImmediate(resolve));
    if (o.interrupted?.() === true) throw new TapyardError('EINTERRUPTED', 'interrupted');
  };
  const name = (short: string) => `ty-${id}-${short}`;
  const ns = (role: string) => name(role);
  const macOf = (role: string, link: string) => showLink(link, { netns: ns(role) }).address;
  const addNs = async (role: string) => {
    appendFileSync(file, `NS_CREATED=${ns(role)}\n`);
    addNamespace(ns(role), { ipv6: t.ipv6 });
    record(`NS_${role.toUpperCase()}`, ns(role));
    await step();
  };
  const veth = (roleA: string, a: string, roleB: string, b: string) =>
    addVeth({ netns: ns(roleA), name: a }, { netns: ns(roleB), name: b });
  const address = (role: string, link: string, v4: string | null, v6: string | null) => {
    if (v4 !== null) ip('-n', ns(role), 'addr', 'add', v4, 'dev', link);
    if (t.ipv6 && v6 !== null) ip('-n', ns(role), 'addr', 'add', v6, 'dev', link, 'nodad');
  };
  const mq = t.multiQueue ? ['multi_queue'] : [];
  const tap = (role: string, link: string) => ip('-n', ns(role), 'tuntap', 'add', 'dev', link, 'mode', 'tap', ...mq);
  const bridge = (role: string, link: string) => addBridge(ns(role), link, { up: false });
  return { t, o, id, env, record, step, name, ns, macOf, addNs, veth, address, tap, bridge };
}

function recordBasics({ t, o, id, record }: LabKit): void {
  // readTopologyFile refuses a lab without guests.
  const first = t.guests[0]!;
  record('LAB_ID', id);
  record('LAB_NAME', t.name);
  record('LAB_KIND', o.kind ?? t.name);
  record('LAB_MODE', first.mode);
  record('EXT_IP', withoutPrefix(t.external.address));
  if (first.address !== null) record('GUEST_IP', withoutPrefix(first.address));
  if (t.ipv6 && t.external.address6 !== null) record('EXT_IP6', withoutPrefix(t.external.address6));
  if (t.ipv6 && first.address6 !== null) record('GUEST_IP6', withoutPrefix(first.address6));
  if (t.multiQueue) record('TAP_MQ', '1');
}

/** The wire: ext ── [sw] ── lower in hv. */
async function buildWire({ t, name, ns, record, step, addNs, veth, address, bridge, macOf }: LabKit): Promise<void> {
  await addNs('ext');
  const ext = name('ext');
  const lower = name('eth');
  if (t.lower !== null) {
    await addNs('hv');
    if (t.lower.cable !== 'direct') {
      await addNs('sw');
      bridge('sw', name('sw'));
      veth('sw', name('swx'), 'ext', ext);
      veth('sw', name('swl'), 'hv', lower);
      ip('-n', ns('sw'), 'link', 'set', name('swx'), 'master', name('sw'));
      ip('-n', ns('sw'), 'link', 'set', name('swl'), 'master', name('sw'));
      // Reflective relay on the port toward the lower: what VEPA needs to reach a sibling.
      if (t.lower.cable === 'hairpin')
        ip('-n', ns('sw'), 'link', 'set', name('swl'), 'type', 'bridge_slave', 'hairpin', 'on');
      ip('-n', ns('sw'), 'link', 'set', name('sw'), 'up');
      record('SWITCH_BR', name('sw'));
      record('SWITCH_PORT_LOWER', name('swl'));
    } else veth('ext', ext, 'hv', lower);
    address('ext', ext, t.external.address, t.external.address6);
    record('EXT_IF', ext);
    record('EXT_MAC', macOf('ext', ext));
    record('LOWER_IF', lower);
    await step();
  }
}

/** The hypervisor's own address, and the host's macvlan or bridge. */
async function buildHost({ t, name, ns, record, step, bridge, macOf }: LabKit): Promise<void> {
  const lower = name('eth');
  // The hypervisor's own address: on the lower, or on the bridge when the lower is one of its
  // ports (a bridge port's own address sees nothing: the bridge takes every frame).
  const bridged = t.guests.some((g) => g.via === 'bridge');
  const hostAddress = (link: string) => {
    if (t.lower?.address == null) return;
    ip('-n', ns('hv'), 'addr', 'add', t.lower.address, 'dev', link);
    record('HOST_IF', link);
    record('HOST_MAC', macOf('hv', link));
    record('HOST_IP', withoutPrefix(t.lower.address));
  };
  if (!bridged) hostAddress(lower);
  if (t.hostMacvlan !== null) {
    // macvlan never sees what the host sends on the lower itself; on a macvlan in bridge mode
    // it switches host <-> guest locally.
    const hmv = name('hmv');
    ip('-n', ns('hv'), 'link', 'add', 'link', lower, 'name', hmv, 'type', 'macvlan', 'mode', t.hostMacvlan.mode);
    ip('-n', ns('hv'), 'link', 'set', hmv, 'up');
    ip('-n', ns('hv'), 'addr', 'add', t.hostMacvlan.address, 'dev', hmv);
    record('HOST_IF', hmv);
    record('HOST_MAC', macOf('hv', hmv));
    record('HOST_IP', withoutPrefix(t.hostMacvlan.address));
  }
  if (bridged) {
    bridge('hv', name('br'));
    ip('-n', ns('hv'), 'link', 'set', lower, 'master', name('br'));
    ip('-n', ns('hv'), 'link', 'set', name('br'), 'up');
    record('BRIDGE', name('br'));
    hostAddress(name('br'));
    await step();
  }
}

/** The guests, in order; a passthru lower refusing a second macvtap ends the list there. */
async function buildGuests(k: LabKit): Promise<void> {
  let built = 0;
  for (const [index, g] of k.t.guests.entries()) {
    if (!(await buildGuest(k, g, index, built))) break;
    built = index + 1;
    await k.step();
  }
  k.record('GUESTS', String(built));
}

/** Guest INDEX (from 0), after BUILT others; false when the kernel refused its endpoint. */
async function buildGuest(k: LabKit, g: Topology['guests'][number], index: number, built: number): Promise<boolean> {
  const { t, id, name, ns, record, step, addNs, veth, address, tap, macOf } = k;
  const ext = name('ext');
  const lower = name('eth');
  const i = index + 1;
  const wire = name(g.endpoint);
  const nic = name(g.nic);
  let wireKind: 'macvtap' | 'tap' | null = null;
  let mac: string | null = null;
  // The endpoint in hv: a macvtap on the lower, or a tap on the bridge.
  if (g.via === 'macvtap') {
    try {
      ip('-n', ns('hv'), 'link', 'add', 'link', lower, 'name', wire, 'type', 'macvtap', 'mode', g.mode);
    } catch (err) {
      // passthru gives the lower to one endpoint: the kernel refuses the next one. That is the
      // answer the lab shows, not a failure.
      if (g.mode !== 'passthru' || built === 0) throw err;
      const why = err instanceof IprouteError ? err.why : (err as Error).message;
      process.stderr.write(`tapyard: passthru allows one macvtap per lower: the kernel refused ${wire} (${why})\n`);
      record('PASSTHRU_REFUSED', `${wire}: ${why}`);
      return false;
    }
    ip('-n', ns('hv'), 'link', 'set', wire, 'up');
    wireKind = 'macvtap';
    // The guest's NIC carries the macvtap's MAC, as a VM's does: macvlan delivers only to it.
    mac = macOf('hv', wire);
  } else if (g.via === 'bridge' && g.kind !== 'veth') {
    tap('hv', wire);
    ip('-n', ns('hv'), 'link', 'set', wire, 'master', name('br'));
    ip('-n', ns('hv'), 'link', 'set', wire, 'up');
    wireKind = 'tap';
    mac = randomMac();
  }
  if (g.kind === 'tap') {
    await addNs(g.name);
    tap(g.name, nic);
    ip('-n', ns(g.name), 'link', 'set', nic, 'address', mac!);
    ip('-n', ns(g.name), 'link', 'set', nic, 'up');
  } else if (g.kind === 'veth') {
    await addNs(g.name);
    if (g.via === 'external') {
      veth('ext', ext, g.name, nic);
      address('ext', ext, t.external.address, t.external.address6);
      record('EXT_IF', ext);
      record('EXT_MAC', macOf('ext', ext));
    } else {
      veth('hv', wire, g.name, nic);
      ip('-n', ns('hv'), 'link', 'set', wire, 'master', name('br'));
    }
  } else if (g.kind === 'macvlan') {
    await addNs(g.name);
    ip('-n', ns('hv'), 'link', 'add', 'link', lower, 'name', nic, 'type', 'macvlan', 'mode', g.mode);
    ip('-n', ns('hv'), 'link', 'set', nic, 'netns', ns(g.name));
    ip('-n', ns(g.name), 'link', 'set', nic, 'up');
  }
  const inNamespace = g.kind === 'tap' || g.kind === 'veth' || g.kind === 'macvlan';
  if (inNamespace) {
    address(g.name, nic, g.address, g.address6);
    mac = macOf(g.name, nic);
  }
  const suffixes = index === 0 ? ['', `_${i}`] : [`_${i}`];
  for (const s of suffixes) {
    if (wireKind !== null) {
      if (s === '') record('WIRE_KIND', wireKind);
      record(`WIRE_IF${s}`, wire);
    }
    if (inNamespace) record(`GUEST_IF${s}`, nic);
    if (mac !== null) record(`GUEST_MAC${s}`, mac);
    if (s !== '' && g.address !== null) record(`GUEST_IP${s}`, withoutPrefix(g.address));
  }
  if (g.kind === 'vm') {
    const o = { id, wire, via: g.via, mac: mac!, address: g.address!, accel: g.accel, record, step };
    await bootVm({ ...o, backend: g.backend });
  }
  return true;
}

function buildVlanHost({ t, name, ns, record, address, macOf }: LabKit): void {
  const ext = name('ext');
  // VLANs without a VLAN module: ext's stack moves from its veth to a tap, so that a tapyard in
  // ext (trunk on the passthru macvtap, access on the tap) can untag what hv's tapyard tagged.
  const trunk = name('xmv');
  const host = name('xtp');
  ip('-n', ns('ext'), 'link', 'add', 'link', ext, 'name', trunk, 'type', 'macvtap', 'mode', 'passthru');
  ip('-n', ns('ext'), 'link', 'set', trunk, 'up');
  ip('-n', ns('ext'), 'tuntap', 'add', 'mode', 'tap', 'name', host);
  ip('-n', ns('ext'), 'addr', 'flush', 'dev', ext);
  address('ext', host, t.external.address, t.external.address6);
  ip('-n', ns('ext'), 'link', 'set', host, 'up');
  record('EXT_TRUNK_IF', trunk);
  record('EXT_HOST_IF', host);
  record('EXT_HOST_MAC', macOf('ext', host));
}

function forwardArgv(f: Topology['forwarders'][number], name: (short: string) => string): string[] {
  return [
    'forward',
    ...f.ports.flatMap((p) => ['--port', renamePort(p, name)]),
    ...(f.switch === null ? [] : ['--switch', f.switch]),
    ...(f.capture === null ? [] : ['--capture', f.capture]),
  ];
}

/** A locally administered unicast MAC. */
function randomMac(): string {
  const b = randomBytes(6);
  b[0] = 0x02;
  return [...b].map((x) => x.toString(16).padStart(2, '0')).join(':');
}

interface Steps {
  readonly id: string;
  readonly record: (key: string, value: string) => void;
  readonly step: () => Promise<void>;
}

/**
 * A tapyard forward in one of the lab's namespaces, in its own session (a Ctrl-C on the
 * terminal is for `lab up`, not for it); its stderr goes to a log beside the state file, which
 * `lab down` prints the final counters from.
 */
async function startForwarder(o: Steps & { netns: string; name: string; argv: string[] }): Promise<void> {
  const log = join(runDir(), `lab-${o.id}-${o.name}.log`);
  const fd = openSync(log, 'w', 0o644);
  const cli = join(packageRoot(), 'dist', 'src', 'cli', 'main.js');
  const child = spawn('ip', ['netns', 'exec', o.netns, process.execPath, cli, ...o.argv], {
    detached: true,
    stdio: ['ignore', fd, fd],
  });
  closeSync(fd);
  child.unref();
  o.record('FORWARDER', `${o.name}:${child.pid}:${log}`);
  for (let waited = 0; ; waited += 50) {
    const text = readFileSync(log, 'utf8');
    if (/^tapyard: forwarding /m.test(text)) return;
    if (child.exitCode !== null || !existsSync(`/proc/${child.pid}`) || waited > 15_000) {
      const why = text.trim().split('\n').at(-1) ?? 'no output';
      throw new TapyardError('ELAB', `forwarder ${o.name} did not start: ${why.replace(/^tapyard: /, '')}`);
    }
    await sleep(50);
    await o.step();
  }
}

/**
 * tapyard as the VM's network backend: `forward --offload` in hv between the endpoint (the macvtap,
 * or the bridge's tap) and a vhost-user socket in the VM's directory, recorded so that `down`
 * stops it. QEMU then shares the guest's memory (a memfd) and connects to the socket; no MSI-X,
 * for QEMU 7.2 under TCG crashes in msix_set_vector_notifiers when a vhost-user NIC starts with
 * it (docs/vm.md). Returns QEMU's NIC arguments.
 */
async function vhostBackend(o: Steps & { wire: string; via: string; mac: string; dir: string; hv: string }) {
  const sock = join(o.dir, 'vhost.sock');
  const log = openSync(join(o.dir, 'tapyard.log'), 'w', 0o644);
  const cli = join(packageRoot(), 'dist', 'src', 'cli', 'main.js');
  const wire = `wire=${o.via === 'macvtap' ? 'macvtap' : 'tap'}:${o.wire}`;
  // QEMU hands a vhost-user back-end no receive filter: tapyard plays virtio-net's for the guest's MAC.
  const argv = ['forward', '--offload', '--port', wire, '--port', `vm=vhost-user:${sock},rx-filter,mac=${o.mac}`];
  const child = spawn('ip', ['netns', 'exec', o.hv, process.execPath, cli, ...argv], {
    detached: true,
    stdio: ['ignore', log, log],
  });
  closeSync(log);
  child.unref();
  o.record('TAPYARD_PID', String(child.pid));
  o.record('VHOST_SOCK', sock);
  for (let waited = 0; !existsSync(sock); waited += 100) {
    if (waited > 10_000 || !existsSync(`/proc/${child.pid}`))
      throw new TapyardError('ELAB', `tapyard did not listen on ${sock} within 10 s (see ${o.dir}/tapyard.log)`);
    await sleep(100);
    await o.step();
  }
  return [
    ...['-object', 'memory-backend-memfd,id=mem,size=256M,share=on', '-numa', 'node,memdev=mem'],
    ...['-chardev', `socket,id=vhu0,path=${sock}`, '-netdev', 'vhost-user,id=n0,chardev=vhu0'],
    ...['-device', `virtio-net-pci,netdev=n0,mac=${o.mac},vectors=0`],
  ];
}

/**
 * A VM on the guest's endpoint, as libvirt wires one: for a macvtap, its queue opened through its
 * major:minor from sysfs and the fd given to QEMU (type='direct'); for a bridge, the tap by name.
 */
async function bootVm(
  o: Steps & { wire: string; via: string; mac: string; address: string; accel: 'tcg' | 'kvm'; backend: VmBackend },
): Promise<void> {
  const root = packageRoot();
  const built = spawnSync(join(root, 'scripts', 'vm', 'build-guest'), { encoding: 'utf8', cwd: root });
  if (built.status !== 0)
    throw new TapyardError('ELAB', `the VM guest cannot be built: ${built.stderr.trim().split('\n').at(-1)}`);
  // Its last line names the kernel and the initrd, relative to the package.
  const [kernel, initrd] = (built.stdout.trim().split('\n').at(-1) ?? '').split(' ').map((p) => join(root, p));
  if (kernel === undefined || initrd === undefined)
    throw new TapyardError('ELAB', 'the VM guest build did not name its kernel and initrd');
  const dir = mkdtempSync(`/tmp/ty-${o.id}-vm.`);
  o.record('VM_DIR', dir);
  const hv = `ty-${o.id}-hv`;
  let nic = ['-netdev', '', '-device', `virtio-net-pci,netdev=n0,mac=${o.mac}`];
  let fd: number | null = null;
  const wrap: string[] = [];
  if (o.backend === 'tapyard-vhost') nic = await vhostBackend({ ...o, dir, hv });
  else if (o.via === 'macvtap') {
    const queue = execFileSync('ip', ['netns', 'exec', hv, 'ls', `/sys/class/net/${o.wire}/macvtap`], {
      encoding: 'utf8',
    })
      .trim()
      .split('\n')[0];
    if (queue === undefined || queue === '') throw new TapyardError('ELAB', `${o.wire} has no macvtap queue`);
    const dev = execFileSync('ip', ['netns', 'exec', hv, 'cat', `/sys/class/net/${o.wire}/macvtap/${queue}/dev`], {
      encoding: 'utf8',
    }).trim();
    const [, major, minor] = /^(\d+):(\d+)$/.exec(dev) ?? [];
    if (major === undefined || minor === undefined)
      throw new TapyardError('ELAB', `${o.wire} has no character device number (its dev file reads '${dev}')`);
    execFileSync('mknod', ['-m', '600', join(dir, 'tap'), 'c', major, minor]);
    fd = openSync(join(dir, 'tap'), 'r+');
    rmSync(join(dir, 'tap'));
    nic[1] = 'tap,id=n0,fd=3';
  } else {
    nic[1] = `tap,id=n0,ifname=${o.wire},script=no,downscript=no`;
    wrap.push('ip', 'netns', 'exec', hv);
  }
  const argv = [
    'qemu-system-x86_64',
    ...['-accel', o.accel, '-m', '256', '-smp', '1', '-nodefaults', '-no-user-config', '-display', 'none'],
    ...['-no-reboot', '-daemonize', '-pidfile', join(dir, 'qemu.pid'), '-kernel', kernel, '-initrd', initrd],
    ...['-append', `console=ttyS0 quiet panic=-1 ty.ip=${o.address}`],
    ...['-chardev', `socket,id=ser0,path=${dir}/console.sock,server=on,wait=off,logfile=${dir}/console.log`],
    ...['-serial', 'chardev:ser0', ...nic],
  ];
  const all = [...wrap, ...argv];
  // all holds at least qemu's own argv.
  const r = spawnSync(all[0]!, all.slice(1), {
    encoding: 'utf8',
    stdio: ['ignore', 'ignore', 'pipe', ...(fd === null ? [] : [fd])],
  });
  if (fd !== null) closeSync(fd);
  if (r.status !== 0)
    throw new TapyardError('ELAB', `QEMU did not start: ${(r.stderr ?? '').trim().split('\n').at(-1)}`);
  o.record('VM_PID', readFileSync(join(dir, 'qemu.pid'), 'utf8').trim());
  o.record('VM_ACCEL', o.accel);
  o.record('VM_CONSOLE', join(dir, 'console.log'));
  for (let waited = 0; ; waited += 100) {
    if (
      existsSync(join(dir, 'console.log')) &&
      /^TAPYARD-GUEST READY/m.test(readFileSync(join(dir, 'console.log'), 'utf8'))
    )
      return;
    if (waited > 90_000)
      throw new TapyardError('ELAB', `the VM (${o.accel}) did not say READY within 90 s (see ${dir}/console.log)`);
    await sleep(100);
    await o.step();
  }
}

// --- what exists, and taking it down ------------------------------------------------------------

export interface LabState {
  readonly id: string;
  readonly name: string;
  readonly ready: boolean;
  /** Every KEY=VALUE line, in order (keys repeat: NS_CREATED, FORWARDER). */
  readonly lines: readonly [string, string][];
}

export function readLabState(id: string): LabState | null {
  let text: string;
  try {
    text = readFileSync(stateFile(id), 'utf8');
  } catch {
    return null;
  }
  const lines = text
    .split('\n')
    .filter((l) => l.includes('='))
    .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)] as [string, string]);
  const get = (k: string) => lines.find(([key]) => key === k)?.[1];
  return { id, name: get('LAB_NAME') ?? id, ready: get('LAB_READY') === '1', lines };
}

/** A FORWARDER line of a state file, NAME:PID:LOG; a part the line lost (cut short) is null. */
export function forwarderRecord(value: string): { name: string; pid: number | null; log: string | null } {
  const [name = '', pid, log] = value.split(':');
  return { name, pid: pid !== undefined && /^\d+$/.test(pid) ? Number(pid) : null, log: log ?? null };
}

export function listLabs(): LabState[] {
  let files: string[];
  try {
    files = readdirSync(runDir());
  } catch {
    return [];
  }
  return files
    .map((f) => /^lab-([0-9a-z]{1,6})\.env$/.exec(f)?.[1])
    .filter((id): id is string => id !== undefined)
    .map((id) => readLabState(id))
    .filter((s): s is LabState => s !== null);
}

/** The lab a user named, by id or by name; one sentence when there is none, or several. */
export function findLab(nameOrId: string): LabState {
  const labs = listLabs();
  const byId = labs.find((l) => l.id === nameOrId);
  if (byId !== undefined) return byId;
  const named = labs.filter((l) => l.name === nameOrId);
  const [only] = named;
  if (only !== undefined && named.length === 1) return only;
  if (only !== undefined)
    throw new TapyardError(
      'EUSAGE',
      `${named.length} labs are named ${nameOrId} (ids ${named.map((l) => l.id).join(', ')}): say which id`,
    );
  throw new TapyardError('EUSAGE', `no lab ${nameOrId} here (see: tapyard lab status)`);
}

const alive = (pid: number, mark: string) => {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(mark);
  } catch {
    return false;
  }
};

function stop(pid: number, mark: string, signal: NodeJS.Signals): void {
  if (!alive(pid, mark)) return;
  try {
    process.kill(pid, signal);
  } catch {
    return;
  }
  for (let n = 0; n < 60 && alive(pid, mark); n++) sleepSync(50);
  if (alive(pid, mark)) process.kill(pid, 'SIGKILL');
}

/**
 * Remove what the state file records, then the file: the forwarders and the VM (only while their
 * command lines still name this lab), the namespaces (only ty-ID-*). Never anything else.
 * Returns the last lines each forwarder wrote (its final counters).
 */
export function teardown(id: string): string[] {
  const state = readLabState(id);
  if (state === null) return [];
  const said: string[] = [];
  for (const [key, value] of state.lines) {
    if (key !== 'FORWARDER') continue;
    const { name: fname, pid, log } = forwarderRecord(value);
    if (pid !== null) stop(pid, `ty-${id}-`, 'SIGINT');
    if (log === null) continue;
    try {
      const text = readFileSync(log, 'utf8').trim().split('\n');
      said.push(...text.slice(-3).map((l) => `forwarder ${fname}: ${l.replace(/^tapyard: /, '')}`));
    } catch {
      // the log was never written
    }
    if (log.startsWith(join(runDir(), `lab-${id}-`))) rmSync(log, { force: true });
  }
  const vmDir = state.lines.find(([k]) => k === 'VM_DIR')?.[1];
  const vmPid = state.lines.find(([k]) => k === 'VM_PID')?.[1];
  if (vmDir?.startsWith(`/tmp/ty-${id}-vm.`)) {
    if (vmPid !== undefined) stop(Number(vmPid), `${vmDir}/`, 'SIGTERM');
    // tapyard as the VM's backend, only while it still serves this lab's socket.
    const backend = state.lines.find(([k]) => k === 'TAPYARD_PID')?.[1];
    if (backend !== undefined) stop(Number(backend), `${vmDir}/`, 'SIGINT');
    rmSync(vmDir, { recursive: true, force: true });
  }
  const existing = new Set(namespaces());
  for (const [key, ns] of state.lines) {
    if (key !== 'NS_CREATED' || !ns.startsWith(`ty-${id}-`) || !existing.has(ns)) continue;
    removeNamespace(ns);
  }
  rmSync(stateFile(id), { force: true });
  return said;
}
