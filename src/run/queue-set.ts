// The threads of `forward --queues N`: QEMU's queues=N. Each queue is a worker thread that opens
// queue i of every port and forwards it with its own Forwarder, poller and event loop
// (src/run/queue-worker.ts); the kernel spreads the flows over the queues (docs/queues.md). This
// side opens nothing: it starts the queues, gathers their counters when asked, and stops them.

import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { ForwardConfig } from '../config/forward.js';
import { packageRoot } from '../package-root.js';
import type { FromQueue, QueueSample, QueueWorkerData, ToQueue } from './queue-protocol.js';

export interface QueueSetEvents {
  /** A queue failed to open, a port of it failed, or its thread ended: one sentence. */
  onFailure(sentence: string): void;
  onNote(sentence: string): void;
}

interface Queue {
  readonly worker: Worker;
  /** The latest counters it sent (null until its first sample). */
  last: QueueSample | null;
  ports: readonly { device: string; banner: string }[] | null;
  stopped: Promise<QueueSample | null>;
  /** The thread has ended, or said it will (failed to open, or answered stop). */
  gone: boolean;
}

/** One round of samples: the queues that have yet to answer it. */
interface Round {
  readonly left: Set<number>;
  readonly resolve: () => void;
}

function workerPath(): string {
  return join(packageRoot(), 'dist', 'src', 'run', 'queue-worker.js');
}

export class QueueSet {
  /** Every queue has opened its ports and is forwarding. */
  readonly ready: Promise<void>;
  private readonly queues: Queue[] = [];
  private readonly waiting = new Map<number, Round>();
  private seq = 0;
  private readyLeft: number;
  private allReady: () => void = () => {};

  constructor(
    private readonly config: ForwardConfig,
    private readonly events: QueueSetEvents,
  ) {
    this.readyLeft = config.queues;
    this.ready = new Promise<void>((resolve) => {
      this.allReady = resolve;
    });
    for (let i = 0; i < config.queues; i++) this.queues.push(this.start(i));
  }

  /** Every queue said it is ready (none failed on the way). */
  get isReady(): boolean {
    return this.readyLeft === 0;
  }

  /** Each port's banner line, as the first queue opened it. */
  banners(): string[] {
    return this.queues[0]?.ports?.map((p) => p.banner) ?? [];
  }

  /** Each port's name and its device, for the report. */
  names(): { name: string; device: string }[] {
    return this.config.ports.map((p, i) => ({ name: p.name, device: this.queues[0]?.ports?.[i]?.device ?? p.name }));
  }

  /** Every queue's latest counters; a queue that never sent any counts nothing. */
  samples(): QueueSample[] {
    return this.queues.map((q) => q.last ?? emptySample(this.config.ports.length));
  }

  /** Every live queue's counters now; a queue that has gone keeps its last ones. */
  sampleAll(): Promise<void> {
    const id = ++this.seq;
    return new Promise<void>((resolve) => {
      const round: Round = { left: new Set<number>(), resolve };
      this.queues.forEach((q, i) => {
        if (!q.gone) round.left.add(i);
      });
      if (round.left.size === 0) return resolve();
      this.waiting.set(id, round);
      for (const q of this.queues) this.send(q, { type: 'sample', seq: id });
    }).finally(() => this.waiting.delete(id));
  }

  /**
   * Ask every queue to stop and wait up to WAITMS for their answers, then end every thread.
   * The queues that did not answer in time (their last counters stand).
   */
  async stop(waitMs: number): Promise<number[]> {
    for (const q of this.queues) this.send(q, { type: 'stop' });
    const late = await Promise.race([
      Promise.all(this.queues.map((q) => q.stopped)).then(() => false),
      new Promise<boolean>((resolve) => setTimeout(() => resolve(true), waitMs).unref()),
    ]);
    const slow = late ? this.queues.flatMap((q, i) => (q.gone ? [] : [i])) : [];
    await Promise.all(this.queues.map((q) => q.worker.terminate()));
    return slow;
  }

  private send(q: Queue, message: ToQueue): void {
    if (!q.gone) q.worker.postMessage(message);
  }

  private start(i: number): Queue {
    const data: QueueWorkerData = { config: this.config, queue: i };
    const worker = new Worker(workerPath(), { workerData: data });
    let answer: (s: QueueSample | null) => void = () => {};
    const q: Queue = {
      worker,
      last: null,
      ports: null,
      stopped: new Promise((resolve) => {
        answer = resolve;
      }),
      gone: false,
    };
    const fail = (sentence: string) => this.events.onFailure(`queue ${i}${sentence}`);
    worker.on('message', (m: FromQueue) => this.onMessage(i, q, m, answer));
    // A thread that throws outside the loop's own error handling is a bug: one sentence, not a trace.
    worker.on('error', (err) => fail(` failed: ${err.message.split('\n')[0]}`));
    worker.on('exit', (code) => {
      // terminate() after a queue answered stop (or said it failed) ends it with code 1: not news.
      if (!q.gone && code !== 0) fail(` ended with exit code ${code}`);
      if (!q.gone) fail(' ended by itself');
      q.gone = true;
      answer(null);
      // A round of samples waiting for it would wait forever.
      for (const round of this.waiting.values()) this.answered(round, i);
    });
    return q;
  }

  private onMessage(i: number, q: Queue, m: FromQueue, answer: (s: QueueSample | null) => void): void {
    switch (m.type) {
      case 'ready':
        q.ports = m.ports;
        if (--this.readyLeft === 0) this.allReady();
        break;
      case 'failed':
        q.gone = true;
        answer(null);
        this.events.onFailure(`queue ${i}: ${m.message}`);
        break;
      case 'fatal':
        this.events.onFailure(`queue ${i}: ${m.message}`);
        break;
      case 'note':
        this.events.onNote(`queue ${i}: ${m.sentence}`);
        break;
      case 'sample': {
        q.last = m.sample;
        const round = this.waiting.get(m.seq);
        if (round !== undefined) this.answered(round, i);
        break;
      }
      case 'stopped':
        q.last = m.sample;
        q.gone = true;
        answer(m.sample);
        break;
    }
  }

  private answered(round: Round, queue: number): void {
    round.left.delete(queue);
    if (round.left.size === 0) round.resolve();
  }
}

function emptySample(ports: number): QueueSample {
  const none = { rxFrames: 0, rxBytes: 0, txFrames: 0, txBytes: 0, splicedFrames: 0, spoofedSource: 0, drops: {} };
  return {
    ports: Array.from({ length: ports }, () => none),
    kernel: Array.from({ length: ports }, () => null),
    ledger: { rx: 0, clones: 0, tx: 0, drops: 0, queued: 0 },
  };
}
