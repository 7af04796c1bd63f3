// Runs a CLI command's function in this process, with what it prints captured: console.log as
// stdout, process.stderr.write as stderr. For the commands that return their exit status.

import { vi } from 'vitest';

export interface CommandRun {
  code: number;
  out: string;
  err: string;
}

export async function runCommand(
  command: (argv: string[]) => Promise<number> | number,
  argv: string[],
): Promise<CommandRun> {
  let out = '';
  let err = '';
  vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => {
    out += `${args.join(' ')}\n`;
  });
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    err += String(chunk);
    return true;
  });
  try {
    return { code: await command(argv), out, err };
  } finally {
    vi.restoreAllMocks();
  }
}
