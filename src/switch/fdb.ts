// The bridge's forwarding database (net/bridge/br_fdb.c): for each MAC, the port it was learned
// on, when it was last refreshed, and whether it is static. Ports are whatever small integers
// the bridge numbers its ports with.
//
//   br_fdb_update      learn a source: a new entry, or move and refresh an existing one; a static
//                      entry moves too (and stays static) unless it is sticky
//   has_expired        a learned entry is gone ageing_time after its last refresh
//   br_fdb_cleanup     deletes expired entries; here a lookup that meets one deletes it, and
//                      age() sweeps them all
//
// The bridge learns from and looks up in it for every frame, so that path allocates nothing:
// entries are rows of typed arrays, indexed through a MacTable, and the per-frame methods read
// the address from the frame (learnAt / portAt; see frame-address.ts). Rows of deleted entries
// are reused, so only a table larger than it has ever been allocates.

import { TapyardError } from '../error.js';
import { type Mac, readMac } from '../mac.js';
import { ABSENT, MacTable } from './mac-table.js';

export { ABSENT };

export class Fdb {
  /** MAC → row. */
  private readonly rows = new MacTable();
  // One row per entry.
  private macs = new Float64Array(8);
  private ports = new Int32Array(8);
  /** When the entry was last refreshed, on the clock's scale (milliseconds). */
  private updated = new Float64Array(8);
  private isStatic = new Uint8Array(8);
  private isSticky = new Uint8Array(8);
  /** Rows of deleted entries, to reuse before growing. */
  private readonly freeRows: number[] = [];
  private usedRows = 0;

  /** `now`: milliseconds, monotonic; read when an entry is refreshed or looked up. */
  constructor(
    private readonly now: () => number,
    public ageingMs: number,
  ) {}

  get size(): number {
    return this.rows.size;
  }

  /** br_fdb_update for the source address at bytes[at..at+6]: per frame. */
  learnAt(bytes: Uint8Array, at: number, port: number): void {
    const row = this.rows.getAt(bytes, at);
    if (row === ABSENT) this.insert(readMac(bytes, at), port, false);
    else this.refresh(row, port);
  }

  /** The port the address at bytes[at..at+6] was learned on, or ABSENT: per frame. */
  portAt(bytes: Uint8Array, at: number): number {
    return this.livePort(this.rows.getAt(bytes, at));
  }

  /** br_fdb_update for `mac`. */
  learn(mac: Mac, port: number): void {
    const row = this.rows.get(mac);
    if (row === ABSENT) this.insert(mac, port, false);
    else this.refresh(row, port);
  }

  /** The port `mac` was learned on, or ABSENT (an expired entry is deleted on the way). */
  port(mac: Mac): number {
    return this.livePort(this.rows.get(mac));
  }

  /** Whether there is an entry for `mac`, expired or not. */
  has(mac: Mac): boolean {
    return this.rows.has(mac);
  }

  /** `bridge fdb add MAC dev PORT master static [sticky]`: replaces a learned entry. */
  addStatic(mac: Mac, port: number, sticky = false): void {
    const row = this.rows.get(mac);
    if (row !== ABSENT) this.remove(row);
    this.insert(mac, port, true);
    this.isSticky[this.rows.get(mac)] = sticky ? 1 : 0;
  }

  /** Whether `mac` has a static entry (which never ages). */
  isStaticEntry(mac: Mac): boolean {
    const row = this.rows.get(mac);
    return row !== ABSENT && this.isStatic[row] === 1;
  }

  /** Forget every learned entry (fdb_flush). */
  flush(): void {
    for (const mac of this.rows.macs()) {
      const row = this.rows.get(mac);
      if (this.isStatic[row] === 0) this.remove(row);
    }
  }

  /** Delete every expired entry (what br_fdb_cleanup does); returns how many went. */
  age(): number {
    let gone = 0;
    for (const mac of this.rows.macs()) if (this.livePort(this.rows.get(mac)) === ABSENT) gone++;
    return gone;
  }

  clear(): void {
    this.rows.clear();
    this.freeRows.length = 0;
    this.usedRows = 0;
  }

  private refresh(row: number, port: number): void {
    if (this.isSticky[row] === 0) this.ports[row] = port;
    this.updated[row] = this.now();
  }

  private livePort(row: number): number {
    if (row === ABSENT) return ABSENT;
    if (this.isStatic[row] === 0 && this.now() - this.updated[row]! >= this.ageingMs) {
      this.remove(row);
      return ABSENT;
    }
    return this.ports[row]!;
  }

  private insert(mac: Mac, port: number, isStatic: boolean): void {
    if ((port | 0) !== port || port < 0)
      throw new TapyardError('EINVAL', `an FDB port must be a non-negative integer, not ${port}`);
    const row = this.freeRows.pop() ?? this.newRow();
    this.macs[row] = mac;
    this.ports[row] = port;
    this.updated[row] = this.now();
    this.isStatic[row] = isStatic ? 1 : 0;
    this.isSticky[row] = 0;
    this.rows.set(mac, row);
  }

  private remove(row: number): void {
    this.rows.delete(this.macs[row]!);
    this.freeRows.push(row);
  }

  private newRow(): number {
    if (this.usedRows === this.macs.length) {
      const grown = this.macs.length * 2;
      this.macs = copyInto(new Float64Array(grown), this.macs);
      this.ports = copyInto(new Int32Array(grown), this.ports);
      this.updated = copyInto(new Float64Array(grown), this.updated);
      this.isStatic = copyInto(new Uint8Array(grown), this.isStatic);
      this.isSticky = copyInto(new Uint8Array(grown), this.isSticky);
    }
    return this.usedRows++;
  }
}

function copyInto<T extends Float64Array | Int32Array | Uint8Array>(to: T, from: T): T {
  to.set(from);
  return to;
}
