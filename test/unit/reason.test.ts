// Reasons: short stable keys with a sentence each, declared once, listed in docs/drop-reasons.md.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { packageRoot } from '../../src/package-root.js';
import { allReasons, describeReason, reasons } from '../../src/reason.js';
import { dropReasonsDoc } from '../../src/reason-doc.js';

describe('reasons', () => {
  it('are short kebab-case keys, each with a sentence', () => {
    expect(allReasons().size).toBeGreaterThan(40);
    for (const [key, text] of allReasons()) {
      expect(key).toMatch(/^[a-z][a-z0-9]*(-[a-z0-9]+)*$/);
      expect(text.length).toBeGreaterThan(10);
    }
  });

  it('refuse one key with two meanings, and describe unknown keys as themselves', () => {
    expect(() => reasons({ X: ['runt', 'something else entirely'] })).toThrow(/declared twice/);
    expect(describeReason('tx-EINVAL')).toBe('tx-EINVAL');
  });

  it('docs/drop-reasons.md is what the declarations draw (npm run schemas writes it)', () => {
    expect(readFileSync(join(packageRoot(), 'docs', 'drop-reasons.md'), 'utf8')).toBe(dropReasonsDoc());
  });
});
