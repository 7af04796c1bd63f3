// What `tapyard send --expect` waits for: the layered grammar (layers.ts) read as a match. A
// frame matches when it has every layer named, in that order of nesting, with every key given
// equal to its field; layers and keys not named match anything, so `udp sport=7` matches a UDP
// datagram from port 7 over IPv4 or IPv6, tagged or not. Tags are compared from the outermost.
// A `text` or `hex` payload matches a payload that begins with those bytes.

import { EtherType } from '../frame/ethernet.js';
import type { Frame } from '../frame/frame.js';
import { IpProtocol } from '../frame/ip-protocol.js';
import { payloadRange } from '../frame/payload.js';
import { usageError } from '../grammar/value.js';
import { type Layer, readLayers } from './layers.js';

export interface FrameMatch {
  /** The match as written, for messages. */
  readonly text: string;
  /** True when a parsed frame has everything the match names. */
  matches(frame: Frame): boolean;
}

type Test = (f: Frame) => boolean;

const WHAT = '--expect';

export function readMatch(text: string): FrameMatch {
  const layers = readLayers(text, WHAT);
  const tests: Test[] = [];
  let tag = 0;
  layers.forEach((l, i) => {
    const where = `${WHAT}, layer ${i + 1} (${l.kind})`;
    tests.push(...layerTests(l, where, l.kind === 'vlan' || l.kind === 's-vlan' ? tag++ : 0));
  });
  return { text, matches: (f) => f.ethernetValid && tests.every((t) => t(f)) };
}

/** A test per key given: the field must equal it (undefined: not asked for). */
function eq<T>(value: T | undefined, field: (f: Frame) => T): Test[] {
  return value === undefined ? [] : [(f) => field(f) === value];
}

function notForMatching(value: unknown, where: string): Test[] {
  if (value !== undefined) throw usageError(`${where}: opts= is for sending, not for matching`);
  return [];
}

function layerTests(l: Layer, where: string, tagIndex: number): Test[] {
  switch (l.kind) {
    case 'eth':
      if (l.pad !== undefined) throw usageError(`${where}: pad= is for sending, not for matching`);
      return [
        ...eq(l.dst, (f) => f.ethernet.dst),
        ...eq(l.src, (f) => f.ethernet.src),
        ...eq(l.type, (f) => f.ethernet.etherType),
      ];
    case 'vlan':
    case 's-vlan': {
      const tpid = l.tpid ?? (l.kind === 'vlan' ? EtherType.VLAN : EtherType.QINQ);
      const tci = (f: Frame) => (tagIndex === 0 ? f.ethernet.outerTci : f.ethernet.innerTci);
      return [
        (f) =>
          f.ethernet.tagCount > tagIndex && (tagIndex === 0 ? f.ethernet.outerTpid : f.ethernet.innerTpid) === tpid,
        (f) => (tci(f) & 0xfff) === l.vid,
        ...eq(l.pcp, (f) => tci(f) >>> 13),
        ...eq(l.dei, (f) => (tci(f) & 0x1000) !== 0),
      ];
    }
    case 'arp':
      return [
        (f) => f.network === EtherType.ARP,
        ...eq(l.op, (f) => f.arp.operation),
        ...eq(l.sender, (f) => f.arp.senderIp),
        ...eq(l.target, (f) => f.arp.targetIp),
        ...eq(l.senderMac, (f) => f.arp.senderMac),
        ...eq(l.targetMac, (f) => f.arp.targetMac),
      ];
    case 'ipv4':
      return [
        (f) => f.network === EtherType.IPV4,
        ...eq(l.src, (f) => f.ipv4.src),
        ...eq(l.dst, (f) => f.ipv4.dst),
        ...eq(l.ttl, (f) => f.ipv4.ttl),
        ...eq(l.id, (f) => f.ipv4.identification),
        ...eq(l.tos, (f) => (f.ipv4.dscp << 2) | f.ipv4.ecn),
        ...eq(l.df, (f) => f.ipv4.dontFragment),
        ...eq(l.proto, (f) => f.ipv4.protocol),
        ...notForMatching(l.opts, where),
      ];
    case 'ipv6': {
      const same = (a: Uint8Array, f: Frame, at: number) => a.every((b, i) => f.bytes[at + i] === b);
      const { src, dst } = l;
      return [
        (f) => f.network === EtherType.IPV6,
        ...(src === undefined ? [] : [(f: Frame) => same(src, f, f.ipv6.srcOffset)]),
        ...(dst === undefined ? [] : [(f: Frame) => same(dst, f, f.ipv6.dstOffset)]),
        ...eq(l.hlim, (f) => f.ipv6.hopLimit),
        ...eq(l.tc, (f) => f.ipv6.trafficClass),
        ...eq(l.flow, (f) => f.ipv6.flowLabel),
        ...eq(l.nh, (f) => f.ipv6.upperProtocol),
      ];
    }
    case 'icmp':
    case 'icmpv6': {
      const protocol = l.kind === 'icmp' ? IpProtocol.ICMP : IpProtocol.ICMPV6;
      return [
        (f) => f.transport === protocol,
        ...eq(l.type, (f) => f.icmp.type),
        ...eq(l.code, (f) => f.icmp.code),
        ...eq(l.id, (f) => f.icmp.identifier),
        ...eq(l.seq, (f) => f.icmp.sequence),
      ];
    }
    case 'udp':
      return [
        (f) => f.transport === IpProtocol.UDP,
        ...eq(l.sport, (f) => f.udp.srcPort),
        ...eq(l.dport, (f) => f.udp.dstPort),
      ];
    case 'tcp':
      return [
        (f) => f.transport === IpProtocol.TCP,
        ...eq(l.sport, (f) => f.tcp.srcPort),
        ...eq(l.dport, (f) => f.tcp.dstPort),
        ...eq(l.flags, (f) => f.tcp.flags),
        ...eq(l.seq, (f) => f.tcp.seq),
        ...eq(l.ack, (f) => f.tcp.ack),
        ...eq(l.win, (f) => f.tcp.window),
        ...notForMatching(l.opts, where),
      ];
    case 'text':
    case 'hex': {
      const want = l.bytes;
      return [
        (f) => {
          const { start, end } = payloadRange(f);
          return end - start >= want.length && want.every((b, i) => f.bytes[start + i] === b);
        },
      ];
    }
  }
}
