// One queue of `tapyard forward --queues N`, on its own thread: it opens queue i of every port
// (a macvtap opened once more, a multi-queue tap attached once more), runs the same Forwarder
// as a single-queue run on its own event loop and poller, and answers the main thread's
// requests for counters. The kernel chose which flows come to this queue; nothing here needs
// to know about the other queues.

import { parentPort, workerData } from 'node:worker_threads';
import type { Forwarder } from '../engine/forwarder.js';
import { TapyardError } from '../error.js';
import { describePort, type Port } from '../port/port.js';
import { assemble } from './assemble.js';
import type { FromQueue, QueueSample, QueueWorkerData, ToQueue } from './queue-protocol.js';

if (parentPort === null) throw new Error('src/run/queue-worker.ts runs only as a worker thread');
const main = parentPort;
const { config, queue } = workerData as QueueWorkerData;
const post = (message: FromQueue) => main.postMessage(message);

function sample(ports: readonly Port[], forwarder: Forwarder): QueueSample {
  return {
    ports: ports.map((p) => p.counters.snapshot()),
    kernel: ports.map((p) => (queue === 0 ? (p.kernelDrops?.() ?? null) : null)),
    ledger: forwarder.ledger(),
  };
}

async function run(): Promise<void> {
  let ports: readonly Port[] = [];
  let forwarder: Forwarder;
  try {
    ({ ports, forwarder } = assemble(config, {
      onNote: (sentence) => post({ type: 'note', sentence }),
      onFatal: (error) => post({ type: 'fatal', message: error.message }),
    }));
    await Promise.all(ports.map((p) => p.ready));
  } catch (err) {
    for (const port of ports) port.close();
    // A device error is one sentence; anything else is a bug, and its message is still one line.
    post({ type: 'failed', message: err instanceof TapyardError ? err.message : String(err) });
    main.close();
    return;
  }
  main.on('message', (message: ToQueue) => {
    if (message.type === 'sample') {
      post({ type: 'sample', seq: message.seq, sample: sample(ports, forwarder) });
      return;
    }
    forwarder.stop(); // counts what is still queued, closes every fd of this queue
    post({ type: 'stopped', sample: sample(ports, forwarder) });
    main.close();
  });
  post({ type: 'ready', ports: ports.map((p) => ({ device: p.device, banner: describePort(p) })) });
}

void run();
