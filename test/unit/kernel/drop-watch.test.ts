import { describe, expect, it } from 'vitest';
import { dropProgram, functionName, parseDropLine, reasonNames } from '../../../src/kernel/drop-watch.js';

describe('the drop watch, read', () => {
  it('names reasons from the tracepoint format', () => {
    const names = reasonNames('__print_symbolic(REC->reason, { 2, "NOT_SPECIFIED" }, { 74, "UNHANDLED_PROTO" })');
    expect([...names]).toEqual([
      [2, 'NOT_SPECIFIED'],
      [74, 'UNHANDLED_PROTO'],
    ]);
  });

  it('drops compiler suffixes from function names', () => {
    expect(functionName('__netif_receive_skb_core.constprop.0')).toBe('__netif_receive_skb_core');
    expect(functionName('br_handle_frame_finish')).toBe('br_handle_frame_finish');
    expect(functionName('foo.isra.0.cold')).toBe('foo');
  });

  it('reads a line: namespace, device, reason, function and the frame head (little-endian words)', () => {
    const names = new Map([[74, 'UNHANDLED_PROTO']]);
    const d = parseDropLine(
      'drop 4026532304 2 74 2 __netif_receive_skb_core.constprop.0 ty-ab-x 2020100000002 1b58801010000 0',
      names,
    )!;
    expect(d).toMatchObject({ netns: 4026532304, ifindex: 2, reason: 'UNHANDLED_PROTO', device: 'ty-ab-x' });
    expect(d.fn).toBe('__netif_receive_skb_core');
    expect([...d.head.subarray(0, 15)]).toEqual([2, 0, 0, 0, 1, 2, 2, 0, 0, 0, 1, 1, 0x88, 0xb5, 1]);
    expect(parseDropLine('Attaching 2 probes...', names)).toBeNull();
  });

  it('leaves the head empty when the skb has no MAC header (0xffff)', () => {
    const d = parseDropLine('drop 1 2 3 65535 f dev ff ff ff', new Map())!;
    expect([...d.head].every((b) => b === 0)).toBe(true);
    expect(d.reason).toBe('reason 3');
  });

  it('filters on the namespaces in the kernel, and refuses to watch none', () => {
    expect(dropProgram([11, 22])).toContain('if ($n == 11 || $n == 22)');
    expect(() => dropProgram([])).toThrow(/at least one namespace/);
  });
});
