// The frame `tapyard send` crafts, from the layered grammar (layers.ts) to a FrameSpec for the
// builder (spec/build.ts, emitted by frame/build.ts), which computes every length, EtherType,
// protocol number and checksum.
// One thing waits for the port: a source MAC not given is the port's own, known once it is open.

import { TapyardError } from '../error.js';
import { EtherType } from '../frame/ethernet.js';
import { Icmpv6Type } from '../frame/icmp.js';
import { usageError } from '../grammar/value.js';
import { BROADCAST, type Mac } from '../mac.js';
import { buildFrame, type FrameSpec, type VlanTagSpec } from '../spec/build.js';
import { type Layer, readLayers } from './layers.js';

export interface FrameTemplate {
  /** The spec as written, for messages. */
  readonly text: string;
  /** The frame, with eth.src a placeholder when `srcFromPort`. */
  readonly spec: FrameSpec;
  /** No `eth src=`: the source MAC is the port's. */
  readonly srcFromPort: boolean;
  /** What a receiver would make of the frame that the spec may not mean (it is sent all the same). */
  readonly warnings: readonly string[];
}

/**
 * Neighbour discovery (router and neighbour solicitation and advertisement, redirect): RFC 4861
 * receivers drop these unless the hop limit is 255, the proof they came from the link itself.
 */
const ND_TYPES: ReadonlySet<number> = new Set([
  Icmpv6Type.ROUTER_SOLICITATION,
  Icmpv6Type.ROUTER_ADVERTISEMENT,
  Icmpv6Type.NEIGHBOR_SOLICITATION,
  Icmpv6Type.NEIGHBOR_ADVERTISEMENT,
  Icmpv6Type.REDIRECT,
]);
const ND_HOP_LIMIT = 255;
/** A neighbour solicitation or advertisement carries the 16-byte address it is about after its header. */
const ND_TARGET_LEN = 16;

const WHAT = 'frame spec';
const DEFAULT_PORT = 49152; // the first of IANA's dynamic ports, as a sender's ephemeral port

/** Read a spec into a template; any spec that describes no frame is refused here, in one sentence. */
export function readFrameSpec(text: string): FrameTemplate {
  const layers = readLayers(text, WHAT);
  const at = (kind: Layer['kind']) => layers.findIndex((l) => l.kind === kind);
  const where = (l: Layer, i: number) => `${WHAT}, layer ${i + 1} (${l.kind})`;
  const needed = <T>(l: Layer, i: number, value: T | undefined, key: string, shape: string): T => {
    if (value === undefined) throw usageError(`${where(l, i)}: ${key}= is needed to send (${key}=${shape})`);
    return value;
  };
  const spec: FrameSpec = { eth: { dst: BROADCAST, src: 0 } };
  const tags: VlanTagSpec[] = [];
  let srcFromPort = true;
  const hasNetwork = ['arp', 'ipv4', 'ipv6'].some((k) => at(k as Layer['kind']) >= 0);
  const hasTransport = ['icmp', 'icmpv6', 'udp', 'tcp'].some((k) => at(k as Layer['kind']) >= 0);
  const icmpv6 = layers.find((l) => l.kind === 'icmpv6');
  const ndType = icmpv6?.kind === 'icmpv6' && typeof icmpv6.type === 'number' && ND_TYPES.has(icmpv6.type);
  layers.forEach((l, i) => {
    switch (l.kind) {
      case 'eth':
        if (l.dst !== undefined) spec.eth.dst = l.dst;
        if (l.src !== undefined) {
          spec.eth.src = l.src;
          srcFromPort = false;
        }
        if (l.type !== undefined && hasNetwork)
          throw usageError(`${where(l, i)}: type= is for a frame with no arp/ip layer`);
        if (l.type !== undefined) spec.eth.etherType = l.type;
        if (l.pad !== undefined) spec.padTo = l.pad;
        break;
      case 'vlan':
      case 's-vlan':
        tags.push({
          vid: l.vid,
          pcp: l.pcp ?? 0,
          dei: l.dei ?? false,
          tpid: l.tpid ?? (l.kind === 'vlan' ? EtherType.VLAN : EtherType.QINQ),
        });
        break;
      case 'arp':
        spec.arp = {
          operation: l.op ?? 'request',
          senderIp: l.sender ?? 0,
          targetIp: needed(l, i, l.target, 'target', 'IPV4'),
          ...(l.senderMac === undefined ? {} : { senderMac: l.senderMac }),
          ...(l.targetMac === undefined ? {} : { targetMac: l.targetMac }),
        };
        break;
      case 'ipv4': {
        const src = needed(l, i, l.src, 'src', 'IPV4');
        const dst = needed(l, i, l.dst, 'dst', 'IPV4');
        if (l.proto !== undefined && hasTransport)
          throw usageError(`${where(l, i)}: proto= is for a packet with no icmp/udp/tcp layer`);
        spec.ipv4 = ipv4Spec(l, src, dst);
        break;
      }
      case 'ipv6': {
        const src = needed(l, i, l.src, 'src', 'IPV6');
        const dst = needed(l, i, l.dst, 'dst', 'IPV6');
        if (l.nh !== undefined && hasTransport)
          throw usageError(`${where(l, i)}: nh= is for a packet with no icmpv6/udp/tcp layer`);
        spec.ipv6 = ipv6Spec(l, ndType, src, dst);
        break;
      }
      case 'icmp':
      case 'icmpv6':
        spec.icmp = { type: l.type ?? 'echo-request', code: l.code ?? 0, identifier: l.id ?? 0, sequence: l.seq ?? 0 };
        break;
      case 'udp':
        spec.udp = { srcPort: l.sport ?? DEFAULT_PORT, dstPort: needed(l, i, l.dport, 'dport', 'N') };
        break;
      case 'tcp':
        spec.tcp = tcpSpec(l, needed(l, i, l.dport, 'dport', 'N'));
        break;
      case 'text':
      case 'hex':
        spec.payload = l.bytes;
        break;
    }
  });
  if (tags.length > 0) spec.eth.tags = tags;
  const transport = layers.find((l) => ['icmp', 'icmpv6', 'udp', 'tcp'].includes(l.kind));
  if (transport !== undefined && !spec.ipv4 && !spec.ipv6) {
    throw usageError(`${WHAT}: ${transport.kind} needs an ${under(transport.kind)} layer under it to be sent`);
  }
  const warnings = ndType ? ndWarnings(layers, spec.payload?.length ?? 0) : [];
  const template: FrameTemplate = { text, spec, srcFromPort, warnings };
  frameBytes(template, 0); // what the builder refuses (a payload too long for IP), refused now
  return template;
}

type LayerOf<K extends Layer['kind']> = Extract<Layer, { kind: K }>;
type Address<K extends 'ipv4' | 'ipv6'> = NonNullable<LayerOf<K>['src']>;

/** An ipv4 layer, with the src and dst it has to have. */
function ipv4Spec(l: LayerOf<'ipv4'>, src: Address<'ipv4'>, dst: Address<'ipv4'>): FrameSpec['ipv4'] {
  return {
    src,
    dst,
    ttl: l.ttl ?? 64,
    identification: l.id ?? 0,
    dscp: (l.tos ?? 0) >>> 2,
    ecn: (l.tos ?? 0) & 3,
    dontFragment: l.df ?? true,
    ...(l.opts === undefined ? {} : { options: l.opts }),
    ...(l.proto === undefined ? {} : { protocol: l.proto }),
  };
}

/** An ipv6 layer, with the src and dst it has to have; ND: it carries neighbour discovery. */
function ipv6Spec(l: LayerOf<'ipv6'>, nd: boolean, src: Address<'ipv6'>, dst: Address<'ipv6'>): FrameSpec['ipv6'] {
  return {
    src,
    dst,
    hopLimit: l.hlim ?? (nd ? ND_HOP_LIMIT : 64),
    trafficClass: l.tc ?? 0,
    flowLabel: l.flow ?? 0,
    ...(l.nh === undefined ? {} : { protocol: l.nh }),
  };
}

/** A tcp layer, with the dport it has to have. */
function tcpSpec(l: LayerOf<'tcp'>, dstPort: number): FrameSpec['tcp'] {
  return {
    srcPort: l.sport ?? DEFAULT_PORT,
    dstPort,
    flags: l.flags ?? 'S',
    seq: l.seq ?? 0,
    ack: l.ack ?? 0,
    window: l.win ?? 65535,
    ...(l.opts === undefined ? {} : { options: l.opts }),
  };
}

/** What a neighbour discovery message's receiver would drop it for; PAYLOAD: its bytes after the header. */
function ndWarnings(layers: readonly Layer[], payload: number): string[] {
  const warnings: string[] = [];
  const ipv6 = layers.find((l) => l.kind === 'ipv6');
  if (ipv6?.kind === 'ipv6' && ipv6.hlim !== undefined && ipv6.hlim !== ND_HOP_LIMIT)
    warnings.push(`hop limit ${ipv6.hlim}: a neighbour discovery message is dropped by its receiver unless it is 255`);
  const icmpv6 = layers.find((l) => l.kind === 'icmpv6');
  const type = icmpv6?.kind === 'icmpv6' ? icmpv6.type : undefined;
  const isNsNa = type === Icmpv6Type.NEIGHBOR_SOLICITATION || type === Icmpv6Type.NEIGHBOR_ADVERTISEMENT;
  if (isNsNa && payload < ND_TARGET_LEN)
    warnings.push(
      `a neighbour ${type === Icmpv6Type.NEIGHBOR_SOLICITATION ? 'solicitation' : 'advertisement'} ` +
        `carries its ${ND_TARGET_LEN}-byte target address after the header (hex ...): this one has ` +
        `${payload} bytes, and its receiver drops it`,
    );
  return warnings;
}

function under(kind: Layer['kind']): string {
  return kind === 'icmpv6' ? 'ipv6' : kind === 'icmp' ? 'ipv4' : 'ipv4 or ipv6';
}

/** The frame's bytes, with the port's MAC as the source where the spec gave none. */
export function frameBytes(template: FrameTemplate, portMac: Mac): Uint8Array {
  const spec = template.srcFromPort ? { ...template.spec, eth: { ...template.spec.eth, src: portMac } } : template.spec;
  try {
    return buildFrame(spec);
  } catch (err) {
    if (err instanceof TapyardError) throw usageError(`${WHAT}: ${err.message.replace(/\.$/, '')}`);
    throw err;
  }
}
