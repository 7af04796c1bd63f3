// Progress on stderr, so it never mixes with a report on stdout: step k of n, the time since the
// start, what runs now. On a terminal one line rewritten in place; elsewhere (a log, CI, a pipe)
// one line per step, so a 20-minute run is never silent.

export type ProgressMode = 'terminal' | 'lines' | 'off';

export class Progress {
  private done = 0;
  private readonly started = Date.now();

  constructor(
    private total: number,
    private readonly mode: ProgressMode,
  ) {}

  /** Steps planned after the start (a run's follow-up rounds), or taken back when they do not run. */
  add(steps: number): void {
    this.total += steps;
  }

  step(label: string): void {
    this.done++;
    if (this.mode === 'off') return;
    const secs = Math.round((Date.now() - this.started) / 1000);
    const clock = `${Math.floor(secs / 60)}:${String(secs % 60).padStart(2, '0')}`;
    const line = `[${this.done}/${this.total}] ${clock} ${label}`;
    if (this.mode === 'lines') {
      process.stderr.write(`${line}\n`);
      return;
    }
    const cols = process.stderr.columns ?? 100;
    process.stderr.write(`\r\x1b[K${cols >= 40 ? line.slice(0, cols - 1) : line}`);
  }

  finish(): void {
    if (this.mode === 'terminal') process.stderr.write('\r\x1b[K');
  }
}
