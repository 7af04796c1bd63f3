// A small schema for documents (topology files): each field declared once with its type and one
// line of help. The same declarations check a parsed YAML or JSON document, node by node, so an
// error names the key and its line, and print the JSON Schema published in docs/, so the file
// format and the schema cannot disagree.

import { isMap, isScalar, isSeq, type LineCounter, type Node, Scalar } from 'yaml';
import { suggest } from '../grammar/keys.js';
import { quote } from '../grammar/quote.js';
import { usageError } from '../grammar/value.js';

export type Shape =
  | { readonly type: 'string'; readonly pattern?: RegExp; readonly shape?: string }
  | { readonly type: 'enum'; readonly words: readonly string[] }
  | { readonly type: 'boolean' }
  | { readonly type: 'integer'; readonly min: number; readonly max: number }
  | { readonly type: 'object'; readonly fields: Fields }
  | { readonly type: 'array'; readonly item: Shape; readonly maxItems: number }
  /** A string, or a map whose values are scalars (a port written out key by key); `text` is not a key. */
  | { readonly type: 'text-or-map'; readonly required: readonly string[] };

export interface Field {
  readonly shape: Shape;
  readonly help: string;
  readonly required?: boolean;
  readonly fallback?: string | boolean | number;
}
export type Fields = Readonly<Record<string, Field>>;

export const str = (pattern?: RegExp, shape?: string): Shape => ({
  type: 'string',
  ...(pattern === undefined ? {} : { pattern }),
  ...(shape === undefined ? {} : { shape }),
});
export const words = (w: readonly string[]): Shape => ({ type: 'enum', words: w });
export const bool: Shape = { type: 'boolean' };
export const int = (min: number, max: number): Shape => ({ type: 'integer', min, max });
export const obj = (fields: Fields): Shape => ({ type: 'object', fields });
export const arr = (item: Shape, maxItems: number): Shape => ({ type: 'array', item, maxItems });

/** Where in the document a check is: the file, its line table, the key path (`guests[0].mode`). */
export interface Where {
  readonly file: string;
  readonly lines: LineCounter;
  readonly path: string;
  /** The line of the key whose value is being checked. */
  readonly keyLine?: number;
}

/** `file:line: path: sentence`, the one line every error about a document is. */
export function docError(file: string, line: number, path: string, sentence: string): Error {
  return usageError(`${file}:${line}: ${path === '' ? '' : `${path}: `}${sentence}`);
}

/**
 * Check `node` against `shape` and return it as plain data. Objects come back with a `line`
 * (where they start) beside their fields, so later checks can point at the right line too.
 */
export function check(node: Node | null, shape: Shape, at: Where): unknown {
  const line = lineOf(node, at);
  const fail = (sentence: string) => docError(at.file, line, at.path, sentence);
  const scalar = isScalar(node) ? (node as Scalar).value : undefined;
  const what = describe(node);
  switch (shape.type) {
    case 'string': {
      if (typeof scalar !== 'string') throw fail(`must be text${shape.shape ? ` (${shape.shape})` : ''}, not ${what}`);
      if (shape.pattern !== undefined && !shape.pattern.test(scalar))
        throw fail(`must be ${shape.shape ?? `text matching ${shape.pattern.source}`}, not ${quote(scalar)}`);
      return scalar;
    }
    case 'enum':
      if (typeof scalar !== 'string' || !shape.words.includes(scalar))
        throw fail(`must be one of ${shape.words.join(', ')}, not ${what}`);
      return scalar;
    case 'boolean':
      if (typeof scalar !== 'boolean') throw fail(`must be true or false, not ${what}`);
      return scalar;
    case 'integer':
      if (typeof scalar !== 'number' || !Number.isInteger(scalar) || scalar < shape.min || scalar > shape.max)
        throw fail(`must be a whole number from ${shape.min} to ${shape.max}, not ${what}`);
      return scalar;
    case 'array': {
      if (!isSeq(node)) throw fail(`must be a list, not ${what}`);
      if (node.items.length > shape.maxItems) throw fail(`has ${node.items.length} items; at most ${shape.maxItems}`);
      return node.items.map((item, i) => check(item as Node, shape.item, { ...at, path: `${at.path}[${i}]` }));
    }
    case 'text-or-map': {
      // Text comes back as { line, text }, a map as { line, ...its keys }.
      if (typeof scalar === 'string') return { line, text: scalar };
      if (!isMap(node)) throw fail(`must be text or a map, not ${what}`);
      const out: Record<string, unknown> = { line };
      for (const pair of node.items) {
        const k = keyText(pair.key as Node, at);
        const v = pair.value as Node | null;
        const value = isScalar(v) ? (v as Scalar).value : undefined;
        if (!['string', 'number', 'boolean'].includes(typeof value))
          throw docError(
            at.file,
            lineOf(v ?? (pair.key as Node), at),
            `${at.path}.${k}`,
            `must be a value, not ${describe(v)}`,
          );
        out[k] = value;
      }
      for (const r of shape.required) if (!(r in out)) throw fail(`needs ${r}`);
      return out;
    }
    case 'object': {
      if (!isMap(node)) throw fail(`must be a map of keys, not ${what}`);
      const out: Record<string, unknown> = { line };
      const known = Object.keys(shape.fields);
      for (const pair of node.items) {
        const k = keyText(pair.key as Node, at);
        const keyLine = lineOf(pair.key as Node, at);
        const field = shape.fields[k];
        const where = at.path === '' ? k : `${at.path}.${k}`;
        if (field === undefined)
          throw docError(at.file, keyLine, at.path, `unknown key ${quote(k)}${suggest(k, known)}`);
        if (k in out) throw docError(at.file, keyLine, where, 'is given twice');
        const value = pair.value as Node | null;
        // `key:` with nothing after it is a null scalar on the key's own line.
        out[k] = check(value?.range ? value : null, field.shape, { ...at, path: where, keyLine });
      }
      for (const [k, f] of Object.entries(shape.fields)) {
        if (k in out) continue;
        if (f.required) throw fail(`needs the key ${k}`);
        if (f.fallback !== undefined) out[k] = f.fallback;
      }
      return out;
    }
  }
}

function keyText(node: Node, at: Where): string {
  const v = isScalar(node) ? (node as Scalar).value : undefined;
  if (typeof v !== 'string')
    throw docError(at.file, lineOf(node, at), at.path, `a key must be text, not ${describe(node)}`);
  return v;
}

/** A missing value (`key:` with nothing after it) is reported on its key's line. */
function lineOf(node: Node | null | undefined, at: Where): number {
  if (node?.range === undefined || node.range === null) return at.keyLine ?? 1;
  return at.lines.linePos(node.range[0]).line;
}

function describe(node: Node | null | undefined): string {
  if (node === null || node === undefined) return 'nothing';
  if (isMap(node)) return 'a map';
  if (isSeq(node)) return 'a list';
  if (node instanceof Scalar) {
    const v = node.value;
    if (v === null) return 'nothing';
    if (typeof v === 'string') return quote(v);
    return `${typeof v} ${String(v)}`;
  }
  return 'an unknown value';
}

/** The JSON Schema (draft 2020-12) of a shape, with each field's help as its description. */
export function jsonSchema(shape: Shape, help?: string): Record<string, unknown> {
  const d = help === undefined ? {} : { description: help };
  switch (shape.type) {
    case 'string':
      return { type: 'string', ...(shape.pattern ? { pattern: shape.pattern.source } : {}), ...d };
    case 'enum':
      return { enum: [...shape.words], ...d };
    case 'boolean':
      return { type: 'boolean', ...d };
    case 'integer':
      return { type: 'integer', minimum: shape.min, maximum: shape.max, ...d };
    case 'array':
      return { type: 'array', items: jsonSchema(shape.item), maxItems: shape.maxItems, ...d };
    case 'text-or-map':
      return {
        oneOf: [
          { type: 'string' },
          {
            type: 'object',
            required: [...shape.required],
            additionalProperties: { type: ['string', 'number', 'boolean'] },
          },
        ],
        ...d,
      };
    case 'object':
      return {
        type: 'object',
        properties: Object.fromEntries(
          Object.entries(shape.fields).map(([k, f]) => [
            k,
            {
              ...jsonSchema(f.shape, f.help),
              ...(f.fallback === undefined ? {} : { default: f.fallback }),
            },
          ]),
        ),
        required: Object.entries(shape.fields)
          .filter(([, f]) => f.required)
          .map(([k]) => k),
        additionalProperties: false,
        ...d,
      };
  }
}
