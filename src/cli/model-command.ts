// trace and why ask a model a question: whatever they refuse is their input — a bad flag, or a
// topology the kernel itself would refuse (two passthru endpoints) — so every refusal is one
// sentence with the usage exit status.

import { TapyardError } from '../error.js';

export async function modelCommand(run: () => number | Promise<number>): Promise<number> {
  try {
    return await run();
  } catch (err) {
    if (err instanceof TapyardError) {
      process.stderr.write(`tapyard: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
}
