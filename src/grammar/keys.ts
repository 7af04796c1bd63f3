// Declared keys: `name=value` options of a port spec, a switch or a trace topology. Each key has
// a name, a value type, a default and one line of help; reading a set of keys turns text into a
// typed object, and help is printed from the same declarations, so the two cannot disagree.

import { quote } from './quote.js';
import { usageError, type ValueType } from './value.js';

export interface Key<T> {
  readonly name: string;
  readonly shape: string;
  readonly help: string;
  /** The value when the key is not given; undefined for an optional key with no default. */
  readonly fallback: T;
  /** Shown in help when the default is worth saying (`default on`). */
  readonly shownDefault?: string;
  /** A bare key (`create`, no `=`) means this value; undefined: a bare key is an error. */
  readonly bare?: T;
  parse(text: string, where: string): T;
}

/** A key with a default. Flags (on|off) may be written bare, meaning on. */
export function key<T>(name: string, type: ValueType<T>, fallback: T, help: string): Key<T> {
  const bare = type.shape === 'on|off' ? ({ bare: true as T } as const) : {};
  // A list's default is said in its help when it matters: as text it would print nothing, or MACs as numbers.
  const shown =
    typeof fallback === 'boolean'
      ? fallback
        ? 'on'
        : 'off'
      : typeof fallback === 'object'
        ? undefined
        : String(fallback);
  return {
    name,
    shape: type.shape,
    help,
    fallback,
    ...(shown === undefined ? {} : { shownDefault: shown }),
    ...bare,
    parse: type.parse,
  };
}

/** A key that is absent unless given. */
export function optional<T>(name: string, type: ValueType<T>, help: string): Key<T | undefined> {
  return { name, shape: type.shape, help, fallback: undefined, parse: type.parse };
}

// biome-ignore lint/suspicious/noExplicitAny: a table of keys of any value type
export type Keys = Readonly<Record<string, Key<any>>>;
export type Read<K extends Keys> = { readonly [F in keyof K]: K[F] extends Key<infer T> ? T : never };

/**
 * The `key=value` options of one spec, in the order given, each taken once by the declaration
 * that knows it. What is left at the end is an error that names the closest known key.
 */
export class Options {
  private readonly given = new Map<string, string | null>();

  /** `where` starts every error about these options, e.g. "port wire". */
  constructor(
    readonly where: string,
    parts: readonly string[],
  ) {
    for (const part of parts) {
      if (part === '') throw usageError(`${where}: an empty option (two commas in a row?)`);
      const at = part.indexOf('=');
      const name = at < 0 ? part : part.slice(0, at);
      if (!/^[a-z][a-z0-9-]*$/.test(name)) throw usageError(`${where}: ${quote(name)} is not an option name`);
      if (this.given.has(name)) throw usageError(`${where}: ${name} is given twice`);
      this.given.set(name, at < 0 ? null : part.slice(at + 1));
    }
  }

  has(name: string): boolean {
    return this.given.has(name);
  }

  /** Read the declared keys that were given (and defaults for the rest). */
  take<K extends Keys>(keys: K): Read<K> {
    const out: Record<string, unknown> = {};
    for (const [field, k] of Object.entries(keys)) {
      out[field] = this.takeOne(k);
    }
    return Object.freeze(out) as Read<K>;
  }

  takeOne<T>(k: Key<T>): T {
    const text = this.given.get(k.name);
    if (text === undefined) return k.fallback;
    this.given.delete(k.name);
    const where = `${this.where}: ${k.name}`;
    if (text === null) {
      if (k.bare === undefined) throw usageError(`${where} needs a value (${k.name}=${k.shape})`);
      return k.bare;
    }
    return k.parse(text, where);
  }

  /**
   * Every option must have been taken. `elsewhere` maps keys that exist but do not apply here
   * to the reason (e.g. "is for role=lower"); the rest are unknown, with the closest known key.
   */
  finish(known: readonly string[], elsewhere: ReadonlyMap<string, string> = new Map()): void {
    for (const name of this.given.keys()) {
      const why = elsewhere.get(name);
      if (why !== undefined) throw usageError(`${this.where}: ${name} ${why}`);
      throw usageError(`${this.where}: unknown option ${quote(name)}${suggest(name, known)}`);
    }
  }
}

/** " (did you mean offload?)" for a near miss, else the list of known keys. */
export function suggest(name: string, known: readonly string[]): string {
  if (known.length === 0) return ': this takes no options';
  let best = '';
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const k of known) {
    const d = distance(name, k);
    if (d < bestDistance) {
      best = k;
      bestDistance = d;
    }
  }
  if (bestDistance <= Math.max(2, Math.floor(best.length / 3))) return ` (did you mean ${best}?)`;
  // A part of a longer key (mac for local-mac) is a near miss too.
  const longer = known.find((k) => name.length >= 3 && k.includes(name));
  if (longer !== undefined) return ` (did you mean ${longer}?)`;
  return ` (known: ${known.join(', ')})`;
}

/** Levenshtein distance, for suggestions. */
function distance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) {
      next[j] = Math.min(row[j]! + 1, next[j - 1]! + 1, row[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    row = next;
  }
  return row[b.length]!;
}

/** Help lines for declared keys: `  name=SHAPE   help (default X)`. */
export function keyHelp(keys: readonly Key<unknown>[], indent = '  ', width = 22): string[] {
  return keys.map((k) => {
    const left = k.bare === true ? k.name : `${k.name}=${k.shape}`;
    const dflt = k.shownDefault !== undefined && k.shownDefault !== 'off' ? ` (default ${k.shownDefault})` : '';
    return `${indent}${left.padEnd(width - 1)} ${k.help}${dflt}`;
  });
}
