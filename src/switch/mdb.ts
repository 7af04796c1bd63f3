// The bridge's multicast database (net/bridge/br_multicast.c): for each IP group, which bridge
// ports have a member behind them and whether the bridge's own stack joined, each until its
// membership timer runs out. Groups are IP addresses, not MACs: 239.1.1.1 and 239.129.1.1 share
// 01:00:5e:01:01:01 and are two entries.
//
//   br_multicast_add_group   a report: the port (or, from the bridge's own stack, the host) is a
//                            member for multicast_membership_interval (260 s) from now
//   br_multicast_leave_group a leave: gone at once (fast leave), or within last_member_count *
//                            last_member_interval (2 s) unless a timer already ends sooner
//   br_multicast_del_pg      an entry with no member and no host left is no entry
//
// A table of a few rows, scanned in order: a lookup compares the group where it lies in the frame
// and allocates nothing. A bridge with thousands of groups would want a hash here.

import { TapyardError } from '../error.js';
import { IPV6_ADDRESS_LEN } from '../frame/ip-address.js';

/** multicast_membership_interval: 2 × 125 s query interval + 10 s response interval. */
export const MEMBERSHIP_INTERVAL_MS = 260_000;
/** multicast_last_member_count × multicast_last_member_interval: 2 × 1 s. */
export const LAST_MEMBER_MS = 2_000;

/** Which IP a group is; the row keeps IPv4 groups in its first four address bytes. */
export const McastProto = { IPV4: 0, IPV6: 1 } as const;
export type McastProto = (typeof McastProto)[keyof typeof McastProto];

/** The member slot of the bridge's own stack, after the ports'. */
export const HOST_MEMBER = -1;

interface Row {
  proto: McastProto;
  address: Uint8Array;
  /** Per port, when its membership ends (0: none; Infinity: permanent); then the host's. */
  until: Float64Array;
}

export class Mdb {
  private rows: Row[] = [];

  constructor(
    private readonly now: () => number,
    private ports: number,
  ) {}

  /** Forget every entry and size the table for `ports` bridge ports. */
  reset(ports: number): void {
    this.ports = ports;
    this.rows = [];
  }

  /** The row of the group whose address lies at bytes[at..] (4 or 16 bytes), or -1. Per frame. */
  findAt(proto: McastProto, bytes: Uint8Array, at: number): number {
    const length = proto === McastProto.IPV4 ? 4 : IPV6_ADDRESS_LEN;
    const now = this.now();
    for (let r = 0; r < this.rows.length; r++) {
      const row = this.rows[r]!;
      if (row.proto !== proto) continue;
      let same = true;
      for (let i = 0; i < length && same; i++) same = row.address[i] === bytes[at + i];
      if (same) return this.live(row, now) ? r : -1;
    }
    return -1;
  }

  /** Whether bridge port `port` (or HOST_MEMBER) is a member of row `row` now. */
  isMember(row: number, port: number): boolean {
    return this.rows[row]!.until[this.slot(port)]! > this.now();
  }

  /** A report: `port` is a member until MEMBERSHIP_INTERVAL_MS from now (a permanent one stays). */
  join(proto: McastProto, bytes: Uint8Array, at: number, port: number, permanent = false): void {
    const row = this.rowFor(proto, bytes, at);
    const slot = this.slot(port);
    if (row.until[slot] === Number.POSITIVE_INFINITY) return;
    row.until[slot] = permanent ? Number.POSITIVE_INFINITY : this.now() + MEMBERSHIP_INTERVAL_MS;
  }

  /** Fast leave: `port` is no member any more (a permanent entry stays). */
  remove(proto: McastProto, bytes: Uint8Array, at: number, port: number): void {
    const r = this.findAt(proto, bytes, at);
    if (r < 0) return;
    const until = this.rows[r]!.until;
    if (until[this.slot(port)] !== Number.POSITIVE_INFINITY) until[this.slot(port)] = 0;
  }

  /** Let `port`'s membership (all members' with ALL) end within `ms`, unless it ends sooner. */
  shorten(proto: McastProto, bytes: Uint8Array, at: number, port: number | typeof ALL_MEMBERS, ms: number): void {
    const r = this.findAt(proto, bytes, at);
    if (r < 0) return;
    const until = this.rows[r]!.until;
    const end = this.now() + ms;
    const now = this.now();
    for (let s = 0; s < until.length; s++) {
      if (port !== ALL_MEMBERS && s !== this.slot(port)) continue;
      if (until[s]! > now && until[s]! > end && until[s] !== Number.POSITIVE_INFINITY) until[s] = end;
    }
  }

  /** Every live entry, for trace and tests: the group's bytes and who is a member. */
  entries(): { proto: McastProto; address: Uint8Array; ports: number[]; host: boolean }[] {
    const now = this.now();
    return this.rows
      .filter((row) => this.live(row, now))
      .map((row) => ({
        proto: row.proto,
        address: row.address.slice(0, row.proto === McastProto.IPV4 ? 4 : IPV6_ADDRESS_LEN),
        ports: [...row.until.subarray(0, this.ports)].flatMap((u, p) => (u > now ? [p] : [])),
        host: row.until[this.ports]! > now,
      }));
  }

  private live(row: Row, now: number): boolean {
    for (let s = 0; s < row.until.length; s++) if (row.until[s]! > now) return true;
    return false;
  }

  private rowFor(proto: McastProto, bytes: Uint8Array, at: number): Row {
    const length = proto === McastProto.IPV4 ? 4 : IPV6_ADDRESS_LEN;
    for (const row of this.rows) {
      if (row.proto !== proto) continue;
      let same = true;
      for (let i = 0; i < length && same; i++) same = row.address[i] === bytes[at + i];
      if (same) return row;
    }
    const row: Row = { proto, address: new Uint8Array(IPV6_ADDRESS_LEN), until: new Float64Array(this.ports + 1) };
    row.address.set(bytes.subarray(at, at + length));
    this.rows.push(row);
    return row;
  }

  private slot(port: number): number {
    if (port === HOST_MEMBER) return this.ports;
    if ((port | 0) !== port || port < 0 || port >= this.ports)
      throw new TapyardError('EINVAL', `an mdb port must be a bridge port index, not ${port}`);
    return port;
  }
}

/** shorten() on every member of a group: a group-specific query from another querier. */
export const ALL_MEMBERS = -2;
