#!/usr/bin/env node
// The floor rule: a room of src/ (a folder, or a file directly in src/) imports only rooms on
// lower floors, so no arrow runs back up and no two rooms lean on each other. scripts/lint runs
// it; `node scripts/floors.mjs` prints one line per arrow that breaks the rule and exits 1.
// Plain JavaScript so that it runs before (and without) a build; scripts/floors.d.mts types it
// for test/unit/floors.test.ts. docs/architecture.md explains the floors in words.

import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The floors from the bottom up. A room imports rooms of lower floors only, never its own floor's.
 * A room listed here that src/ does not (yet) have costs nothing.
 */
export const FLOORS = [
  ['error', 'mac', 'reason', 'stop-signals'], // what everything says: errors, MACs, reasons, stop signals
  ['frame', 'kernel', 'package-root'], // bytes to views (and back, and to text for display); the kernel's names
  ['grammar'], // text to values, addresses among them as frame/ holds them
  ['spec', 'switch', 'vlan', 'vm'], // frames described; the switch models; VLAN tags; the guest image
  ['filter', 'guest'], // the virtio receive filter; the built-in guest host
  ['port', 'sim'], // ports (devices and sockets); the trace/why simulator
  ['impair', 'send', 'verify', 'diagram'], // impairments; `send`; the model checked against the kernel; diagrams
  ['engine', 'reason-doc'], // the forwarder; the drop-reason document
  ['config', 'capture'], // typed configs of every command, read from text; pcapng with decisions
  ['lab', 'run', 'trust'], // lab topologies; running a forward (and its queue workers); trusting a guest
  ['ui'], // the web view
  ['cli', 'index'], // the commands; the library's entry point
];

/**
 * Arrows that still run back up, each with its reason. The rule fails when one of these no longer
 * occurs (delete it then), so the list only ever shrinks.
 */
export const EXCEPTIONS = [];

/** The room of a file under src/: its folder, or the file's own name for one directly in src/. */
export function roomOf(file) {
  const parts = file.split('/');
  if (parts[0] !== 'src' || parts.length < 2) return null;
  return parts.length > 2 ? parts[1] : parts[1].replace(/\.ts$/, '');
}

const IMPORT = /(?:\bfrom|\bimport)\s*\(?\s*(['"])(\.{1,2}\/[^'"]+)\1/g;

/** The files under src/ a module's relative imports (static, type-only, dynamic, re-exports) name. */
export function importsOf(file, text) {
  const targets = [];
  for (const m of text.matchAll(IMPORT)) {
    targets.push(path.posix.normalize(path.posix.join(path.posix.dirname(file), m[2])).replace(/\.js$/, '.ts'));
  }
  return targets;
}

/** One sentence per arrow that breaks the rule, per room on no floor, and per stale exception. */
export function floorProblems(modules, floors = FLOORS, exceptions = EXCEPTIONS) {
  const floorOf = new Map();
  floors.forEach((rooms, i) => {
    for (const room of rooms) floorOf.set(room, i);
  });
  const problems = [];
  const unplaced = new Set();
  const used = new Set();
  for (const { file, text } of modules) {
    const from = roomOf(file);
    if (from === null) continue;
    if (!floorOf.has(from)) unplaced.add(from);
    for (const target of importsOf(file, text)) {
      const to = roomOf(target);
      if (to === null || to === from) continue;
      if (!floorOf.has(to)) unplaced.add(to);
      if (!floorOf.has(from) || !floorOf.has(to) || floorOf.get(to) < floorOf.get(from)) continue;
      const exception = exceptions.find((e) => e.from === file && e.to === target);
      if (exception !== undefined) {
        used.add(exception);
        continue;
      }
      const how = floorOf.get(to) === floorOf.get(from) ? 'on the same floor as' : 'above';
      problems.push(`${file} imports ${target}: ${to}/ is ${how} ${from}/`);
    }
  }
  for (const room of [...unplaced].sort()) {
    problems.push(`src/${room} is on no floor: add it to FLOORS in scripts/floors.mjs`);
  }
  for (const e of exceptions) {
    if (!used.has(e)) problems.push(`${e.from} no longer imports ${e.to}: delete its exception in scripts/floors.mjs`);
  }
  return problems;
}

/** Every .ts file under ROOT/src, as repository paths with their text. */
export function readModules(root) {
  return readdirSync(path.join(root, 'src'), { recursive: true })
    .filter((name) => name.endsWith('.ts'))
    .map((name) => {
      const file = path.posix.join('src', name.split(path.sep).join('/'));
      return { file, text: readFileSync(path.join(root, file), 'utf8') };
    });
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
  const problems = floorProblems(readModules(root));
  for (const p of problems) console.error(`floors: ${p}`);
  process.exit(problems.length === 0 ? 0 : 1);
}
