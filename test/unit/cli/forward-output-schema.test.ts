// The published schema of `forward --json` is generated from the one the tests validate with.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, expectTypeOf, it } from 'vitest';
import type { z } from 'zod';
import { packageRoot } from '../../../src/package-root.js';
import type { CountersReport } from '../../../src/run/counters-report.js';
import type { InjectAnswer } from '../../../src/run/inject-channel.js';
import { type ForwardOutputSchema, forwardOutputJsonSchema, type InjectedSchema } from '../../schema/forward-output.js';

describe('docs/forward-output.schema.json', () => {
  it('is what the schema the tests use generates (npm run schemas writes it)', () => {
    const committed = readFileSync(join(packageRoot(), 'docs', 'forward-output.schema.json'), 'utf8');
    expect(committed).toBe(forwardOutputJsonSchema());
  });

  it('describes the type the CLI prints', () => {
    expectTypeOf<z.infer<typeof ForwardOutputSchema>>().toEqualTypeOf<CountersReport>();
    expectTypeOf<z.infer<typeof InjectedSchema>>().toEqualTypeOf<InjectAnswer>();
  });
});
