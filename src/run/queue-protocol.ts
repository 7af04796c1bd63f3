// What the main thread and a queue's worker thread say to each other (src/run/queue-worker.ts,
// src/run/queue-set.ts). Plain data only: it crosses postMessage's structured clone.

import type { ForwardConfig } from '../config/forward.js';
import type { Ledger } from '../engine/forwarder.js';
import type { CountersSnapshot } from '../port/counters.js';
import type { KernelDrops } from '../port/kernel-drops.js';

export interface QueueWorkerData {
  readonly config: ForwardConfig;
  /** Which queue this thread opens and forwards: 0 .. config.queues - 1. */
  readonly queue: number;
}

/** One queue's counters at one moment: its ports (in config order) and its own ledger. */
export interface QueueSample {
  readonly ports: readonly CountersSnapshot[];
  /**
   * The kernel's drops on each port's device. A device's counters cover all its queues, so only
   * queue 0 reads them; the other queues say null.
   */
  readonly kernel: readonly (KernelDrops | null)[];
  readonly ledger: Ledger;
}

/** Main thread to worker. */
export type ToQueue = { readonly type: 'sample'; readonly seq: number } | { readonly type: 'stop' };

/** Worker to main thread. */
export type FromQueue =
  /** Every port of the queue is open and reading: each port's device, and its banner line. */
  | { readonly type: 'ready'; readonly ports: readonly { readonly device: string; readonly banner: string }[] }
  /** Opening failed (nothing of this queue is left open): one sentence. */
  | { readonly type: 'failed'; readonly message: string }
  /** A port failed while forwarding (its device was deleted): the queue has stopped itself. */
  | { readonly type: 'fatal'; readonly message: string }
  | { readonly type: 'note'; readonly sentence: string }
  | { readonly type: 'sample'; readonly seq: number; readonly sample: QueueSample }
  /** The answer to stop: every fd of the queue is closed; the final counters. */
  | { readonly type: 'stopped'; readonly sample: QueueSample };
