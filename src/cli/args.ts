// Command-line parsing shared by the commands: node's parseArgs, with its errors turned into
// one clear sentence.

import { type ParseArgsConfig, parseArgs } from 'node:util';
import { TapyardError } from '../error.js';

type Options = NonNullable<ParseArgsConfig['options']>;

export function parse<T extends Options>(command: string, argv: string[], options: T) {
  try {
    return parseArgs({ args: argv, options, strict: true, allowPositionals: true });
  } catch (err) {
    throw new TapyardError('EUSAGE', `${command}: ${explain(err)} (see tapyard ${command} --help)`);
  }
}

/** parseArgs's messages, reworded as one sentence each. */
function explain(err: unknown): string {
  const message = err instanceof Error ? err.message.split('\n')[0]! : String(err);
  const option = /'(-[^' ]+)/.exec(message)?.[1] ?? 'an option';
  if (/argument is ambiguous|argument missing/.test(message)) return `${option.replace(/ .*/, '')} needs a value`;
  if (/^Unknown option/.test(message)) return `unknown option '${option}'`;
  if (/does not take an argument/.test(message)) return `${option} takes no value`;
  if (/Unexpected argument/.test(message)) return `unexpected argument ${/'([^']*)'/.exec(message)?.[1] ?? ''}`;
  return message.replace(/\. To specify.*$/, '');
}

/** A whole number within [min, max], or a one-line error naming the option. */
export function integer(
  command: string,
  option: string,
  text: string | undefined,
  fallback: number,
  min: number,
  max: number,
): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new TapyardError(
      'EUSAGE',
      `${command}: --${option} must be a whole number from ${min} to ${max}, not '${text}'`,
    );
  }
  return n;
}

/** A positive number of seconds, or a one-line error. */
export function seconds(command: string, option: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0)
    throw new TapyardError('EUSAGE', `${command}: --${option} must be a positive number of seconds, not '${text}'`);
  return n;
}
