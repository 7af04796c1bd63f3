// The send grammar: one-line specs of frames that the kernel sent (test/fixtures/frames) come out
// as the captured bytes, the defaults are the documented ones, and a spec that describes no frame
// is refused in one sentence naming the layer and the token.

import { describe, expect, test } from 'vitest';
import { TapyardError } from '../../../src/error.js';
import { Frame } from '../../../src/frame/frame.js';
import { parseMac } from '../../../src/mac.js';
import { frameBytes, readFrameSpec } from '../../../src/send/frame-spec.js';
import { loadFixture } from '../frame/fixtures.js';

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');
const build = (spec: string, portMac = '02:00:00:00:00:01') => frameBytes(readFrameSpec(spec), parseMac(portMac)!);

/** The data bytes of a captured frame, from `from` to its end, as hex for a `hex` layer. */
function tail(name: string, from: number): string {
  return hex(loadFixture(name).bytes.subarray(from));
}

describe('specs of captured frames give the captured bytes', () => {
  const A = 'src=62:e4:8b:8b:8b:43 dst=b6:3a:16:3a:59:28';
  const B = 'src=b6:3a:16:3a:59:28 dst=62:e4:8b:8b:8b:43';
  test.each([
    [
      'ipv4-udp-csum',
      `eth ${A} / ipv4 src=10.77.0.1 dst=10.77.0.2 id=14669 / udp sport=48886 dport=7777 / text hello tapyard`,
    ],
    [
      'ipv6-udp-csum',
      `eth ${A} / ipv6 src=fd77::1 dst=fd77::2 flow=0x1a021 / udp sport=37646 dport=7777 / text hello tapyard`,
    ],
    ['arp-request', 'eth src=62:e4:8b:8b:8b:43 / arp sender=10.77.0.1 target=10.77.0.2'],
    [
      'vlan-arp-request',
      'eth src=62:e4:8b:8b:8b:43 / vlan 10 pcp=5 / arp op=request sender=10.77.0.1 target=10.77.0.2',
    ],
    [
      'qinq-icmp-echo-request',
      `eth ${A} / s-vlan 100 / vlan 20 / ipv4 src=10.77.0.1 dst=10.77.0.2 id=39280 / icmp id=25971 seq=1 / ` +
        `hex ${tail('qinq-icmp-echo-request', 50)}`,
    ],
    [
      'ipv6-icmp-echo-request',
      `eth ${A} / ipv6 src=fd77::1 dst=fd77::2 flow=0x7c0fb / icmpv6 type=echo-request id=25974 seq=1 / ` +
        `hex ${tail('ipv6-icmp-echo-request', 62)}`,
    ],
    [
      'ipv4-tcp-synack-csum',
      `eth ${B} / ipv4 src=10.77.0.2 dst=10.77.0.1 / tcp sport=7778 dport=40660 flags=S. ` +
        'seq=3460594289 ack=1877115864 ' +
        'win=65160 opts=020405b4:0402080a:e06a3c6d:1382fb9f:0103030a',
    ],
  ])('%s', (name, spec) => {
    expect(hex(build(spec))).toBe(hex(loadFixture(name).bytes));
  });
});

test("the library gives the same grammar: import { readFrameSpec, frameBytes, readMatch } from 'tapyard'", async () => {
  const name = 'tapyard';
  const lib = (await import(name)) as typeof import('../../../src/index.js');
  const bytes = lib.frameBytes(lib.readFrameSpec('ipv4 src=10.0.0.1 dst=10.0.0.2 / udp dport=7 / text x'), 2);
  const f = new lib.Frame();
  f.parse(bytes, 0, bytes.length);
  expect(lib.readMatch('udp dport=7 / text x').matches(f)).toBe(true);
  expect(lib.readMatch('udp dport=8').matches(f)).toBe(false);
});

describe('defaults', () => {
  test("eth may be left out: broadcast to, the port's MAC from, and a source port of 49152", () => {
    const f = new Frame();
    const bytes = build('ipv4 src=10.0.0.1 dst=10.0.0.2 / udp dport=7 / text hi', '02:aa:bb:cc:dd:ee');
    expect(f.parse(bytes, 0, bytes.length)).toBeNull();
    expect(f.ethernet.dst).toBe(0xffff_ffff_ffff);
    expect(f.ethernet.src).toBe(parseMac('02:aa:bb:cc:dd:ee'));
    expect(f.ipv4.ttl).toBe(64);
    expect(f.ipv4.dontFragment).toBe(true);
    expect(f.udp.srcPort).toBe(49152);
    expect(f.transportChecksumValid()).toBe(true);
    expect(f.ipv4.checksumValid()).toBe(true);
  });

  test('a given source is kept whatever the port', () => {
    const bytes = build('eth src=02:00:00:00:00:99 / ipv4 src=10.0.0.1 dst=10.0.0.2', '02:aa:bb:cc:dd:ee');
    expect(hex(bytes.subarray(6, 12))).toBe('020000000099');
  });

  test('a frame with no IP has the experimental EtherType unless told, and pads on request', () => {
    expect(hex(build('eth / hex 0102').subarray(12))).toBe('88b50102');
    expect(hex(build('eth type=0x0800 / hex 01').subarray(12, 14))).toBe('0800');
    expect(build('eth pad=60 / hex 01')).toHaveLength(60);
  });

  test('a text payload keeps its slashes and spaces', () => {
    const bytes = build('ipv4 src=10.0.0.1 dst=10.0.0.2 / udp dport=7 / text a / b  c');
    expect(Buffer.from(bytes.subarray(42)).toString()).toBe('a / b  c');
  });

  test('flags may be written bare, and off', () => {
    const f = new Frame();
    const tagged = build('vlan 7 dei / ipv4 src=10.0.0.1 dst=10.0.0.2 df=off');
    f.parse(tagged, 0, tagged.length);
    expect(f.ethernet.outerTci).toBe(0x1007);
    expect(f.ipv4.dontFragment).toBe(false);
  });
});

describe('a spec that describes no frame is one sentence naming what is wrong', () => {
  const refuse = (spec: string) => {
    try {
      readFrameSpec(spec);
    } catch (err) {
      expect(err).toBeInstanceOf(TapyardError);
      expect((err as TapyardError).code).toBe('EUSAGE');
      return (err as Error).message;
    }
    throw new Error(`accepted: ${spec}`);
  };
  test.each([
    ['', /^the frame spec is empty/],
    ['udp dport=7', /^frame spec: udp needs an ipv4 or ipv6 layer under it to be sent$/],
    ['ipv4 dst=10.0.0.2', /^frame spec, layer 1 \(ipv4\): src= is needed to send \(src=IPV4\)$/],
    [
      'ipv4 src=10.0.0.1 dst=10.0.0.2 / udp dport=70000',
      /^frame spec, layer 2 \(udp\): dport must be a whole number from 0 to 65535, not '70000'$/,
    ],
    [
      'ipv4 src=10.0.0.1 dst=10.0.0.2 / udp dprt=7',
      /^frame spec, layer 2 \(udp\): unknown option 'dprt' \(did you mean dport\?\)$/,
    ],
    [
      'ipv4 src=10.0.0.1 dst=10.0.0.300',
      /layer 1 \(ipv4\): dst must be an IPv4 address like 10.0.0.2, not '10.0.0.300'$/,
    ],
    ['ipv6 src=fd00::1 dst=fd00::2 / icmp', /layer 2 \(icmp\): over ipv6 it is icmpv6$/],
    ['udp dport=7 / ipv4 src=10.0.0.1 dst=10.0.0.2', /layer 2 \(ipv4\): layers go from the outside in/],
    ['ipv4 src=10.0.0.1 dst=10.0.0.2 / / udp dport=7', /a layer is missing before the second '\/'/],
    ['ipv4 src=10.0.0.1 dst=10.0.0.2 /', /a layer is missing after the last '\/'/],
    ['ipx src=1', /^frame spec: 'ipx' is not a layer \(eth, vlan, s-vlan, arp/],
    ['constructor', /^frame spec: 'constructor' is not a layer/],
    ['ipv4 src=10.0.0.1 dst=10.0.0.2 / icmp type=toString', /layer 2 \(icmp\): type must be one of echo-reply/],
    ['vlan / ipv4 src=10.0.0.1 dst=10.0.0.2', /layer 1 \(vlan\): the VID is missing/],
    ['vlan 5000', /layer 1 \(vlan\): the VID must be a whole number from 0 to 4095, not '5000'$/],
    ['vlan 1 / vlan 2 / vlan 3', /layer 3 \(vlan\): a frame carries at most two VLAN tags$/],
    ['udp 7', /layer 1 \(udp\): '7' is not key=value$/],
    ['eth type=0x800 / ipv4 src=10.0.0.1 dst=10.0.0.2', /layer 1 \(eth\): type= is for a frame with no arp\/ip layer$/],
    ['arp sender=10.0.0.1', /layer 1 \(arp\): target= is needed to send/],
    ['ipv4 src=10.0.0.1 dst=10.0.0.2 / tcp dport=80 flags=SX', /layer 2 \(tcp\): flags must be tcpdump's flag letters/],
    ['ipv4 src=10.0.0.1 dst=10.0.0.2 / hex 0g', /layer 2 \(hex\): the payload must be bytes in hex digits/],
    ['ipv4 src=10.0.0.1 dst=10.0.0.2 / text', /layer 2 \(text\): the payload is missing/],
    ['ipv4 src=10.0.0.1 dst=10.0.0.2 / udp dport=7 sport=1 sport=2', /layer 2 \(udp\): sport is given twice$/],
  ])('%j', (spec, message) => {
    const sentence = refuse(spec);
    expect(sentence).toMatch(message);
    expect(sentence).not.toMatch(/\n/);
  });

  test('a payload too long for IP is refused when the spec is read, not when it is sent', () => {
    expect(refuse(`ipv4 src=10.0.0.1 dst=10.0.0.2 / hex ${'00'.repeat(65530)}`)).toMatch(
      /^frame spec: A 65530-byte IP payload/,
    );
  });
});
