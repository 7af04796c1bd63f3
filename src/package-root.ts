// Where tapyard's own files are (the native addon, the compiled capture worker), whether the
// code runs compiled from dist/ or as TypeScript under the test runner.

import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TapyardError } from './error.js';

let root: string | null = null;

export function packageRoot(): string {
  if (root !== null) return root;
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new TapyardError('ENOPACKAGE', 'cannot find the tapyard package root');
    dir = up;
  }
  root = dir;
  return dir;
}
