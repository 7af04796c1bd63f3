// Where a parsed frame's payload lies: after the innermost header that parsed, up to the end of
// the network packet, so that Ethernet padding behind a short IP packet is not part of it (the
// same bounds frameRepr in build.ts gives its payload). For matching frames, not the hot path.

import { ARP_LEN } from './arp.js';
import { EtherType } from './ethernet.js';
import { type Frame, NONE } from './frame.js';
import { IpProtocol } from './ip-protocol.js';

export interface PayloadRange {
  start: number;
  end: number;
}

export function payloadRange(frame: Frame): PayloadRange {
  let start = frame.ethernet.payloadOffset;
  let end = frame.offset + frame.length;
  if (frame.network === EtherType.ARP) start = end = frame.arp.offset + ARP_LEN;
  else if (frame.network === EtherType.IPV4) {
    start = frame.ipv4.payloadOffset;
    end = frame.ipv4.offset + frame.ipv4.totalLength;
  } else if (frame.network === EtherType.IPV6) {
    start = frame.ipv6.upperOffset;
    end = frame.ipv6.upperOffset + frame.ipv6.upperLength;
  }
  if (frame.transport === IpProtocol.UDP) {
    start = frame.udp.payloadOffset;
    end = start + frame.udp.payloadLength;
  } else if (frame.transport === IpProtocol.TCP) start = frame.tcp.payloadOffset;
  else if (frame.transport !== NONE) start = frame.icmp.payloadOffset;
  return { start, end };
}
