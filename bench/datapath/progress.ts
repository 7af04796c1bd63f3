// A one-line progress display on a terminal: step k of n, elapsed time, what runs now.
// Written to stderr so it never mixes with a report on stdout; silent when stdout is not a
// terminal (a pipe, a file, a test).

export class Progress {
  private done = 0;
  private readonly started = Date.now();

  constructor(
    private readonly total: number,
    private readonly enabled: boolean,
  ) {}

  step(label: string): void {
    this.done++;
    if (!this.enabled) return;
    const secs = Math.round((Date.now() - this.started) / 1000);
    const clock = `${Math.floor(secs / 60)}m${String(secs % 60).padStart(2, '0')}s`;
    const width = String(this.total).length;
    const line = `[${String(this.done).padStart(width)}/${this.total}] ${clock}  ${label}`;
    const cols = process.stderr.columns ?? 100;
    process.stderr.write(`\r\x1b[K${cols >= 40 ? line.slice(0, cols - 1) : line}`);
  }

  note(text: string): void {
    if (this.enabled) process.stderr.write(`\r\x1b[K${text}\n`);
  }

  finish(): void {
    if (this.enabled) process.stderr.write('\r\x1b[K');
  }
}
