// Switches cabled together, for following one frame through all of them: what `tapyard trace`
// prints and what the conformance tests predict. Every hop calls the same decide() the
// forwarder calls; this file only carries copies from an output port to the port cabled to it.
// A port with nothing cabled to it has a station behind it, which receives the copy.
//
// A switch may have VLAN-aware ports (a tapyard with vlan=/trunk=, a VLAN-aware external
// switch): the same VlanMembership the forwarder uses gives each copy its VLAN on the way in and
// its tags on the way out, so every copy carries its own bytes and each hop says the tags it saw.

import { TapyardError } from '../error.js';
import { vlanText } from '../frame/describe.js';
import { EthernetView } from '../frame/ethernet.js';
import { Decision, type Switch, type TraceStep } from '../switch/decision.js';
import { VlanReason } from '../vlan/reason.js';
import { VlanAction, VlanMembership } from '../vlan/vlan-membership.js';
import type { VlanConfig } from '../vlan/vlan-port.js';
import type { CopyKind } from './copy-kind.js';

export interface Hop {
  /** The switch the copy entered, and by which port. */
  at: string;
  ingress: string;
  /** The copy's tags as it came in, outer first (`vlan 15`, `s-vlan 100`); empty: untagged. */
  tags: string[];
  steps: TraceStep[];
  outputs: { port: string; reason: string }[];
  drop: string | null;
}

export interface Delivery {
  station: string;
  /** Why the last switch sent this copy to the station (a pass-through tapyard leaves it as it was). */
  reason: string;
  /** The tags on the copy the station received. */
  tags: string[];
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
  vlan: VlanMembership | null;
  /** A tapyard between a guest and its macvtap: it forwards, and the reason that counts is the switch's. */
  passThrough: boolean;
}

export interface NodeOptions {
  vlan?: VlanConfig;
  passThrough?: boolean;
}

export class Network {
  private readonly nodes = new Map<string, Node>();
  private readonly cables = new Map<string, { node: string; port: number }>();

  /** Add a switch already bound to `ports` (its port names, in index order). */
  add(name: string, sw: Switch, ports: readonly string[], options: NodeOptions = {}): void {
    if (this.nodes.has(name)) throw new TapyardError('EUSAGE', `two switches named ${name}`);
    const vlan = options.vlan === undefined ? null : new VlanMembership(options.vlan);
    this.nodes.set(name, { sw, ports, vlan, passThrough: options.passThrough === true });
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
    type Copy = { node: string; port: number; path: string[]; bytes: Uint8Array; reason: string | null };
    const queue: Copy[] = [{ ...start, path: [], bytes, reason: null }];
    for (let at = queue.shift(); at !== undefined; at = queue.shift()) {
      if (journey.hops.length >= MAX_HOPS)
        throw new TapyardError('ELOOP', `the frame is still being forwarded after ${MAX_HOPS} hops: a loop`);
      const node = this.nodes.get(at.node)!;
      frame.parse(at.bytes, 0, at.bytes.length);
      const decision = new Decision();
      if (trace) decision.steps = [];
      decision.reset();
      const hop: Hop = {
        at: at.node,
        ingress: node.ports[at.port]!,
        tags: tagsOf(frame),
        steps: [],
        outputs: [],
        drop: null,
      };
      journey.hops.push(hop);
      const { vlan } = node;
      const refused = vlan?.classify(at.port, frame) ?? null;
      if (refused !== null) {
        hop.drop = refused;
        continue;
      }
      node.sw.decide(at.port, frame, decision);
      hop.steps = decision.steps ?? [];
      hop.drop = decision.drop;
      const path = [...at.path, at.node];
      const pruned: string[] = [];
      decision.outputs.forEach((p, i) => {
        const portName = node.ports[p]!;
        const action = vlan?.action(p) ?? VlanAction.KEEP;
        if (action === VlanAction.PRUNE) {
          pruned.push(portName);
          return;
        }
        const reason = node.passThrough && at.reason !== null ? at.reason : decision.reasons[i]!;
        hop.outputs.push({ port: portName, reason: decision.reasons[i]! });
        const out = vlan === null || action === VlanAction.KEEP ? at.bytes : rewritten(vlan, action, at.bytes);
        const peer = this.cables.get(`${at.node}/${portName}`);
        if (peer === undefined) {
          const view = new EthernetView();
          view.parse(out, 0, out.length);
          journey.deliveries.push({ station: portName, reason, path, tags: tagsOf(view) });
        } else queue.push({ ...peer, path, bytes: out, reason });
      });
      // Only a VLAN-aware node prunes.
      if (vlan !== null && pruned.length > 0) {
        hop.steps.push({
          at: at.node,
          reason: VlanReason.MEMBERS_ONLY,
          detail: `vlan ${vlan.vid}: not to ${pruned.join(', ')}`,
        });
        if (hop.outputs.length === 0 && hop.drop === null) hop.drop = VlanReason.NO_MEMBER_EGRESS;
      }
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

/** A copy with its tag pushed, popped or filled in, as its egress writes it. */
function rewritten(vlan: VlanMembership, action: VlanAction, bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(bytes.length + VlanMembership.growth(action));
  vlan.rewrite(action, bytes, 0, bytes.length, out, 0);
  return out;
}

/** The copy's tags as `describe` writes them, outer first. */
function tagsOf(view: EthernetView): string[] {
  const tags: string[] = [];
  if (view.tagCount > 0) tags.push(vlanText(view.outerTpid, view.outerTci));
  if (view.tagCount > 1) tags.push(vlanText(view.innerTpid, view.innerTci));
  return tags;
}

/** How many copies each station received. */
export function countDeliveries(journey: Journey): Map<string, number> {
  const counts = new Map<string, number>();
  for (const d of journey.deliveries) counts.set(d.station, (counts.get(d.station) ?? 0) + 1);
  return counts;
}
