// The kinds of value a layer of a frame spec holds, beside the generic ones of grammar/value.ts:
// addresses, port numbers, and the names tcpdump prints for ICMP types, ARP operations and TCP
// flags, so that what `describe` prints can be written back into a spec or a match.

import { ArpOperation } from '../frame/arp.js';
import { Icmpv4Type, Icmpv6Type } from '../frame/icmp.js';
import type { Ipv4Address, Ipv6Address } from '../frame/ip-address.js';
import { parseIpv4, parseIpv6 } from '../grammar/ip-address.js';
import { lookup } from '../grammar/lookup.js';
import { quote } from '../grammar/quote.js';
import { usageError, type ValueType } from '../grammar/value.js';
import { parseTcpFlags } from '../spec/tcp-flags.js';

function bad(where: string, text: string, expected: string): Error {
  return usageError(`${where} must be ${expected}, not ${quote(text)}`);
}

export const ipv4Address: ValueType<Ipv4Address> = {
  shape: 'IPV4',
  parse(text, where) {
    const address = parseIpv4(text);
    if (address === null) throw bad(where, text, 'an IPv4 address like 10.0.0.2');
    return address;
  },
};

export const ipv6Address: ValueType<Ipv6Address> = {
  shape: 'IPV6',
  parse(text, where) {
    const address = parseIpv6(text);
    if (address === null) throw bad(where, text, 'an IPv6 address like fd00::2');
    return address;
  },
};

/** A name from `names` or a number in [0, max]. */
function named(shape: string, names: Readonly<Record<string, number>>, max: number): ValueType<number> {
  const list = Object.keys(names);
  return {
    shape,
    parse(text, where) {
      const value = lookup(names, text);
      if (value !== undefined) return value;
      const n = Number(text);
      if (!/^\d+$/.test(text) || n > max) throw bad(where, text, `one of ${list.join(', ')} or a number to ${max}`);
      return n;
    },
  };
}

/** ICMP types by the names describe prints (hyphenated); ICMPv6 has its own numbers. */
export const icmpv4Type = named(
  'TYPE',
  {
    'echo-reply': Icmpv4Type.ECHO_REPLY,
    unreachable: Icmpv4Type.DESTINATION_UNREACHABLE,
    redirect: Icmpv4Type.REDIRECT,
    'echo-request': Icmpv4Type.ECHO_REQUEST,
    'time-exceeded': Icmpv4Type.TIME_EXCEEDED,
    'parameter-problem': Icmpv4Type.PARAMETER_PROBLEM,
  },
  255,
);

export const icmpv6Type = named(
  'TYPE',
  {
    unreachable: Icmpv6Type.DESTINATION_UNREACHABLE,
    'packet-too-big': Icmpv6Type.PACKET_TOO_BIG,
    'time-exceeded': Icmpv6Type.TIME_EXCEEDED,
    'parameter-problem': Icmpv6Type.PARAMETER_PROBLEM,
    'echo-request': Icmpv6Type.ECHO_REQUEST,
    'echo-reply': Icmpv6Type.ECHO_REPLY,
    'router-solicitation': Icmpv6Type.ROUTER_SOLICITATION,
    'router-advertisement': Icmpv6Type.ROUTER_ADVERTISEMENT,
    'neighbor-solicitation': Icmpv6Type.NEIGHBOR_SOLICITATION,
    'neighbor-advertisement': Icmpv6Type.NEIGHBOR_ADVERTISEMENT,
  },
  255,
);

export const arpOperation = named(
  'request|reply|N',
  { request: ArpOperation.REQUEST, reply: ArpOperation.REPLY },
  0xffff,
);

/** TCP flags in tcpdump's letters: S, S., P., F., R, none. */
export const tcpFlags: ValueType<number> = {
  shape: 'FLAGS',
  parse(text, where) {
    const flags = text === '' ? null : parseTcpFlags(text);
    if (flags === null) throw bad(where, text, "tcpdump's flag letters S F P R U E W e and . for ACK (S., P., R)");
    return flags;
  },
};

/** Bytes written as hex digits, with optional spaces, colons or a 0x in front. */
export function parseHexBytes(text: string, where: string): Uint8Array {
  const digits = text.replace(/^0x/i, '').replace(/[\s:]/g, '');
  if (digits === '' || !/^[0-9a-f]*$/i.test(digits) || digits.length % 2 !== 0) {
    throw usageError(
      `${where} must be bytes in hex digits (an even number of them, e.g. 68656c6c6f), not ${quote(text)}`,
    );
  }
  return Uint8Array.from(Buffer.from(digits, 'hex'));
}

/** Option bytes of a header, in hex (`opts=020405b4`). */
export const hexBytes: ValueType<Uint8Array> = { shape: 'HEX', parse: parseHexBytes };
