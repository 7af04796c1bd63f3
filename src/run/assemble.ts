// Opening a run's ports and wiring its Forwarder, written once: `tapyard forward` (and so the ui,
// whose forwarder is a `forward --inject` child) and each thread of `forward --queues N`
// (src/run/queue-worker.ts) all start here, and follow a device whose address changes
// (follow-address.ts). What happens around the run (signals, output, counters) stays with whoever
// called.

import type { ForwardConfig } from '../config/forward.js';
import { Forwarder, type FrameObserver } from '../engine/forwarder.js';
import type { TapyardError } from '../error.js';
import { buildRxFilter } from '../filter/guest-filter.js';
import { openPort } from '../port/open.js';
import type { Port } from '../port/port.js';
import type { Switch } from '../switch/decision.js';
import { makeSwitch } from '../switch/index.js';
import { followAddresses } from './follow-address.js';

/** What sees every frame (a capture file): it is closed with the ports when the run cannot start. */
export interface RunObserver extends FrameObserver {
  close(): void;
}

export interface AssembleOptions {
  /** Called once every port is open, before the forwarder: the observer of the run, if any. */
  readonly observe?: (ports: readonly Port[]) => RunObserver | undefined;
  /** A port's device changed in a way worth a sentence; forwarding goes on. */
  readonly onNote: (sentence: string) => void;
  /** A port failed for good: the forwarder has stopped itself. */
  readonly onFatal: (error: TapyardError) => void;
}

/** A started run: its open ports (in config order), its switch and its forwarder. */
export interface Assembly {
  readonly ports: readonly Port[];
  readonly switch: Switch;
  readonly forwarder: Forwarder;
  readonly observer: RunObserver | undefined;
}

/**
 * Open every port of CONFIG and start a Forwarder over them. On any failure, whatever was
 * opened is closed again before the error goes on: nothing is left open.
 */
export function assemble(config: ForwardConfig, options: AssembleOptions): Assembly {
  const sw = makeSwitch(config.switch);
  const ports = openAll(config);
  let observer: RunObserver | undefined;
  try {
    observer = options.observe?.(ports);
    const rxFilters = config.ports.map((p, i) =>
      p.rxFilter === null ? null : buildRxFilter(p.name, p.rxFilter, ports[i]!.mac),
    );
    const forwarder = new Forwarder(ports, sw, {
      observer,
      rxFilters,
      busyPoll: config.busyPoll,
      impairments: config.ports.map((p) => p.impair),
      // VLANs decide per frame, with nothing shared between frames: each queue runs its own.
      vlan: config.vlan,
      onNote: options.onNote,
      onFatal: options.onFatal,
    });
    forwarder.start();
    followAddresses({
      ports,
      rxFilters,
      filterMacGiven: config.ports.map((p) => p.rxFilter?.mac != null),
      portMacGiven: config.ports.map((p) => 'mac' in p.device && p.device.mac != null),
      sw,
      onNote: options.onNote,
    });
    return { ports, switch: sw, forwarder, observer };
  } catch (err) {
    observer?.close();
    for (const port of ports) port.close();
    throw err;
  }
}

/**
 * Open every port, in order. A built-in guest without a MAC of its own takes the MAC of the
 * first macvtap, as a VM's NIC takes its macvtap's (macvlan delivers only that MAC's unicast);
 * behind a tap it keeps a MAC of its own (the tap's MAC is the bridge's, for its own stack).
 */
function openAll(config: ForwardConfig): Port[] {
  const ports: (Port | null)[] = config.ports.map(() => null);
  try {
    config.ports.forEach((p, i) => {
      if (p.device.kind !== 'guest') ports[i] = openPort(p.device, config.budget);
    });
    const deviceMac = ports.find((p) => p?.kind === 'macvtap')?.mac ?? null;
    config.ports.forEach((p, i) => {
      if (p.device.kind === 'guest')
        ports[i] = openPort({ ...p.device, mac: p.device.mac ?? deviceMac }, config.budget);
    });
  } catch (err) {
    for (const port of ports) port?.close();
    throw err;
  }
  return ports as Port[];
}
