// Errors at the edges are values with a code and one clear sentence. The CLI prints the
// sentence and exits non-zero; nobody sees a stack trace for bad input.

export class TapyardError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'TapyardError';
  }
}
