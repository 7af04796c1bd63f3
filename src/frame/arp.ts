// ARP for IPv4 over Ethernet (RFC 826), the only ARP a switch for VMs meets.
//
//  0       2       4      5      6       8      14     18     24     28
//  | htype | ptype | hlen | plen | oper  | sha  | spa  | tha  | tpa  |

import { type Mac, readMac, writeMac } from '../mac.js';
import { EMPTY_BYTES, put16, u16 } from './bytes.js';
import { FrameError } from './error.js';
import { EtherType } from './ethernet.js';
import { type Ipv4Address, readIpv4, writeIpv4 } from './ip-address.js';

export const ArpField = {
  HTYPE: 0,
  PTYPE: 2,
  HLEN: 4,
  PLEN: 5,
  OPER: 6,
  SHA: 8,
  SPA: 14,
  THA: 18,
  TPA: 24,
} as const;

export const ARP_LEN = 28;
export const ARP_HTYPE_ETHERNET = 1;

export const ArpOperation = { REQUEST: 1, REPLY: 2 } as const;

/** A view over one ARP packet. `parse` re-points it; no allocation. */
export class ArpView {
  bytes: Uint8Array = EMPTY_BYTES;
  offset = 0;
  length = 0;

  parse(bytes: Uint8Array, offset: number, length: number): FrameError | null {
    this.bytes = bytes;
    this.offset = offset;
    this.length = length;
    if (length < ArpField.OPER) return FrameError.TRUNCATED;
    if (
      u16(bytes, offset + ArpField.HTYPE) !== ARP_HTYPE_ETHERNET ||
      u16(bytes, offset + ArpField.PTYPE) !== EtherType.IPV4 ||
      bytes[offset + ArpField.HLEN] !== 6 ||
      bytes[offset + ArpField.PLEN] !== 4
    ) {
      return FrameError.UNRECOGNIZED;
    }
    if (length < ARP_LEN) return FrameError.TRUNCATED;
    return null;
  }

  get operation(): number {
    return u16(this.bytes, this.offset + ArpField.OPER);
  }
  get senderMac(): Mac {
    return readMac(this.bytes, this.offset + ArpField.SHA);
  }
  get senderIp(): Ipv4Address {
    return readIpv4(this.bytes, this.offset + ArpField.SPA);
  }
  get targetMac(): Mac {
    return readMac(this.bytes, this.offset + ArpField.THA);
  }
  get targetIp(): Ipv4Address {
    return readIpv4(this.bytes, this.offset + ArpField.TPA);
  }
}

export interface ArpRepr {
  operation: number;
  senderMac: Mac;
  senderIp: Ipv4Address;
  targetMac: Mac;
  targetIp: Ipv4Address;
}

export function arpRepr(view: ArpView): ArpRepr {
  return {
    operation: view.operation,
    senderMac: view.senderMac,
    senderIp: view.senderIp,
    targetMac: view.targetMac,
    targetIp: view.targetIp,
  };
}

/** Write the packet at `offset`; returns its length. */
export function emitArp(repr: ArpRepr, bytes: Uint8Array, offset: number): number {
  put16(bytes, offset + ArpField.HTYPE, ARP_HTYPE_ETHERNET);
  put16(bytes, offset + ArpField.PTYPE, EtherType.IPV4);
  bytes[offset + ArpField.HLEN] = 6;
  bytes[offset + ArpField.PLEN] = 4;
  put16(bytes, offset + ArpField.OPER, repr.operation);
  writeMac(bytes, offset + ArpField.SHA, repr.senderMac);
  writeIpv4(bytes, offset + ArpField.SPA, repr.senderIp);
  writeMac(bytes, offset + ArpField.THA, repr.targetMac);
  writeIpv4(bytes, offset + ArpField.TPA, repr.targetIp);
  return ARP_LEN;
}
