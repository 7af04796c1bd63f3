// Imported first by the CLI, before anything else runs. Node starts its inspector, a debugger
// that runs any code it is sent, on SIGUSR1 unless a listener takes the signal: tapyard runs as
// root, so that would be a root door on 127.0.0.1:9229. SIGUSR1 prints the counters instead (as
// dd does), and an inspector opened by NODE_OPTIONS=--inspect is closed at once.

import inspector from 'node:inspector';

let info: () => void = () => {};

/** What ends a run with its counters: Ctrl-C, kill, a terminal gone away, Ctrl-\. */
export const STOP_SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT'];

/** What SIGUSR1 does (a running command prints its counters); nothing by default. */
export function onInfoSignal(handler: () => void): void {
  info = handler;
}

process.on('SIGUSR1', () => info());
inspector.close();
