// tapyard forward --queues N: QEMU's queues=N. Each queue is a worker thread that opens queue i
// of every port and forwards it with its own Forwarder, poller and event loop
// (src/queues/worker.ts); the kernel spreads the flows over the queues (docs/queues.md). This
// thread opens nothing: it starts the queues, gathers their counters on the stats interval and
// at the end, and stops them all on a signal, --duration, or the first queue that fails.

import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { ForwardConfig } from '../config/forward.js';
import { packageRoot } from '../package-root.js';
import type { FromQueue, QueueSample, QueueWorkerData, ToQueue } from '../queues/protocol.js';
import { type CountersReport, printReport, queuesReport, statsLine } from './counters-report.js';
import { forwardOutput } from './output.js';
import { onInfoSignal, onStopSignal } from './process-guard.js';

/** How long a queue may take to close its fds and answer stop before it is ended by force. */
const STOP_WAIT_MS = 5000;

interface Queue {
  readonly worker: Worker;
  /** The latest counters it sent (null until its first sample). */
  last: QueueSample | null;
  ports: readonly { device: string; banner: string }[] | null;
  stopped: Promise<QueueSample | null>;
  /** The thread has ended, or said it will (failed to open, or answered stop). */
  gone: boolean;
}

function workerPath(): string {
  return join(packageRoot(), 'dist', 'src', 'queues', 'worker.js');
}

export async function forwardQueues(config: ForwardConfig): Promise<number> {
  const { say, print, close: closeOutput } = forwardOutput(false);
  let failure: string | null = null;
  let finish: () => void = () => {};
  const done = new Promise<void>((resolve) => {
    finish = resolve;
  });
  const fail = (sentence: string) => {
    failure ??= sentence;
    finish();
  };
  onStopSignal(finish);

  let seq = 0;
  const waiting = new Map<number, { left: Set<number>; resolve: () => void }>();
  let readyLeft = config.queues;
  let allReady: () => void = () => {};
  const ready = new Promise<void>((resolve) => {
    allReady = resolve;
  });

  const queues: Queue[] = [];
  for (let i = 0; i < config.queues; i++) {
    const data: QueueWorkerData = { config, queue: i };
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
    queues.push(q);
    worker.on('message', (m: FromQueue) => {
      switch (m.type) {
        case 'ready':
          q.ports = m.ports;
          if (--readyLeft === 0) allReady();
          break;
        case 'failed':
          q.gone = true;
          answer(null);
          fail(`queue ${i}: ${m.message}`);
          break;
        case 'fatal':
          fail(`queue ${i}: ${m.message}`);
          break;
        case 'note':
          say(`tapyard: queue ${i}: ${m.sentence}`);
          break;
        case 'sample': {
          q.last = m.sample;
          const round = waiting.get(m.seq);
          round?.left.delete(i);
          if (round !== undefined && round.left.size === 0) round.resolve();
          break;
        }
        case 'stopped':
          q.last = m.sample;
          q.gone = true;
          answer(m.sample);
          break;
      }
    });
    // A thread that throws outside the loop's own error handling is a bug: one sentence, not a trace.
    worker.on('error', (err) => fail(`queue ${i} failed: ${err.message.split('\n')[0]}`));
    worker.on('exit', (code) => {
      // terminate() after a queue answered stop (or said it failed) ends it with code 1: not news.
      if (!q.gone && code !== 0) fail(`queue ${i} ended with exit code ${code}`);
      if (!q.gone) fail(`queue ${i} ended by itself`);
      q.gone = true;
      answer(null);
      // A round of samples waiting for it would wait forever.
      for (const round of waiting.values()) {
        round.left.delete(i);
        if (round.left.size === 0) round.resolve();
      }
    });
  }
  const send = (q: Queue, message: ToQueue) => {
    if (!q.gone) q.worker.postMessage(message);
  };
  /** Every live queue's counters now; a queue that has gone keeps its last ones. */
  const sampleAll = () => {
    const id = ++seq;
    return new Promise<void>((resolve) => {
      const round = { left: new Set<number>(), resolve };
      queues.forEach((q, i) => {
        if (!q.gone) round.left.add(i);
      });
      if (round.left.size === 0) return resolve();
      waiting.set(id, round);
      for (const q of queues) send(q, { type: 'sample', seq: id });
    }).finally(() => waiting.delete(id));
  };

  await Promise.race([ready, done]);
  const started = process.hrtime.bigint();
  const elapsed = () => Number(process.hrtime.bigint() - started) / 1e9;
  const names = config.ports.map((p, i) => ({ name: p.name, device: queues[0]!.ports?.[i]?.device ?? p.name }));
  const report = (type: CountersReport['type'], previous: CountersReport | null) =>
    queuesReport(
      type,
      names,
      queues.map((q) => q.last ?? emptySample(config.ports.length)),
      elapsed(),
      previous,
      type === 'final' ? failure : null,
    );

  const timers: NodeJS.Timeout[] = [];
  if (failure === null && readyLeft === 0) {
    say(
      `tapyard: forwarding ${queues[0]!.ports!.map((p) => p.banner).join(' <-> ')} on ${config.queues} queues, ` +
        'one thread each; Ctrl-C to stop',
    );
    // Counters are the run's output, wherever they come from (SIGUSR1, --stats, the end): stdout.
    onInfoSignal(
      () =>
        void sampleAll().then(() => {
          const now = report('interval', null);
          if (config.json) print(JSON.stringify(now));
          else printReport(now, print);
        }),
    );
    if (config.durationS !== null) timers.push(setTimeout(finish, config.durationS * 1000));
    if (config.stats) {
      let last: CountersReport | null = null;
      let busy = false;
      timers.push(
        setInterval(() => {
          if (busy) return; // a queue is slow to answer: skip a line rather than pile up requests
          busy = true;
          void sampleAll().then(() => {
            busy = false;
            const now = report('interval', last);
            print(config.json ? JSON.stringify(now) : statsLine(now));
            last = now;
          });
        }, 1000),
      );
    }
  }

  await done;
  for (const t of timers) clearInterval(t);
  onInfoSignal(() => {});
  for (const q of queues) send(q, { type: 'stop' });
  const late = await Promise.race([
    Promise.all(queues.map((q) => q.stopped)).then(() => false),
    new Promise<boolean>((resolve) => setTimeout(() => resolve(true), STOP_WAIT_MS).unref()),
  ]);
  if (late) {
    const slow = queues.flatMap((q, i) => (q.gone ? [] : [i]));
    failure ??= `queue ${slow.join(', ')} did not stop within ${STOP_WAIT_MS / 1000} s; its last counters are shown`;
  }
  await Promise.all(queues.map((q) => q.worker.terminate()));
  onStopSignal(null);

  const final = report('final', null);
  if (config.json) print(JSON.stringify(final));
  else printReport(final, print);
  closeOutput();
  if (failure !== null) {
    say(`tapyard: ${failure}`);
    return 1;
  }
  return 0;
}

function emptySample(ports: number): QueueSample {
  const none = { rxFrames: 0, rxBytes: 0, txFrames: 0, txBytes: 0, splicedFrames: 0, drops: {} };
  return {
    ports: Array.from({ length: ports }, () => none),
    kernel: Array.from({ length: ports }, () => null),
    ledger: { rx: 0, clones: 0, tx: 0, drops: 0, queued: 0 },
  };
}
