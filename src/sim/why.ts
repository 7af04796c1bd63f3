// "Why can't A reach B?", answered by running the models: send the frames a ping needs (or one
// given frame) through a lab, find the hop where the copy for B was lost and why, then try
// changes to the lab one by one (hairpin on the switch, another mode, an on-host macvlan,
// trust-guest-rx-filters, allmulti) and keep those that make every frame arrive. Nothing is
// written down per case: an answer is what the re-run model says.

import { TapyardError } from '../error.js';
import { isAccepted, RxFilter } from '../filter/rx-filter.js';
import { EthernetView, EtherType } from '../frame/ethernet.js';
import { BROADCAST, formatMac, isGroup, type Mac } from '../mac.js';
import { describeReason } from '../reason.js';
import type { BridgePortConfig } from '../switch/learning-bridge.js';
import { type EndpointConfig, MacvlanReason } from '../switch/macvlan.js';
import { TOWARD_LOWER } from './hairpin-switch.js';
import type { Hop, Journey } from './network.js';
import { probeFrame } from './probe-frame.js';
import { BridgeLab, EXT, HOST, LINUX_DEFAULT_GROUPS, MacvlanLab, type Wire } from './topology.js';

/** The OS behind a station's NIC, as far as its virtio-net receive filter goes. */
export interface Guest {
  /** Groups the guest joined (its MAC table's multicast part), beside the ones Linux joins itself. */
  groups: readonly Mac[];
  allmulti?: boolean;
  promisc?: boolean;
}

interface Common {
  /** Station → the guest behind it: copies that reach the station then pass its receive filter. */
  guests: ReadonlyMap<string, Guest>;
}

export interface MacvtapSetup extends Common {
  path: 'macvtap';
  endpoints: readonly EndpointConfig[];
  wire: Wire;
  lowerUnicastFilter?: boolean;
  bcCutoff?: number;
  /** Endpoints whose macvtap mirrors its guest's filter (libvirt's trustGuestRxFilters='yes'). */
  trusted: ReadonlySet<string>;
}

export interface BridgeSetup extends Common {
  path: 'bridge';
  ports: readonly BridgePortConfig[];
}

export type Setup = MacvtapSetup | BridgeSetup;

export interface Question {
  from: string;
  to: string;
  /** One frame to this destination (a station, or a MAC); null: the frames a ping needs. */
  dst: string | Mac | null;
}

export interface FrameResult {
  /** What the frame is, e.g. "ARP request (broadcast) from a". */
  name: string;
  from: string;
  /** The station that must get it. */
  to: string;
  dst: string;
  reached: boolean;
  /** The sentence saying where and why it was lost; null when it arrived. */
  lost: string | null;
  /** Earlier hops that could have sent it toward the target and did not. */
  passedBy: string[];
  /** Why no hop could have helped, when that is the real cause (macvlan never sees the host's frames). */
  cause: string | null;
  copies: Record<string, number>;
  hops: Hop[];
}

export interface Fix {
  /** What to change, as a sentence. */
  change: string;
  /** True when every frame then arrives. */
  helps: boolean;
  /** When it does not help: the first frame still lost, and why. */
  stillLost: string | null;
  /** When the kernel would refuse the change itself (e.g. a second macvlan beside passthru): its reason. */
  refused?: string;
}

export interface Answer {
  path: 'macvtap' | 'bridge';
  topology: string;
  question: Question;
  reached: boolean;
  frames: FrameResult[];
  /** Changes that make every frame arrive: single ones, and pairs of changes that are not enough alone. */
  fixes: Fix[];
  /** Single changes that were tried and do not suffice. */
  tried: Fix[];
}

/** The name an on-host macvlan gets when the fix moves the host's address onto one. */
export const HOST_MACVLAN = 'hostmv';

// --- running one setup ----------------------------------------------------------------------

interface Built {
  lab: MacvlanLab | BridgeLab;
  filters: Map<string, RxFilter>;
}

function endpointWithTrust(e: EndpointConfig, setup: MacvtapSetup): EndpointConfig {
  const guest = setup.guests.get(e.name);
  if (!setup.trusted.has(e.name) || guest === undefined) return e;
  // qemuDomainSyncRxFilter: the guest's multicast list, allmulti and promisc onto the macvtap.
  return {
    ...e,
    groups: [...new Set([...(e.groups ?? []), ...guest.groups])],
    allmulti: (e.allmulti ?? false) || (guest.allmulti ?? false),
    promisc: (e.promisc ?? false) || (guest.promisc ?? false),
  };
}

function build(setup: Setup): Built {
  const lab =
    setup.path === 'macvtap'
      ? new MacvlanLab({
          endpoints: setup.endpoints.map((e) => endpointWithTrust(e, setup)),
          wire: setup.wire,
          ...(setup.lowerUnicastFilter === undefined ? {} : { lowerUnicastFilter: setup.lowerUnicastFilter }),
          ...(setup.bcCutoff === undefined ? {} : { bcCutoff: setup.bcCutoff }),
        })
      : new BridgeLab({ ports: setup.ports });
  const filters = new Map<string, RxFilter>();
  for (const [station, guest] of setup.guests) {
    const mac = lab.macs.get(station);
    if (mac === undefined) throw new TapyardError('EUSAGE', `why: --guest ${station} is not a station of the lab`);
    // The guest NIC carries the station's MAC; a booted Linux guest turned promisc off and
    // programmed the groups it joined.
    const f = new RxFilter(mac);
    f.setFeatures({ ctrlVlan: false });
    f.setRxMode('promisc', guest.promisc ?? false);
    f.setRxMode('allmulti', guest.allmulti ?? false);
    f.setMacTable([], [...new Set([...LINUX_DEFAULT_GROUPS, ...guest.groups])]);
    filters.set(station, f);
  }
  return { lab, filters };
}

interface Probe {
  name: string;
  from: string;
  to: string;
  dst: Mac;
  dstText: string;
  etherType: number;
}

/** The frames a ping from A to B needs, in the order they cross: ARP both ways, then ICMP. */
function probes(q: Question, macs: ReadonlyMap<string, Mac>): Probe[] {
  const mac = (s: string) => macs.get(s)!;
  if (q.dst !== null) {
    const dst = typeof q.dst === 'number' ? q.dst : (macs.get(q.dst) ?? null);
    if (dst === null) throw new TapyardError('EUSAGE', `why: --dst ${q.dst} is not a station`);
    const dstText = typeof q.dst === 'number' ? formatMac(q.dst) : q.dst;
    return [
      { name: `the frame to ${dstText}`, from: q.from, to: q.to, dst, dstText, etherType: EtherType.EXPERIMENTAL },
    ];
  }
  return [
    {
      name: `ARP request (broadcast) from ${q.from}`,
      from: q.from,
      to: q.to,
      dst: BROADCAST,
      dstText: 'broadcast',
      etherType: EtherType.ARP,
    },
    {
      name: `ARP reply ${q.to} → ${q.from}`,
      from: q.to,
      to: q.from,
      dst: mac(q.from),
      dstText: q.from,
      etherType: EtherType.ARP,
    },
    {
      name: `echo request ${q.from} → ${q.to}`,
      from: q.from,
      to: q.to,
      dst: mac(q.to),
      dstText: q.to,
      etherType: EtherType.IPV4,
    },
    {
      name: `echo reply ${q.to} → ${q.from}`,
      from: q.to,
      to: q.from,
      dst: mac(q.from),
      dstText: q.from,
      etherType: EtherType.IPV4,
    },
  ];
}

/** The port of `node` that leads to `target`, in the two labs: its own port, or the cable to the lower. */
function portToward(lab: MacvlanLab | BridgeLab, node: string, target: string): string {
  return lab.network.attachment(target).node === node ? target : TOWARD_LOWER;
}

function describeOutputs(hop: Hop): string {
  if (hop.outputs.length === 0)
    return hop.drop === null ? 'sent it nowhere' : `dropped it: ${describeReason(hop.drop)}`;
  const seen = new Map<string, string[]>();
  for (const o of hop.outputs) {
    const text = describeReason(o.reason);
    seen.set(text, [...(seen.get(text) ?? []), o.port]);
  }
  return `sent it only to ${[...seen].map(([reason, ports]) => `${ports.join(' and ')} (${reason})`).join('; ')}`;
}

function hopName(hop: Hop, index: number): string {
  return `[${index + 1}] ${hop.at}, in from ${hop.ingress}`;
}

/** Where the copy for `target` was lost: the last hop that could have sent it that way. */
function findLoss(journey: Journey, lab: MacvlanLab | BridgeLab, target: string): { lost: string; passedBy: string[] } {
  const misses: { hop: Hop; index: number; toward: string }[] = [];
  journey.hops.forEach((hop, index) => {
    const toward = portToward(lab, hop.at, target);
    if (!hop.outputs.some((o) => o.port === toward)) misses.push({ hop, index, toward });
  });
  const sentence = ({ hop, index, toward }: (typeof misses)[number]) => {
    // What the hop noticed about the target or, inside macvlan, about the frame on the lower.
    // (those about the frame on the lower only when none is about the target itself).
    const own = hop.steps.filter((s) => s.at === target);
    const notes = (own.length > 0 ? own : hop.steps.filter((s) => hop.at === 'macvlan' && s.at === 'lower')).map(
      (s) => `${describeReason(s.reason)}${s.detail === undefined ? '' : ` (${s.detail})`}`,
    );
    const saidHairpin = [hop.drop ?? '', ...hop.outputs.map((o) => o.reason)].some((r) =>
      describeReason(r).includes('hairpin'),
    );
    const back =
      toward === hop.ingress && !saidHairpin
        ? `: ${target} lies back through ${toward}, the port the frame came in by, and this switch does not ` +
          'send a frame back out its ingress port (hairpin is off there)'
        : '';
    return `${hopName(hop, index)}: ${describeOutputs(hop)}${back}${notes.length > 0 ? `; ${notes.join('; ')}` : ''}`;
  };
  const last = misses.at(-1);
  if (last === undefined) return { lost: `no hop sent it toward ${target}`, passedBy: [] };
  return { lost: sentence(last), passedBy: misses.slice(0, -1).map(sentence) };
}

/**
 * Between the host stack and its own lower's endpoints the loss is not at the switch that fails to
 * send the frame back: macvlan never sees what the host sends, nor passes an endpoint's frame up to
 * the host. The answer leads with that, then names the hop.
 */
function realCause(setup: Setup, journey: Journey, p: Probe): string | null {
  if (setup.path !== 'macvtap') return null;
  const endpoint = (s: string) => setup.endpoints.some((e) => e.name === s);
  const hostSent = journey.hops[0]?.outputs.some((o) => o.reason === MacvlanReason.HOST_TX) ?? false;
  if (p.from === HOST && endpoint(p.to) && hostSent)
    return (
      `the host's frames leave through the lower and macvlan never sees them, so ${p.to} gets one only if ` +
      'something outside sends it back'
    );
  if (endpoint(p.from) && p.to === HOST)
    return (
      `macvlan never passes ${p.from}'s frames up to the host stack that owns the lower: they leave by the ` +
      'lower, and come back only if something outside sends them back'
    );
  return null;
}

function runFrames(setup: Setup, q: Question): FrameResult[] {
  return runProbes(setup, q).frames.map((f) => f.result);
}

/** A frame of the answer with the bytes the model sent (what `--verify` sends again). */
export interface SentFrame {
  result: FrameResult;
  bytes: Uint8Array;
}

/** The frames of the question through the model, with the lab's stations and their MACs. */
export function runProbes(setup: Setup, q: Question): { macs: ReadonlyMap<string, Mac>; frames: SentFrame[] } {
  const { lab, filters } = build(setup);
  const passthru = setup.path === 'macvtap' ? setup.endpoints.find((e) => e.mode === 'passthru') : undefined;
  for (const s of [q.from, q.to])
    if (!lab.macs.has(s))
      throw new TapyardError(
        'EUSAGE',
        passthru === undefined
          ? `why: no station named ${s} (stations: ${lab.stations().join(', ')})`
          : `why: passthru allows one endpoint on a lower (${passthru.name} takes the NIC alone), so there is no ` +
              `${s}: ask about ${passthru.name} with host or ext`,
      );
  if (q.from === q.to) throw new TapyardError('EUSAGE', `why: --from and --to are both ${q.from}`);
  const view = new EthernetView();
  // One lab for the whole exchange: what the switches learn from the ARP request decides
  // where the replies go, as in the kernel.
  const frames = probes(q, lab.macs).map((p) => {
    const bytes = probeFrame(p.dst, lab.mac(p.from), p.etherType);
    const journey = lab.send(p.from, bytes);
    const copies: Record<string, number> = {};
    for (const d of journey.deliveries) copies[d.station] = (copies[d.station] ?? 0) + 1;
    let reached = (copies[p.to] ?? 0) > 0;
    let lost: string | null = null;
    let passedBy: string[] = [];
    let cause: string | null = null;
    if (reached) {
      const filter = filters.get(p.to);
      view.parse(bytes, 0, bytes.length);
      const verdict = filter?.check(view);
      if (verdict !== undefined && !isAccepted(verdict)) {
        reached = false;
        lost = `it reached ${p.to}, whose guest NIC (virtio-net receive filter) refused it: ${verdict}`;
      }
    } else {
      ({ lost, passedBy } = findLoss(journey, lab, p.to));
      cause = realCause(setup, journey, p);
      // The hop that only handed the frame to the lower is the cause, said already.
      if (cause !== null) passedBy = passedBy.filter((h) => !h.includes(describeReason(MacvlanReason.HOST_TX)));
    }
    const result = {
      name: p.name,
      from: p.from,
      to: p.to,
      dst: p.dstText,
      reached,
      lost,
      cause,
      passedBy,
      copies,
      hops: journey.hops,
    };
    return { result, bytes };
  });
  return { macs: lab.macs, frames };
}

// --- what could change the answer -----------------------------------------------------------

interface Candidate {
  change: string;
  apply(setup: Setup, q: Question): { setup: Setup; question: Question } | null;
}

/** Multicast filters only matter for a frame to a group that is not broadcast. */
const isMulticastQuestion = (q: Question) => typeof q.dst === 'number' && isGroup(q.dst) && q.dst !== BROADCAST;

const isEndpoint = (setup: Setup, name: string) =>
  setup.path === 'macvtap' && setup.endpoints.some((e) => e.name === name);

function withEndpoints(setup: MacvtapSetup, map: (e: EndpointConfig) => EndpointConfig): MacvtapSetup {
  return { ...setup, endpoints: setup.endpoints.map(map) };
}

function involvedEndpoints(setup: MacvtapSetup, q: Question): EndpointConfig[] {
  return setup.endpoints.filter((e) => e.name === q.from || e.name === q.to);
}

function modeChange(mode: 'bridge' | 'vepa'): Candidate {
  return {
    change: `put the endpoints involved in ${mode} mode (ip link set MACVTAP type macvtap mode ${mode})`,
    apply(setup, q) {
      if (setup.path !== 'macvtap') return null;
      const names = involvedEndpoints(setup, q)
        .filter((e) => (e.mode ?? 'vepa') !== mode)
        .map((e) => e.name);
      if (names.length === 0) return null;
      // Passthru must be alone; it has no siblings to change anyway.
      if (setup.endpoints.some((e) => e.mode === 'passthru')) return null;
      return {
        setup: withEndpoints(setup, (e) => (names.includes(e.name) ? { ...e, mode } : e)),
        question: q,
      };
    },
  };
}

const CANDIDATES: readonly Candidate[] = [
  {
    change:
      'turn on hairpin (802.1Qbg reflective relay) on the switch port toward the lower ' +
      '(bridge link set dev PORT hairpin on)',
    apply(setup, q) {
      if (setup.path !== 'macvtap' || setup.wire === 'hairpin') return null;
      return { setup: { ...setup, wire: 'hairpin' }, question: q };
    },
  },
  modeChange('bridge'),
  modeChange('vepa'),
  {
    change:
      'give the host its address on an on-host macvlan in bridge mode on the same lower, not on the lower ' +
      `itself (ip link add link LOWER name ${HOST_MACVLAN} type macvlan mode bridge)`,
    apply(setup, q) {
      if (setup.path !== 'macvtap' || (q.from !== HOST && q.to !== HOST)) return null;
      const swap = (s: string) => (s === HOST ? HOST_MACVLAN : s);
      return {
        setup: {
          ...setup,
          endpoints: [...setup.endpoints, { name: HOST_MACVLAN, mode: 'bridge', groups: LINUX_DEFAULT_GROUPS }],
        },
        question: { ...q, from: swap(q.from), to: swap(q.to), dst: q.dst === HOST ? HOST_MACVLAN : q.dst },
      };
    },
  },
  {
    change: "let the macvtap mirror its guest's receive filter (libvirt: trustGuestRxFilters='yes' on the interface)",
    apply(setup, q) {
      if (!isMulticastQuestion(q) || setup.path !== 'macvtap' || !setup.guests.has(q.to)) return null;
      if (setup.trusted.has(q.to) || !isEndpoint(setup, q.to)) return null;
      return { setup: { ...setup, trusted: new Set([...setup.trusted, q.to]) }, question: q };
    },
  },
  {
    change: 'turn on all-multicast on the macvtap (ip link set MACVTAP allmulticast on)',
    apply(setup, q) {
      if (!isMulticastQuestion(q) || setup.path !== 'macvtap' || !isEndpoint(setup, q.to)) return null;
      if (setup.endpoints.find((e) => e.name === q.to)?.allmulti) return null;
      return { setup: withEndpoints(setup, (e) => (e.name === q.to ? { ...e, allmulti: true } : e)), question: q };
    },
  },
  {
    change: 'turn on all-multicast in the guest (ip link set dev eth0 allmulticast on, inside it)',
    apply(setup, q) {
      const guest = setup.guests.get(q.to);
      if (!isMulticastQuestion(q) || guest === undefined || guest.allmulti) return null;
      return {
        setup: { ...setup, guests: new Map([...setup.guests, [q.to, { ...guest, allmulti: true }]]) },
        question: q,
      };
    },
  },
  {
    change: 'let the guest join the group (e.g. ip maddr add, or a socket joining it)',
    apply(setup, q) {
      const guest = setup.guests.get(q.to);
      if (guest === undefined || typeof q.dst !== 'number' || !isGroup(q.dst) || guest.groups.includes(q.dst))
        return null;
      return {
        setup: { ...setup, guests: new Map([...setup.guests, [q.to, { ...guest, groups: [...guest.groups, q.dst] }]]) },
        question: q,
      };
    },
  },
];

/** The frames of a changed setup, or the kernel's refusal of the change (the model refuses what it would). */
function refusal(run: () => FrameResult[]): FrameResult[] | string {
  try {
    return run();
  } catch (err) {
    if (err instanceof TapyardError) return err.message;
    throw err;
  }
}

function firstLoss(frames: readonly FrameResult[]): string | null {
  const f = frames.find((r) => !r.reached);
  return f === undefined ? null : `${f.name} still does not reach ${f.to}: ${f.lost}`;
}

/** Answer the question for one setup, and find the changes that would make it work. */
export function why(setup: Setup, question: Question): Answer {
  const frames = runFrames(setup, question);
  const reached = frames.every((f) => f.reached);
  const fixes: Fix[] = [];
  const tried: Fix[] = [];
  if (!reached) {
    const singles: { candidate: Candidate; applied: { setup: Setup; question: Question } }[] = [];
    for (const candidate of CANDIDATES) {
      const applied = candidate.apply(setup, question);
      if (applied === null) continue;
      const after = refusal(() => runFrames(applied.setup, applied.question));
      if (typeof after === 'string') {
        tried.push({ change: candidate.change, helps: false, stillLost: null, refused: after });
        continue;
      }
      singles.push({ candidate, applied });
      const fix = { change: candidate.change, helps: after.every((f) => f.reached), stillLost: firstLoss(after) };
      (fix.helps ? fixes : tried).push(fix);
    }
    // Two changes that are not enough alone may be together (an on-host macvlan in bridge mode
    // needs the guest's macvtap in bridge mode too): try every such pair, the first applied
    // before the second.
    const alone = new Set(tried.map((f) => f.change));
    const weak = singles.filter(({ candidate }) => alone.has(candidate.change));
    for (const { candidate, applied } of weak) {
      for (const { candidate: second } of weak.slice(weak.findIndex((w) => w.candidate === candidate) + 1)) {
        const both = second.apply(applied.setup, applied.question);
        if (both === null) continue;
        const after = refusal(() => runFrames(both.setup, both.question));
        if (typeof after !== 'string' && after.every((f) => f.reached))
          fixes.push({ change: `${candidate.change}, and ${second.change}`, helps: true, stillLost: null });
      }
    }
  }
  return { path: setup.path, topology: describeSetup(setup), question, reached, frames, fixes, tried };
}

export function describeSetup(setup: Setup): string {
  const guests = [...setup.guests].map(([s, g]) => {
    const extra = [...g.groups.map(formatMac), ...(g.allmulti ? ['allmulti'] : []), ...(g.promisc ? ['promisc'] : [])];
    return `${s}'s guest${extra.length > 0 ? ` (${extra.join(', ')})` : ''}`;
  });
  const behind = guests.length > 0 ? `; ${guests.join(', ')}` : '';
  if (setup.path === 'bridge') {
    const ports = setup.ports.map((p) => p.name).join(', ');
    return `bridge path: ${ports} on a Linux bridge; host is the bridge's own stack${behind}`;
  }
  const wire =
    setup.wire === 'direct'
      ? 'ext directly'
      : setup.wire === 'hairpin'
        ? 'a switch with hairpin on'
        : 'a switch, hairpin off';
  const eps = setup.endpoints.map(
    (e) =>
      `${e.name} (${e.mode ?? 'vepa'}${setup.trusted.has(e.name) ? ', trusts its guest' : ''}` +
      `${e.allmulti ? ', allmulti' : ''})`,
  );
  return `macvtap path: ${eps.join(', ')} on one lower owned by host; the lower cabled to ${wire}${behind}`;
}

/** The same stations on the other path: every endpoint a tap on a Linux bridge with the NIC (ext). */
export function bridgeTwin(setup: MacvtapSetup): BridgeSetup {
  return {
    path: 'bridge',
    ports: [...setup.endpoints.map((e) => ({ name: e.name })), { name: EXT }],
    guests: setup.guests,
  };
}
