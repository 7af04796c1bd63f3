// vhost-user messages: headers and payloads as QEMU sends them, and the ones a broken or hostile
// front-end might, each refused with a sentence and with every fd accounted for.

import { describe, expect, it } from 'vitest';
import {
  encodeReply,
  HeaderFlag,
  parseHeader,
  parseMessage,
  statePayload,
  u64Payload,
  VhostRequest,
} from '../../../src/port/vhost-message.js';

function header(request: number, size: number, flags: number = HeaderFlag.VERSION): Uint8Array {
  const out = new Uint8Array(12);
  const v = new DataView(out.buffer);
  v.setUint32(0, request, true);
  v.setUint32(4, flags, true);
  v.setUint32(8, size, true);
  return out;
}

function payload(words: (number | bigint)[], widths: number[]): Uint8Array {
  const out = new Uint8Array(widths.reduce((a, b) => a + b, 0));
  const v = new DataView(out.buffer);
  let at = 0;
  words.forEach((w, i) => {
    if (widths[i] === 8) v.setBigUint64(at, BigInt(w), true);
    else v.setUint32(at, Number(w), true);
    at += widths[i]!;
  });
  return out;
}

const parse = (request: number, body: Uint8Array, fds: number[] = []) =>
  parseMessage({ request, flags: HeaderFlag.VERSION, size: body.length }, body, fds);

describe('vhost-user headers', () => {
  it('reads request, flags and size (little-endian)', () => {
    expect(parseHeader(header(VhostRequest.SET_MEM_TABLE, 40, HeaderFlag.VERSION | HeaderFlag.NEED_REPLY))).toEqual({
      request: 5,
      flags: 9,
      size: 40,
    });
  });

  it('refuses another protocol version and a payload larger than any request has', () => {
    expect(parseHeader(header(1, 0, 2))).toBe('GET_FEATURES has protocol version 2, not 1');
    expect(parseHeader(header(1, 1 << 20))).toMatch(/announces 1048576 bytes of payload/);
  });

  it('a reply carries the request, VERSION|REPLY and its payload', () => {
    const reply = encodeReply(VhostRequest.GET_VRING_BASE, statePayload(1, 77));
    expect([...reply]).toEqual([11, 0, 0, 0, 5, 0, 0, 0, 8, 0, 0, 0, 1, 0, 0, 0, 77, 0, 0, 0]);
    expect([...encodeReply(1, u64Payload(1n << 32n)).subarray(12)]).toEqual([0, 0, 0, 0, 1, 0, 0, 0]);
  });
});

describe('vhost-user payloads', () => {
  it('SET_FEATURES: a u64 with bits above 32', () => {
    const m = parse(VhostRequest.SET_FEATURES, payload([(1n << 32n) | (1n << 15n)], [8]));
    expect(m.message).toEqual({ type: 'u64', request: 2, value: (1n << 32n) | (1n << 15n) });
  });

  it('SET_VRING_NUM, GET_VRING_BASE, SET_VRING_ENABLE: index and number', () => {
    expect(parse(VhostRequest.SET_VRING_NUM, payload([1, 256], [4, 4])).message).toEqual({
      type: 'state',
      request: 8,
      index: 1,
      num: 256,
    });
  });

  it('SET_VRING_ADDR: three 64-bit addresses', () => {
    const body = payload([0, 0, 0x7f0000001000n, 0x7f0000003000n, 0x7f0000002000n, 0], [4, 4, 8, 8, 8, 8]);
    expect(parse(VhostRequest.SET_VRING_ADDR, body).message).toEqual({
      type: 'addr',
      request: 9,
      index: 0,
      flags: 0,
      desc: 0x7f0000001000,
      used: 0x7f0000003000,
      avail: 0x7f0000002000,
    });
  });

  it('SET_VRING_KICK with its fd, and with the no-fd flag', () => {
    expect(parse(VhostRequest.SET_VRING_KICK, payload([1n], [8]), [42])).toEqual({
      message: { type: 'file', request: 12, index: 1, fd: 42 },
      unused: [],
    });
    expect(parse(VhostRequest.SET_VRING_CALL, payload([0x100n], [8])).message).toEqual({
      type: 'file',
      request: 13,
      index: 0,
      fd: null,
    });
  });

  it('SET_MEM_TABLE: two regions, each with its fd', () => {
    const body = payload(
      [2, 0, 0, 0xa0000, 0x7f0000000000n, 0, 0xc0000, 0xff40000, 0x7f00000c0000n, 0xc0000],
      [4, 4, 8, 8, 8, 8, 8, 8, 8, 8],
    );
    const m = parse(VhostRequest.SET_MEM_TABLE, body, [7, 8]);
    expect(m.unused).toEqual([]);
    expect(m.message).toEqual({
      type: 'memory',
      request: 5,
      regions: [
        { guestPhys: 0, size: 0xa0000, userAddr: 0x7f0000000000, mmapOffset: 0, fd: 7 },
        { guestPhys: 0xc0000, size: 0xff40000, userAddr: 0x7f00000c0000, mmapOffset: 0xc0000, fd: 8 },
      ],
    });
  });

  it('an unknown request is told apart, and any fd with it is handed back to close', () => {
    expect(parse(99, new Uint8Array(8), [5])).toEqual({ message: { type: 'unknown', request: 99 }, unused: [5] });
  });
});

describe('vhost-user payloads a front-end must not send', () => {
  it('a payload shorter than its request needs', () => {
    expect(parse(VhostRequest.SET_VRING_ADDR, new Uint8Array(16)).message).toBe(
      'SET_VRING_ADDR has 16 bytes of payload, not 40',
    );
    expect(parse(VhostRequest.SET_FEATURES, new Uint8Array(4)).message).toBe(
      'SET_FEATURES has 4 bytes of payload, not 8',
    );
  });

  it('SET_MEM_TABLE with 0 or 9 regions, with fewer fds than regions, or a table cut short', () => {
    expect(parse(5, payload([0, 0], [4, 4])).message).toBe('SET_MEM_TABLE has 0 regions (1 to 8)');
    expect(parse(5, payload([9, 0], [4, 4])).message).toBe('SET_MEM_TABLE has 9 regions (1 to 8)');
    const one = payload([1, 0, 0, 4096, 0x10000, 0], [4, 4, 8, 8, 8, 8]);
    expect(parse(5, one, []).message).toBe('SET_MEM_TABLE has 1 regions but came with 0 fds');
    expect(parse(5, one.subarray(0, 20), [3])).toEqual({
      message: 'SET_MEM_TABLE has 20 bytes of payload, not 40',
      unused: [3],
    });
  });

  it('regions that are empty, end past 2^53, or overlap: refused, their fds handed back', () => {
    const empty = payload([1, 0, 0, 0, 0x10000, 0], [4, 4, 8, 8, 8, 8]);
    expect(parse(5, empty, [3])).toEqual({ message: 'SET_MEM_TABLE: region 0 is empty', unused: [3] });
    const huge = payload([1, 0, 0xffffffffffff0000n, 0x100000, 0, 0], [4, 4, 8, 8, 8, 8]);
    expect(parse(5, huge, [3]).message).toBe('SET_MEM_TABLE: region 0 ends past 2^53');
    const overlap = payload([2, 0, 0, 0x2000, 0x10000, 0, 0x1000, 0x2000, 0x20000, 0], [4, 4, 8, 8, 8, 8, 8, 8, 8, 8]);
    expect(parse(5, overlap, [3, 4])).toEqual({
      message: 'SET_MEM_TABLE: region 1 overlaps another in the guest',
      unused: [3, 4],
    });
  });

  it('SET_VRING_KICK with two fds, or none without the no-fd flag', () => {
    expect(parse(12, payload([0n], [8]), [3, 4])).toEqual({
      message: 'SET_VRING_KICK for queue 0 came with 2 fds, not 1',
      unused: [3, 4],
    });
    expect(parse(12, payload([0n], [8]), []).message).toBe('SET_VRING_KICK for queue 0 came with 0 fds, not 1');
  });

  it('fds sent with a request that takes none are handed back', () => {
    expect(parse(VhostRequest.SET_VRING_NUM, payload([0, 256], [4, 4]), [9]).unused).toEqual([9]);
  });

  it('200,000 random messages: each parses or is refused with a sentence, and every fd is used or handed back', () => {
    let seed = 99;
    const random = () => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed;
    };
    for (let n = 0; n < 200_000; n++) {
      const head = header(random() % 24, random() % 300, random() % 16);
      const parsed = parseHeader(head);
      if (typeof parsed === 'string') continue;
      const body = new Uint8Array(parsed.size);
      for (let i = 0; i < body.length; i++) body[i] = random() & 0xff;
      // Fewer fds than a table needs, as many, or more.
      const fds = Array.from({ length: random() % 10 }, (_, i) => 100 + i);
      const { message, unused } = parseMessage(parsed, body, fds);
      const used =
        typeof message === 'string'
          ? []
          : message.type === 'file'
            ? message.fd === null
              ? []
              : [message.fd]
            : message.type === 'memory'
              ? message.regions.map((r) => r.fd)
              : [];
      expect([...used, ...unused].sort()).toEqual(fds);
    }
  });
});
