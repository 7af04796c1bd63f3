// Command-line flags, declared once per command: the parser and the help text read the same
// table. `--budget -3` is the value -3 for --budget (a flag that takes a value always takes the
// next word), so the error is about the number, not about a missing value.

import { suggest } from './keys.js';
import { quote } from './quote.js';
import { usageError, type ValueType } from './value.js';

interface FlagBase {
  readonly name: string;
  readonly short?: string;
  readonly help: string;
}
export interface SwitchFlag extends FlagBase {
  readonly kind: 'switch';
}
export interface ValueFlag<T> extends FlagBase {
  readonly kind: 'value';
  readonly type: ValueType<T>;
  readonly multiple: boolean;
  readonly shownDefault?: string;
}
// biome-ignore lint/suspicious/noExplicitAny: a table of flags of any value type
export type Flag = SwitchFlag | ValueFlag<any>;
export type Flags = Readonly<Record<string, Flag>>;

type FlagValue<F> = F extends SwitchFlag
  ? boolean
  : F extends ValueFlag<infer T>
    ? F['multiple'] extends true
      ? readonly T[]
      : T | undefined
    : never;
export type FlagValues<F extends Flags> = { readonly [K in keyof F]: FlagValue<F[K]> };

/** A flag without a value: `--json`. */
export function onOff(name: string, help: string, short?: string): SwitchFlag {
  return { kind: 'switch', name, help, ...(short === undefined ? {} : { short }) };
}

/** A flag with a value: `--budget N`. */
export function valued<T>(name: string, type: ValueType<T>, help: string, shownDefault?: string): ValueFlag<T> {
  return { kind: 'value', name, type, help, multiple: false, ...(shownDefault === undefined ? {} : { shownDefault }) };
}

/** A flag that may be repeated: `--port SPEC --port SPEC`. */
export function repeated<T>(name: string, type: ValueType<T>, help: string): ValueFlag<T> & { multiple: true } {
  return { kind: 'value', name, type, help, multiple: true };
}

export const HELP_FLAG = onOff('help', 'this text', 'h');

export interface CommandLine<F extends Flags> {
  values: FlagValues<F>;
  positionals: string[];
}

export function parseCommandLine<F extends Flags>(argv: readonly string[], flags: F): CommandLine<F> {
  const byName = new Map<string, [string, Flag]>();
  for (const [field, f] of Object.entries(flags)) {
    byName.set(`--${f.name}`, [field, f]);
    if (f.short !== undefined) byName.set(`-${f.short}`, [field, f]);
  }
  const values: Record<string, unknown> = {};
  const texts: Record<string, string[]> = {};
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i]!;
    if (word === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!word.startsWith('-') || word === '-') {
      positionals.push(word);
      continue;
    }
    const eq = word.indexOf('=');
    const name = word.startsWith('--') && eq > 0 ? word.slice(0, eq) : word;
    const found = byName.get(name);
    if (found === undefined) {
      const known = Object.values(flags).map((f) => `--${f.name}`);
      throw usageError(`unknown option ${quote(name)}${suggest(name, known)}`);
    }
    const [field, f] = found;
    if (f.kind === 'switch') {
      if (eq > 0) throw usageError(`--${f.name} takes no value`);
      values[field] = true;
      continue;
    }
    let text: string;
    if (eq > 0) text = word.slice(eq + 1);
    else if (i + 1 < argv.length) text = argv[++i]!;
    else throw usageError(`--${f.name} needs a value (--${f.name} ${f.type.shape})`);
    if (!f.multiple && texts[field] !== undefined) throw usageError(`--${f.name} is given twice`);
    texts[field] = [...(texts[field] ?? []), text];
  }
  for (const [field, f] of Object.entries(flags)) {
    if (f.kind === 'switch') {
      values[field] ??= false;
      continue;
    }
    const given = (texts[field] ?? []).map((t) => f.type.parse(t, `--${f.name}`));
    values[field] = f.multiple ? given : given[0];
  }
  return { values: Object.freeze(values) as FlagValues<F>, positionals };
}

/** Help lines for a command's flags, from the same table the parser reads. */
export function flagHelp(flags: Flags, width = 22): string[] {
  return Object.values(flags).map((f) => {
    const names = `${f.short === undefined ? '' : `-${f.short}, `}--${f.name}`;
    const left = f.kind === 'switch' ? names : `${names} ${f.type.shape}`;
    const dflt = f.kind === 'value' && f.shownDefault !== undefined ? ` (default ${f.shownDefault})` : '';
    const again = f.kind === 'value' && f.multiple ? ' (repeat it)' : '';
    return `  ${left.padEnd(width - 1)} ${f.help}${dflt}${again}`;
  });
}
