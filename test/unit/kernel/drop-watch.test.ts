import { describe, expect, it } from 'vitest';
import {
  countProgram,
  dropProgram,
  functionName,
  parseCountLine,
  parseDropLine,
  reasonNames,
} from '../../../src/kernel/drop-watch.js';

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

  it('counts in the kernel for forward: a map by namespace, device, reason and function, printed as totals', () => {
    const program = countProgram([{ inode: 7, ifindexes: [3, 4] }]);
    expect(program).toContain('($n == 7 && ($dev->ifindex == 3 || $dev->ifindex == 4))');
    expect(program).toContain('@drops[$n, $dev->ifindex, args->reason, ksym(args->location)] = count();');
    expect(program).not.toContain('printf("drop');
    const names = new Map([[80, 'FULL_RING']]);
    expect(parseCountLine('@drops[4026531833, 5, 80, tun_net_xmit]: 2048', names)).toEqual({
      netns: 4026531833,
      ifindex: 5,
      reason: 'FULL_RING',
      fn: 'tun_net_xmit',
      count: 2048,
    });
    expect(parseCountLine('@drops[1, 2]: 3', names)).toBeNull();
  });
});
