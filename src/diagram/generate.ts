// Draw every diagram from the models and write them to docs/diagrams/ (scripts/diagrams runs
// this). renderAll() is also what the diagram test compares with the committed files, so the
// pictures cannot drift from the code.

import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MACVLAN_MODE_NAMES } from '../switch/macvlan.js';
import { drawLabDiagram, LAB_KINDS, labFileName } from './lab-diagram.js';
import { diagramFileName, drawModeDiagram } from './mode-diagram.js';
import { modeDiagram, SENDER_KINDS } from './scenarios.js';

/** File name → SVG text, for every diagram. */
export function renderAll(): Map<string, string> {
  const files = new Map<string, string>();
  for (const mode of MACVLAN_MODE_NAMES)
    for (const sender of SENDER_KINDS) {
      const d = modeDiagram(mode, sender);
      files.set(diagramFileName(d), drawModeDiagram(d));
    }
  for (const kind of LAB_KINDS) files.set(labFileName(kind), drawLabDiagram(kind));
  return files;
}

/** Replace the SVGs in `dir` with what the models draw now. */
export function writeAll(dir: string): string[] {
  mkdirSync(dir, { recursive: true });
  const files = renderAll();
  for (const old of readdirSync(dir)) if (old.endsWith('.svg') && !files.has(old)) rmSync(join(dir, old));
  for (const [name, svg] of files) writeFileSync(join(dir, name), svg);
  return [...files.keys()];
}
