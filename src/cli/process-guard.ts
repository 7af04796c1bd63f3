// Imported first by the CLI (src/cli/main.ts), before any other module is even loaded. Two jobs:
//
// SIGUSR1: Node starts its inspector, a debugger that runs any code it is sent, on SIGUSR1 unless
// a listener takes the signal: tapyard runs as root, so that would be a root door on
// 127.0.0.1:9229. The launcher (bin/tapyard) closes that door before Node starts; here SIGUSR1
// prints the counters instead (as dd does), and an inspector opened by NODE_OPTIONS=--inspect is
// closed at once.
//
// Every signal that would end the process ends it one way, from this module's first line on: the
// command that is running stops as Ctrl-C stops it (counters printed, sockets and created devices
// removed, status 0). A signal that arrives before the command has said how it stops is kept and
// handed to it as soon as it does, so the run stops before it has opened anything.

import inspector from 'node:inspector';
import { STOP_SIGNALS } from '../stop-signals.js';

let info: () => void = () => {};

let stopper: (() => void) | null = null;
let stopAsked = false;

/** What SIGUSR1 does (a running command prints its counters); nothing by default. */
export function onInfoSignal(handler: () => void): void {
  info = handler;
}

/**
 * What a stop signal does from now on (null: back to keeping it). If one came already, the
 * handler runs on the next tick: the command has not missed the request.
 */
export function onStopSignal(handler: (() => void) | null): void {
  stopper = handler;
  if (handler !== null && stopAsked) process.nextTick(handler);
}

process.on('SIGUSR1', () => info());
for (const signal of STOP_SIGNALS) {
  process.on(signal, () => {
    stopAsked = true;
    stopper?.();
  });
}
inspector.close();

/**
 * The pid of bin/tapyard when it started this process (null otherwise). It holds the stop signals
 * sent to it until this line has run, then hands them on: SIGURG tells it so (SIGURG's default is
 * to be ignored, so it is harmless should the variable have been inherited by someone else).
 */
export const launcher: number | null =
  process.env.TAPYARD_LAUNCHER !== undefined && process.env.TAPYARD_LAUNCHER === String(process.ppid)
    ? process.ppid
    : null;
delete process.env.TAPYARD_LAUNCHER;
if (launcher !== null) process.kill(launcher, 'SIGURG');
