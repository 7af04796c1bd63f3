// `tapyard forward`'s command line, declared: the flags, the port specs and the switch become
// one frozen ForwardConfig before any device is opened.

import { flagHelp, HELP_FLAG, onOff, parseCommandLine, repeated, valued } from '../grammar/argv.js';
import { Options } from '../grammar/keys.js';
import { quote } from '../grammar/quote.js';
import { integer, oneOf, seconds, text, usageError } from '../grammar/value.js';
import { DEFAULT_BUDGET } from '../port/port.js';
import { SWITCH_KINDS, type SwitchConfig, type SwitchKind } from '../switch/roles.js';
import type { VlanConfig } from '../vlan/vlan-port.js';
import { type PortConfig, parsePortSpec, portHelp } from './port.js';
import { switchConfig, switchHelp } from './switch.js';
import { VLAN_PROTO_NAMES, vlanConfig } from './vlan.js';

/** Each queue is a thread with its own loop; more than there are cores only adds switching. */
export const MAX_QUEUES = 16;
/** The ports a busy-polling loop can read without waiting for readiness. */
const BUSY_POLLED: readonly string[] = ['macvtap', 'tap', 'vhost-user'];

export const FORWARD_FLAGS = {
  port: repeated('port', text('SPEC'), 'NAME=KIND:TARGET[,key=value...], at least two'),
  switch: valued('switch', text('KIND'), `${SWITCH_KINDS.join(', ')}[,key=value] (cross for two ports, hub for more)`),
  budget: valued('budget', integer(1, 1024), 'frames read per port per turn', String(DEFAULT_BUDGET)),
  offload: onOff('offload', 'offload=on for every macvtap, tap and vhost-user port'),
  busyPoll: onOff('busy-poll', 'never sleep: lower latency, one core always busy (macvtap, tap, vhost-user ports)'),
  capture: valued('capture', text('FILE'), 'write every frame read to pcapng, one interface per port (- for stdout)'),
  captureError: valued(
    'capture-error',
    oneOf(['warn', 'stop'] as const),
    'a capture that cannot be written (full disk, closed pipe): warn and forward on, or stop with counters',
    'warn',
  ),
  user: valued('user', text('NAME', 32), 'give up root for this user once every device is open (as QEMU -runas)'),
  stats: onOff('stats', 'print a line of rates every second'),
  inject: onOff(
    'inject',
    'read frames to inject from stdin, one JSON object per line {"port":NAME,"hex":BYTES}: each is ' +
      'switched as if read on that port (counted as its rx) and answered with a {"type":"injected"} line ' +
      '(a line is at most 256 KiB); the run ends with its input, or when the process that started it ends',
  ),
  vlanProto: valued(
    'vlan-proto',
    oneOf(VLAN_PROTO_NAMES),
    'the tag that vlan=/trunk= ports read and push; 802.1ad S-tags: a provider bridge (QinQ)',
    '802.1q',
  ),
  json: onOff('json', 'counters as JSON: with --stats one object per second, and always the final one'),
  kernelReasons: onOff(
    'kernel-reasons',
    "name the kernel's own drop reason and function for each drop on a macvtap or tap port's device " +
      '(skb:kfree_skb through BPF; needs root and bpftrace)',
  ),
  duration: valued('duration', seconds(), 'stop after S seconds'),
  queues: valued(
    'queues',
    integer(1, MAX_QUEUES),
    "QEMU's queues=N: open every port N times (macvtap, or tap with mq) and forward each queue on its own thread",
    '1',
  ),
  help: HELP_FLAG,
} as const;

export interface ForwardConfig {
  readonly ports: readonly PortConfig[];
  readonly switch: SwitchConfig;
  /** The VLAN layer, when the ports are VLAN-aware (vlan=, trunk=); null: frames pass as they are. */
  readonly vlan: VlanConfig | null;
  readonly budget: number;
  readonly busyPoll: boolean;
  /** A pcapng file, '-' for standard output, or null. */
  readonly capture: string | null;
  /** What a failed capture does to the run: a side channel never ends it unless asked. */
  readonly captureError: 'warn' | 'stop';
  readonly stats: boolean;
  /** Frames to inject arrive on standard input (src/run/inject-channel.ts). */
  readonly inject: boolean;
  readonly json: boolean;
  /** Watch skb:kfree_skb on the macvtap and tap ports' devices (src/cli/kernel-reasons.ts). */
  readonly kernelReasons: boolean;
  /** Drop root for this user once the ports are open. */
  readonly user: string | null;
  readonly durationS: number | null;
  /** How many times each port is opened, one forwarding thread per queue (src/run/queue-set.ts). */
  readonly queues: number;
}

/** The typed configuration, or null when --help was asked for. */
export function readForwardConfig(argv: readonly string[]): ForwardConfig | null {
  const { values, positionals } = parseCommandLine(argv, FORWARD_FLAGS);
  if (values.help) return null;
  const [extra] = positionals;
  if (extra !== undefined) throw usageError(`forward takes no argument ${quote(extra)}`);
  const specs = values.port;
  if (specs.length < 2) {
    // A malformed spec is the better sentence to give.
    for (const spec of specs) parsePortSpec(spec, 'cross');
    throw usageError('forward needs at least two --port NAME=KIND:TARGET');
  }
  const defaultKind = specs.length === 2 ? 'cross' : 'hub';
  const [kindText = defaultKind, ...switchParts] = values.switch === undefined ? [] : values.switch.split(',');
  if (!(SWITCH_KINDS as readonly string[]).includes(kindText)) {
    throw usageError(`--switch ${quote(kindText)} is not a switch (${SWITCH_KINDS.join(', ')})`);
  }
  const kind = kindText as SwitchKind;
  const ports = specs.map((spec) => parsePortSpec(values.offload ? withOffload(spec) : spec, kind));
  const names = new Set<string>();
  const devices = new Map<string, string>();
  for (const p of ports) {
    if (names.has(p.name)) throw usageError(`two ports are named ${quote(p.name)}`);
    names.add(p.name);
    // One device twice would split its flows between two ports (or fight over one tap).
    const d = p.device;
    if (d.kind === 'tap' && d.mq) continue; // the queues of a multi-queue tap are meant to be shared
    if (d.kind === 'guest') continue; // in-process: nothing to share
    const target = d.kind === 'qemu' || d.kind === 'vhost-user' ? d.path : d.ifname;
    const family = d.kind === 'pcap' || d.kind === 'qemu' ? d.kind : d.kind === 'vhost-user' ? 'qemu' : 'tun';
    const id = `${family}:${d.kind === 'tap' ? (d.netns ?? '') : ''}:${target}`;
    const other = devices.get(id);
    if (other !== undefined) throw usageError(`ports ${other} and ${p.name} name the same device ${quote(target)}`);
    devices.set(id, p.name);
  }
  if (values.busyPoll) {
    const slow = ports.find((p) => !BUSY_POLLED.includes(p.device.kind));
    if (slow !== undefined) {
      throw usageError(
        `--busy-poll needs macvtap, tap and vhost-user ports; ${slow.name} is a ${slow.device.kind} port`,
      );
    }
  }
  const queues = values.queues ?? 1;
  if (queues > 1) checkQueues(queues, kind, ports, values);
  const sw = switchConfig(
    kind,
    new Options(`--switch ${kind}`, switchParts),
    ports.map((p) => p.role),
    ports.map((p) => p.name),
  );
  if (values.vlanProto !== undefined && ports.every((p) => p.vlan === null))
    throw usageError('--vlan-proto is for VLAN-aware ports (vlan= or trunk= on every port)');
  return Object.freeze({
    ports,
    switch: sw,
    vlan: vlanConfig(ports, values.vlanProto ?? '802.1q'),
    budget: values.budget ?? DEFAULT_BUDGET,
    busyPoll: values.busyPoll,
    capture: values.capture ?? null,
    captureError: values.captureError ?? 'warn',
    stats: values.stats,
    inject: values.inject,
    json: values.json,
    kernelReasons: values.kernelReasons,
    user: values.user ?? null,
    durationS: values.duration ?? null,
    queues,
  });
}

/**
 * What --queues N > 1 needs: every port a device that gives N queues, and a switch without
 * state a thread would have to share. A cross-connect pairs queue i of one port with queue i of
 * the other; a bridge's FDB or a macvlan's table would be split between the threads, each
 * learning half of the flows, so those are refused rather than run subtly wrong.
 */
function checkQueues(
  queues: number,
  kind: SwitchKind,
  ports: readonly PortConfig[],
  values: { capture?: string; inject: boolean; user?: string; kernelReasons: boolean },
): void {
  const flag = `--queues ${queues}`;
  if (values.kernelReasons) throw usageError(`--kernel-reasons is for one queue, not ${flag}`);
  if (kind !== 'cross') {
    throw usageError(`${flag} needs --switch cross (two ports): a ${kind}'s tables would be split between the threads`);
  }
  for (const p of ports) {
    const d = p.device;
    if (d.kind === 'tap' && !d.mq) throw usageError(`${flag}: port ${p.name} is a tap; add mq (a multi-queue tap)`);
    if (d.kind !== 'macvtap' && d.kind !== 'tap') {
      throw usageError(`${flag}: port ${p.name} is a ${d.kind} port, which has one queue (macvtap and tap,mq have N)`);
    }
    if (d.kind === 'macvtap' && d.trustGuestRxFilters) {
      throw usageError(`${flag}: port ${p.name}: trust-guest-rx-filters works on one queue only`);
    }
    // A rate or a loss pattern applies per forwarder: with N threads it would apply N times over.
    if (p.impair !== null) throw usageError(`${flag}: port ${p.name}: impairments work on one queue only`);
  }
  const single = [
    values.capture === undefined ? null : '--capture',
    values.inject ? '--inject' : null,
    values.user === undefined ? null : '--user',
  ].find((f) => f !== null);
  if (single !== undefined) throw usageError(`${flag}: ${single} works on one queue only`);
}

/** --offload is offload=on on every macvtap, tap and vhost-user port that does not say otherwise. */
function withOffload(spec: string): string {
  const kind = /^[^=]*=([a-z-]+):/.exec(spec)?.[1];
  if (kind !== 'macvtap' && kind !== 'tap' && kind !== 'vhost-user') return spec;
  return /,offload(=|,|$)/.test(spec) ? spec : `${spec},offload=on`;
}

export function forwardHelp(): string {
  return `usage: tapyard forward --port NAME=KIND:TARGET[,key=value...] --port ... [options]

Join two or more ports and forward frames between them until Ctrl-C (or --duration).

Options:
${flagHelp(FORWARD_FLAGS).join('\n')}

Ports (KIND:TARGET) and their keys:
${portHelp().join('\n')}

Keys for the switch (--switch bridge or macvlan), on each port:
${switchHelp().join('\n')}
Flags take on|off; a bare flag means on. An unknown key is an error.

Example (in the lab's hypervisor namespace):
  ip netns exec ty-1a2b3-hv tapyard forward \\
      --port wire=macvtap:ty-1a2b3-mvt --port guest=tap:ty-1a2b3-gtp,netns=ty-1a2b3-gst --stats

On exit it prints every port's counters; rx + clones = tx + drops + queued, each drop under a
named reason (docs/drop-reasons.md). --json objects follow docs/forward-output.schema.json.
With --queues N (a cross-connect of macvtap and mq tap ports) each queue is a thread of its own and
the counters add each queue's own ledger (docs/queues.md).
Exit status: 0 when stopped by a signal or --duration, 1 when a device failed or vanished (or a
queue's thread did), 2 on bad usage.`;
}
