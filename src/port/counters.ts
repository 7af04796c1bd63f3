// Per-port counters. Every frame a port reads is counted once as rx; every copy written as tx;
// every frame or copy that goes nowhere under exactly one named drop reason.

export class Counters {
  /**
   * Frames the fd layer forwarded without the loop (a splice, fd-port.ts), counted there as they
   * went: [rx frames, rx bytes, tx frames, tx bytes, tx frames with a spoofed source]. The totals
   * below include them.
   */
  readonly spliced = new Float64Array(5);
  private ownRxFrames = 0;
  private ownRxBytes = 0;
  private ownTxFrames = 0;
  private ownTxBytes = 0;
  private ownSpoofedSource = 0;
  /** Drops by reason. Keys are the reason constants; values never decrease. */
  readonly drops: Record<string, number> = Object.create(null) as Record<string, number>;

  rx(bytes: number): void {
    this.ownRxFrames++;
    this.ownRxBytes += bytes;
  }

  tx(bytes: number): void {
    this.ownTxFrames++;
    this.ownTxBytes += bytes;
  }

  /** A frame written with a source MAC that is not the port's own (source-guard.ts). */
  spoofed(): void {
    this.ownSpoofedSource++;
  }

  drop(reason: string, frames = 1): void {
    this.drops[reason] = (this.drops[reason] ?? 0) + frames;
  }

  get rxFrames(): number {
    return this.ownRxFrames + this.spliced[0]!;
  }

  get rxBytes(): number {
    return this.ownRxBytes + this.spliced[1]!;
  }

  get txFrames(): number {
    return this.ownTxFrames + this.spliced[2]!;
  }

  get txBytes(): number {
    return this.ownTxBytes + this.spliced[3]!;
  }

  get spoofedSource(): number {
    return this.ownSpoofedSource + this.spliced[4]!;
  }

  get dropped(): number {
    let sum = 0;
    for (const reason in this.drops) sum += this.drops[reason]!;
    return sum;
  }

  snapshot(): CountersSnapshot {
    return {
      rxFrames: this.rxFrames,
      rxBytes: this.rxBytes,
      txFrames: this.txFrames,
      txBytes: this.txBytes,
      splicedFrames: this.spliced[0]!,
      spoofedSource: this.spoofedSource,
      drops: { ...this.drops },
    };
  }
}

export interface CountersSnapshot {
  rxFrames: number;
  rxBytes: number;
  txFrames: number;
  txBytes: number;
  /** Of rxFrames, those the splice wrote to the peer below JavaScript (forwarder.ts). */
  splicedFrames: number;
  /**
   * Of txFrames, those written with a source MAC that is not the port's (a macvtap's, spoof=count):
   * a guest that sends as another station. With spoof=drop they are under drops instead.
   */
  spoofedSource: number;
  drops: Record<string, number>;
}
