import { describe, expect, test } from 'vitest';
import { parsePortSpec, takeFlag } from '../../../src/port/spec.js';

describe('port specs', () => {
  test('NAME=KIND:IFNAME with options', () => {
    expect(parsePortSpec('guest=tap:ty-1a2b3-gtp,netns=ty-1a2b3-gst,offload=on,create')).toEqual({
      name: 'guest',
      kind: 'tap',
      ifname: 'ty-1a2b3-gtp',
      options: { netns: 'ty-1a2b3-gst', offload: 'on', create: 'on' },
    });
    expect(parsePortSpec('mirror=pcap:eth1,bpf=udp port 4789').options).toEqual({ bpf: 'udp port 4789' });
  });

  test.each([
    ['wire', /no NAME=/],
    ['wire=ty0', /no KIND:/],
    ['wire=vhost:ty0', /unknown kind 'vhost'/],
    ['1wire=tap:ty0', /not a port name/],
    ['wire=tap:', /not an interface name/],
    ['wire=tap:much-too-long-name0', /not an interface name/],
    ['wire=tap:a/b', /not an interface name/],
    ['wire=tap:ty0,,x', /empty option/],
    ['wire=tap:ty0,x=1,x=2', /given twice/],
  ])('%s is refused in one sentence', (text, why) => {
    expect(() => parsePortSpec(text)).toThrow(why);
  });

  test('on/off options are consumed, and only on/off is accepted', () => {
    const spec = parsePortSpec('g=tap:t0,offload=off,role=lower');
    expect(takeFlag(spec, 'offload', true)).toBe(false);
    expect(takeFlag(spec, 'vnet', true)).toBe(true);
    expect(spec.options).toEqual({ role: 'lower' });
    expect(() => takeFlag(parsePortSpec('g=tap:t0,offload=maybe'), 'offload', false)).toThrow(/must be on or off/);
  });
});
