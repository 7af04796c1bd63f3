// tapyard forward --queues N: the command around the queues' threads (src/run/queue-set.ts). It
// prints their summed counters on the stats interval, on SIGUSR1 and at the end, and stops them
// all on a signal, --duration, or the first queue that fails.

import type { ForwardConfig } from '../config/forward.js';
import { type CountersReport, printCounters, queuesReport, statsLine } from '../run/counters-report.js';
import { QueueSet } from '../run/queue-set.js';
import { forwardOutput } from './output.js';
import { onInfoSignal, onStopSignal } from './process-guard.js';

/** How long a queue may take to close its fds and answer stop before it is ended by force. */
const STOP_WAIT_MS = 5000;

type Report = (type: CountersReport['type'], previous: CountersReport | null) => CountersReport;

export async function forwardQueues(config: ForwardConfig): Promise<number> {
  const { say, print, close: closeOutput } = forwardOutput(false);
  let failure: string | null = null;
  let finish: () => void = () => {};
  const done = new Promise<void>((resolve) => {
    finish = resolve;
  });
  onStopSignal(finish);
  const queues = new QueueSet(config, {
    onFailure: (sentence) => {
      failure ??= sentence;
      finish();
    },
    onNote: (sentence) => say(`tapyard: ${sentence}`),
  });

  await Promise.race([queues.ready, done]);
  const started = process.hrtime.bigint();
  const elapsed = () => Number(process.hrtime.bigint() - started) / 1e9;
  const report: Report = (type, previous) =>
    queuesReport({
      type,
      names: queues.names(),
      samples: queues.samples(),
      seconds: elapsed(),
      previous,
      error: type === 'final' ? failure : null,
    });

  const timers: NodeJS.Timeout[] = [];
  if (failure === null && queues.isReady) {
    say(
      `tapyard: forwarding ${queues.banners().join(' <-> ')} on ${config.queues} queues, one thread each; ` +
        'Ctrl-C to stop',
    );
    // Counters are the run's output, wherever they come from (SIGUSR1, --stats, the end): stdout.
    onInfoSignal(() => void queues.sampleAll().then(() => printCounters(config.json, report('interval', null), print)));
    if (config.durationS !== null) timers.push(setTimeout(finish, config.durationS * 1000));
    if (config.stats) timers.push(statsTimer(config, queues, report, print));
  }

  await done;
  for (const t of timers) clearInterval(t);
  onInfoSignal(() => {});
  const slow = await queues.stop(STOP_WAIT_MS);
  if (slow.length > 0)
    failure ??= `queue ${slow.join(', ')} did not stop within ${STOP_WAIT_MS / 1000} s; its last counters are shown`;
  onStopSignal(null);

  printCounters(config.json, report('final', null), print);
  closeOutput();
  if (failure !== null) {
    say(`tapyard: ${failure}`);
    return 1;
  }
  return 0;
}

/** --stats: one line each second, from a fresh sample of every queue. */
function statsTimer(config: ForwardConfig, queues: QueueSet, report: Report, print: (line: string) => void) {
  let last: CountersReport | null = null;
  let busy = false;
  return setInterval(() => {
    if (busy) return; // a queue is slow to answer: skip a line rather than pile up requests
    busy = true;
    void queues.sampleAll().then(() => {
      busy = false;
      const now = report('interval', last);
      print(config.json ? JSON.stringify(now) : statsLine(now));
      last = now;
    });
  }, 1000);
}
