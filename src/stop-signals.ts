// Which signals stop a program, written once: for the CLI's process guard (src/cli/process-guard.ts),
// for `tapyard bench`, which hands them to its child, and for the harnesses that must remove their
// labs however they are stopped (the soak, the tests' lab helper). Importing this installs nothing.

/** How a person or a script asks a program to stop: Ctrl-C, kill, a terminal gone away. */
export const STOP_REQUESTS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/**
 * What ends a run with its counters: the requests above, Ctrl-\, and every other signal whose
 * default is to end the process and that is not a fault (SIGSEGV and its kind are the process's
 * own crash; SIGKILL and SIGSTOP cannot be caught).
 */
export const STOP_SIGNALS: readonly NodeJS.Signals[] = [
  ...STOP_REQUESTS,
  'SIGQUIT',
  'SIGUSR2',
  'SIGALRM',
  'SIGVTALRM',
  'SIGPROF',
  'SIGIO',
  'SIGPWR',
  'SIGXCPU',
  'SIGSTKFLT',
];
