// Where `forward` prints its counters: every time they are printed (SIGUSR1, --stats, the end of
// the run), standard output; sentences (status, warnings, errors) go to stderr. The counters go
// to stderr too when standard output carries the capture (`-`) or has been closed
// (`--stats | head -1`): a closed standard output ends what was printed there, not the run.

export interface Output {
  /** A line for stderr: status, warnings, the final sentence. */
  say(line: string): void;
  /** A line of counters: stdout while it is open, else stderr. */
  print(line: string): void;
  /** Stop watching standard output (at the end of the run). */
  close(): void;
}

export function forwardOutput(stdoutTaken: boolean): Output {
  let stdoutOpen = !stdoutTaken;
  const say = (line: string) => {
    process.stderr.write(`${line}\n`);
  };
  const onError = (err: NodeJS.ErrnoException) => {
    if (!stdoutOpen) return;
    stdoutOpen = false;
    say(`tapyard: warning: standard output closed (${err.code ?? 'error'}); forwarding goes on, counters go to stderr`);
  };
  process.stdout.on('error', onError);
  return {
    say,
    print: (line) => (stdoutOpen ? process.stdout.write(`${line}\n`) : say(line)),
    close: () => process.stdout.off('error', onError),
  };
}
