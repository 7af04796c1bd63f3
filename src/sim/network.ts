// Switches cabled together, for following one frame through all of them: what `tapyard trace`
// prints and what the conformance tests predict. Every hop calls the same decide() the
// forwarder calls; this file only carries copies from an output port to the port cabled to it.
// A port with nothing cabled to it has a station behind it, which receives the copy.

import { TapyardError } from '../error.js';
import { EthernetView } from '../frame/ethernet.js';
import { Decision, type Switch, type TraceStep } from '../switch/decision.js';
import type { CopyKind } from './copy-kind.js';

export interface Hop {
  /** The switch the copy entered, and by which port. */
  at: string;
  ingress: string;
  steps: TraceStep[];
  outputs: { port: string; reason: string }[];
  drop: string | null;
}

export interface Delivery {
  station: string;
  /** Why the last switch sent this copy to the station. */
  reason: string;
  /** Switches the copy went through, in order. */
  path: string[];
  /** How the receiving station's stack classifies the copy (set by the lab, which knows the MACs). */
  kind?: CopyKind;
}

export interface Journey {
  hops: Hop[];
  deliveries: Delivery[];
}

/** Far more hops than any topology here needs; a copy past it means a forwarding loop. */
const MAX_HOPS = 64;

interface Node {
  sw: Switch;
  ports: readonly string[];
}

export class Network {
  private readonly nodes = new Map<string, Node>();
  private readonly cables = new Map<string, { node: string; port: number }>();

  /** Add a switch already bound to `ports` (its port names, in index order). */
  add(name: string, sw: Switch, ports: readonly string[]): void {
    if (this.nodes.has(name)) throw new TapyardError('EUSAGE', `two switches named ${name}`);
    this.nodes.set(name, { sw, ports });
  }

  /** Cable port `a` of one switch to port `b` of another ("switch/port"). */
  cable(a: string, b: string): void {
    const pa = this.resolve(a);
    const pb = this.resolve(b);
    this.cables.set(a, pb);
    this.cables.set(b, pa);
  }

  /** The station behind an uncabled port, named after the port. */
  stations(): string[] {
    const out: string[] = [];
    for (const [name, node] of this.nodes)
      for (const port of node.ports) if (!this.cables.has(`${name}/${port}`)) out.push(port);
    return out;
  }

  /** Where a station's frames enter the network. */
  attachment(station: string): { node: string; port: number } {
    for (const [name, node] of this.nodes) {
      const port = node.ports.indexOf(station);
      if (port >= 0 && !this.cables.has(`${name}/${station}`)) return { node: name, port };
    }
    throw new TapyardError('EUSAGE', `no station named ${station} (stations: ${this.stations().join(', ')})`);
  }

  /** Send `bytes` from a station and follow every copy until it reaches a station or is dropped. */
  send(station: string, bytes: Uint8Array, trace = true): Journey {
    const frame = new EthernetView();
    const err = frame.parse(bytes, 0, bytes.length);
    if (err !== null) throw new TapyardError('EFRAME', `the frame is not valid Ethernet: ${err}`);
    const start = this.attachment(station);
    const journey: Journey = { hops: [], deliveries: [] };
    const queue: { node: string; port: number; path: string[] }[] = [{ ...start, path: [] }];
    while (queue.length > 0) {
      const at = queue.shift()!;
      if (journey.hops.length >= MAX_HOPS)
        throw new TapyardError('ELOOP', `the frame is still being forwarded after ${MAX_HOPS} hops: a loop`);
      const node = this.nodes.get(at.node)!;
      const decision = new Decision();
      if (trace) decision.steps = [];
      node.sw.decide(at.port, frame, decision.reset());
      const hop: Hop = {
        at: at.node,
        ingress: node.ports[at.port]!,
        steps: decision.steps ?? [],
        outputs: decision.outputs.map((p, i) => ({ port: node.ports[p]!, reason: decision.reasons[i]! })),
        drop: decision.drop,
      };
      journey.hops.push(hop);
      const path = [...at.path, at.node];
      decision.outputs.forEach((p, i) => {
        const portName = node.ports[p]!;
        const peer = this.cables.get(`${at.node}/${portName}`);
        if (peer === undefined) journey.deliveries.push({ station: portName, reason: decision.reasons[i]!, path });
        else queue.push({ ...peer, path });
      });
    }
    return journey;
  }

  private resolve(ref: string): { node: string; port: number } {
    const slash = ref.indexOf('/');
    const node = this.nodes.get(ref.slice(0, slash));
    const port = node?.ports.indexOf(ref.slice(slash + 1)) ?? -1;
    if (slash < 0 || node === undefined || port < 0) throw new TapyardError('EUSAGE', `no switch port ${ref}`);
    return { node: ref.slice(0, slash), port };
  }
}

/** How many copies each station received. */
export function countDeliveries(journey: Journey): Map<string, number> {
  const counts = new Map<string, number>();
  for (const d of journey.deliveries) counts.set(d.station, (counts.get(d.station) ?? 0) + 1);
  return counts;
}
