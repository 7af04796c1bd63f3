import { describe, expect, it } from 'vitest';
import { KERNEL_COUNTERPARTS } from '../../../src/kernel/counterparts.js';
import { allReasons } from '../../../src/reason.js';
import { dropReasonsDoc } from '../../../src/reason-doc.js';

describe('kernel counterparts of the drop reasons', () => {
  it('maps declared reasons only, each to an SKB_DROP_REASON name and a function', () => {
    dropReasonsDoc(); // imports every module that declares reasons
    for (const [key, c] of Object.entries(KERNEL_COUNTERPARTS)) {
      expect(allReasons().has(key), key).toBe(true);
      expect(c.reason).toMatch(/^[A-Z][A-Z0-9_]+$/);
      expect(c.fn).toMatch(/^[a-z_][a-z0-9_]*$/);
    }
  });

  it('are in the generated table beside their reason', () => {
    expect(dropReasonsDoc()).toContain(
      '| `bridge-same-port` | bridge: the destination was learned on the ingress port and hairpin is off: dropped | ' +
        '`NOT_SPECIFIED` in `br_handle_frame_finish` |',
    );
  });
});
