// A port that is a guest: the built-in host (src/guest/host.ts) behind an in-memory port. What
// tapyard writes to it is the guest's receive path; its replies are read from it like any
// port's frames, so they enter the ledger as this port's rx.
//   --port vm=guest:10.0.0.2/24[,mac=MAC][,ip6=ADDR/64][,udp-echo=7]

import { formatIpv4, type Ipv4Address, type Ipv6Address } from '../frame/ip-address.js';
import { type GuestCounts, GuestHost } from '../guest/host.js';
import { formatMac, type Mac } from '../mac.js';
import { MemoryPort } from './memory.js';
import type { PortKind, PortListener } from './port.js';

export interface GuestConfig {
  readonly kind: 'guest';
  readonly name: string;
  readonly ipv4: Ipv4Address;
  readonly prefix: number;
  /** null: a locally administered MAC, made up at open. */
  readonly mac: Mac | null;
  readonly ipv6: Ipv6Address | null;
  readonly udpEcho: number | null;
}

export class GuestPort extends MemoryPort {
  override readonly kind: PortKind = 'guest';
  readonly host: GuestHost;

  constructor(config: GuestConfig, budget: number) {
    const mac = config.mac ?? localMac();
    const device = `guest ${formatIpv4(config.ipv4)}/${config.prefix} (${formatMac(mac)})`;
    super(config.name, { mac, budget, maxFrame: 1518, device });
    this.host = new GuestHost({ mac, ipv4: config.ipv4, ipv6: config.ipv6, udpEcho: config.udpEcho });
  }

  /** Takes MAC as its address, and announces it (a gratuitous ARP), as a VM whose MAC changed does. */
  setMac(mac: Mac): void {
    this.mac = mac;
    this.host.setMac(mac);
    this.inject(this.host.announce());
  }

  get counts(): GuestCounts {
    return this.host.counts;
  }

  override start(listener: PortListener): void {
    super.start(listener);
    this.inject(this.host.announce());
  }

  /** The guest takes every frame at once (its stack never backs up) and may answer it. */
  override send(
    buf: Uint8Array,
    offsets: Uint32Array,
    lengths: Uint32Array,
    count: number,
    status: Int32Array,
  ): number {
    for (let i = 0; i < count; i++) {
      status[i] = 0;
      const reply = this.host.receive(buf, offsets[i]!, lengths[i]!);
      if (reply !== null) this.inject(reply);
    }
    return count;
  }
}

export function openGuest(config: GuestConfig, budget: number): GuestPort {
  return new GuestPort(config, budget);
}

function localMac(): Mac {
  // 02:... is locally administered and unicast.
  return 0x02_00_00_00_00_00 + Math.floor(Math.random() * 0xff_ffff_ffff);
}
