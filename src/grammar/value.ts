// The kinds of value an option can hold, each a parser from text to a typed value. Every option
// of every command and port spec reads its text through one of these, so `on` means the same
// everywhere and a bad value gets the same kind of sentence everywhere.

import { TapyardError } from '../error.js';
import { type Mac, parseMac } from '../mac.js';
import { quote } from './quote.js';

export interface ValueType<T> {
  /** How the value is written, for help and errors: `on|off`, `N`, `MAC`, `S`. */
  readonly shape: string;
  /** Text to value; throws a one-sentence usage error that starts with `where`. */
  parse(text: string, where: string): T;
}

export function usageError(sentence: string): TapyardError {
  return new TapyardError('EUSAGE', sentence);
}

function bad(where: string, text: string, expected: string): TapyardError {
  return usageError(`${where} must be ${expected}, not ${quote(text)}`);
}

/** on or off. A bare key in a port spec (`create`) means on. */
export const flag: ValueType<boolean> = {
  shape: 'on|off',
  parse(text, where) {
    if (text === 'on') return true;
    if (text === 'off') return false;
    throw bad(where, text, 'on or off');
  },
};

/** A whole number in [min, max]. */
export function integer(min: number, max: number): ValueType<number> {
  return {
    shape: 'N',
    parse(text, where) {
      const n = Number(text);
      if (!/^-?\d+$/.test(text.trim()) || !Number.isSafeInteger(n) || n < min || n > max) {
        throw bad(where, text, `a whole number from ${min} to ${max}`);
      }
      return n;
    },
  };
}

/** A whole number written in decimal or as 0x hex (an ethertype). */
export function hexOrDecimal(min: number, max: number): ValueType<number> {
  return {
    shape: 'N',
    parse(text, where) {
      const n = /^0x[0-9a-f]+$/i.test(text) ? Number.parseInt(text.slice(2), 16) : Number(text);
      if (!/^(0x[0-9a-f]+|\d+)$/i.test(text) || n < min || n > max) {
        throw bad(where, text, `a number from ${min} to 0x${max.toString(16)} (decimal or 0x hex)`);
      }
      return n;
    },
  };
}

/**
 * Seconds, as a number (fractions allowed), in (0, max]. Node's timers take at most 2^31-1 ms
 * (about 24.8 days); the bound keeps a long duration from firing at once.
 */
export function seconds(max = 2_147_483): ValueType<number> {
  return {
    shape: 'S',
    parse(text, where) {
      const n = Number(text);
      if (text.trim() === '' || !Number.isFinite(n) || n <= 0 || n > max) {
        throw bad(where, text, `a number of seconds above 0 and at most ${max}`);
      }
      return n;
    },
  };
}

/** A percentage, `30%` or `30`, from 0 to 100; the value is a fraction from 0 to 1. */
export const percent: ValueType<number> = {
  shape: 'P%',
  parse(text, where) {
    const digits = text.endsWith('%') ? text.slice(0, -1) : text;
    const n = Number(digits);
    if (digits.trim() === '' || !Number.isFinite(n) || n < 0 || n > 100)
      throw bad(where, text, 'a percentage from 0 to 100');
    return n / 100;
  },
};

export const mac: ValueType<Mac> = {
  shape: 'MAC',
  parse(text, where) {
    const m = parseMac(text);
    if (m === null) throw bad(where, text, 'a MAC address like 02:00:00:00:00:01');
    return m;
  },
};

/** One of a fixed set of words. */
export function oneOf<const T extends string>(words: readonly T[]): ValueType<T> {
  return {
    shape: words.join('|'),
    parse(text, where) {
      if ((words as readonly string[]).includes(text)) return text as T;
      throw bad(where, text, `one of ${words.join(', ')}`);
    },
  };
}

/** Items joined by `+` (a comma already separates options): `rx-mac=MAC+MAC`. Empty: none. */
export function list<T>(item: ValueType<T>): ValueType<readonly T[]> {
  return {
    shape: `${item.shape}+...`,
    parse(text, where) {
      if (text === '') return [];
      return text.split('+').map((part) => item.parse(part, where));
    },
  };
}

/** Free text, bounded in length, with no control characters (it ends up in messages and files). */
export function text(shape: string, maxLength = 4096): ValueType<string> {
  return {
    shape,
    parse(value, where) {
      if (value === '') throw usageError(`${where} needs a value`);
      if (value.length > maxLength) throw usageError(`${where} is longer than ${maxLength} characters`);
      // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it looks for
      if (/[\u0000-\u001f\u007f]/.test(value))
        throw usageError(`${where} contains control characters: ${quote(value)}`);
      return value;
    },
  };
}

/** What the kernel accepts as an interface name (dev_valid_name): 1-15 bytes, no '/', ':' or space. */
export const ifname: ValueType<string> = {
  shape: 'IFNAME',
  parse(value, where) {
    if (value === '.' || value === '..' || !/^[^/:\s]{1,15}$/.test(value) || Buffer.byteLength(value) > 15) {
      throw bad(where, value, 'an interface name (1-15 characters, no /, : or space)');
    }
    return value;
  },
};

/** A network namespace under /run/netns (what `ip netns` names): a plain file name, no path. */
export const netnsName: ValueType<string> = {
  shape: 'NETNS',
  parse(value, where) {
    if (!/^[A-Za-z0-9_.-]{1,64}$/.test(value) || value === '.' || value === '..') {
      throw bad(where, value, 'a network namespace name as ip netns lists it (letters, digits, . _ -)');
    }
    return value;
  },
};
