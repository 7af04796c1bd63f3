// Per-port counters. Every frame a port reads is counted once as rx; every copy written as tx;
// every frame or copy that goes nowhere under exactly one named drop reason.

export class Counters {
  rxFrames = 0;
  rxBytes = 0;
  txFrames = 0;
  txBytes = 0;
  /** Drops by reason. Keys are the reason constants; values never decrease. */
  readonly drops: Record<string, number> = Object.create(null) as Record<string, number>;

  rx(bytes: number): void {
    this.rxFrames++;
    this.rxBytes += bytes;
  }

  tx(bytes: number): void {
    this.txFrames++;
    this.txBytes += bytes;
  }

  drop(reason: string, frames = 1): void {
    this.drops[reason] = (this.drops[reason] ?? 0) + frames;
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
      drops: { ...this.drops },
    };
  }
}

export interface CountersSnapshot {
  rxFrames: number;
  rxBytes: number;
  txFrames: number;
  txBytes: number;
  drops: Record<string, number>;
}
