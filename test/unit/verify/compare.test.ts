// The comparison --verify makes, without a kernel: copies per station must match, every drop the
// model made must be one the kernel made (by the table of counterparts), and the kernel made no other.

import { describe, expect, it } from 'vitest';
import { compare, type ModelFrame } from '../../../src/verify/verify.js';

const frame = (over: Partial<ModelFrame>): ModelFrame => ({
  name: 'echo request a → b',
  from: 'a',
  to: 'b',
  bytes: new Uint8Array(60),
  copies: {},
  drops: [],
  lost: null,
  ...over,
});
const SAME_PORT = {
  reason: 'NOT_SPECIFIED',
  fn: 'br_handle_frame_finish',
  where: "the switch's port toward the lower",
};

describe('--verify compares', () => {
  it('agrees when the copies and the drops are the same', () => {
    const v = compare(frame({ drops: [{ hop: '[2] switch', reason: 'bridge-same-port' }] }), {}, [SAME_PORT]);
    expect(v.agree).toBe(true);
    expect(v.model.drops[0]!.kernel).toBe('NOT_SPECIFIED in br_handle_frame_finish');
  });

  it('disagrees on a copy count, naming the station', () => {
    const v = compare(frame({ copies: { b: 1, ext: 1 } }), { ext: 1 }, []);
    expect(v.agree).toBe(false);
    expect(v.differences).toEqual(['b: the model delivers 1 copy, the kernel 0']);
  });

  it('disagrees when the kernel frees the frame elsewhere, or frees one the model does not drop', () => {
    const elsewhere = compare(frame({ drops: [{ hop: '[2] switch', reason: 'bridge-same-port' }] }), {}, [
      { reason: 'NO_TX_TARGET', fn: 'br_handle_frame_finish', where: 'bridge port a' },
    ]);
    expect(elsewhere.differences).toEqual([
      'the model drops it at [2] switch (bridge-same-port); ' +
        'the kernel has no NOT_SPECIFIED in br_handle_frame_finish for it',
      'the kernel dropped a copy (NO_TX_TARGET in br_handle_frame_finish) that the model does not drop',
    ]);
    expect(compare(frame({ copies: { b: 1 } }), { b: 1 }, [SAME_PORT]).agree).toBe(false);
  });

  it('compares only copies when a model drop has no kernel counterpart in the table', () => {
    const v = compare(frame({ drops: [{ hop: '[1] macvlan', reason: 'macvlan-filtered' }] }), {}, [SAME_PORT]);
    expect(v.model.drops[0]!.kernel).toBeNull();
    expect(v.agree).toBe(true);
  });
});
