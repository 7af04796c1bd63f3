// The IGMP and MLD views on frames the kernel sent (fixtures), their parse/emit pairs, and the
// snooping messages tapyard builds (mcast-message.ts), which must be the kernel's own bytes.

import { describe, expect, it } from 'vitest';
import { FrameError } from '../../../src/frame/error.js';
import { EtherType } from '../../../src/frame/ethernet.js';
import { Frame } from '../../../src/frame/frame.js';
import { emitIgmp, GroupRecordType, IgmpType, IgmpView, igmpLength, igmpRepr } from '../../../src/frame/igmp.js';
import { formatIpv4, formatIpv6 } from '../../../src/frame/ip-address.js';
import { mcastMessageFrame } from '../../../src/frame/mcast-message.js';
import { emitMld, MldType, MldView, mldLength, mldRepr } from '../../../src/frame/mld.js';
import { parseIpv4 } from '../../../src/grammar/ip-address.js';
import { grab, loadFixture } from './fixtures.js';

function igmpOf(name: string): { view: IgmpView; bytes: Uint8Array; frame: Frame } {
  const bytes = loadFixture(name).bytes;
  const frame = new Frame();
  expect(frame.parse(bytes, 0, bytes.length)).toBeNull();
  return { view: frame.igmp, bytes, frame };
}

describe('IGMP', () => {
  it('reads a v2 report and a leave as tcpdump did', () => {
    for (const name of ['ipv4-igmpv2-report', 'ipv4-igmpv2-leave']) {
      const { view, frame } = igmpOf(name);
      const v = loadFixture(name).tcpdumpVerbose;
      expect(view.type).toBe(v.includes('leave') ? IgmpType.LEAVE : IgmpType.V2_REPORT);
      expect(formatIpv4(view.group)).toBe(grab(v, /(?:report|leave) (\S+)$/));
      expect(frame.transportChecksumValid()).toBe(true);
    }
  });

  it('reads a v3 report: its record, type and group', () => {
    const { view, frame } = igmpOf('ipv4-igmpv3-report');
    const v = loadFixture('ipv4-igmpv3-report').tcpdumpVerbose;
    expect(view.recordCount).toBe(Number(grab(v, /(\d+) group record/)));
    const record = igmpRepr(view).records[0]!;
    expect(record.type).toBe(v.includes('to_ex') ? GroupRecordType.CHANGE_TO_EXCLUDE : -1);
    expect(formatIpv4(record.group)).toBe(grab(v, /gaddr (\S+)/));
    expect(frame.transportChecksumValid()).toBe(true);
  });

  it('emits from its repr the bytes it read', () => {
    for (const name of ['ipv4-igmpv2-report', 'ipv4-igmpv2-leave', 'ipv4-igmpv3-report']) {
      const { view, bytes } = igmpOf(name);
      const repr = igmpRepr(view);
      const out = new Uint8Array(igmpLength(repr));
      emitIgmp(repr, out, 0);
      const original = bytes.slice(view.offset, view.offset + out.length);
      original[2] = original[3] = 0; // emit leaves the checksum to the caller
      expect([...out]).toEqual([...original]);
    }
  });

  it('refuses a v3 report whose records run past the message', () => {
    const { bytes, view } = igmpOf('ipv4-igmpv3-report');
    const cut = new IgmpView();
    expect(cut.parse(bytes, view.offset, view.length - 1)).toBe(FrameError.BAD_LENGTH);
  });

  it("mcastMessageFrame builds the kernel's own IGMP bytes", () => {
    const src = 0x02_00_00_00_0c_01;
    const same = (name: string, built: Uint8Array) => {
      const kernel = loadFixture(name).bytes;
      expect(Buffer.from(built.subarray(0, kernel.length)).toString('hex')).toBe(Buffer.from(kernel).toString('hex'));
    };
    same('ipv4-igmpv2-report', mcastMessageFrame({ kind: 'report', group: parseIpv4('239.1.1.1')! }, src));
    same('ipv4-igmpv2-leave', mcastMessageFrame({ kind: 'leave', group: parseIpv4('239.1.1.1')! }, src));
    same('ipv4-igmpv3-report', mcastMessageFrame({ kind: 'report3', group: parseIpv4('239.2.2.2')! }, src));
  });
});

describe('MLD', () => {
  const fixture = loadFixture('ipv6-mld-report');
  const frame = new Frame();
  frame.parse(fixture.bytes, 0, fixture.bytes.length);

  it('reads an MLDv2 report behind its hop-by-hop header: records, types and addresses', () => {
    expect(frame.network).toBe(EtherType.IPV6);
    const mld = new MldView();
    expect(mld.parse(fixture.bytes, frame.transportOffset, frame.transportLength)).toBeNull();
    expect(mld.type).toBe(MldType.V2_REPORT);
    const repr = mldRepr(mld);
    expect(repr.records.length).toBe(Number(grab(fixture.tcpdumpVerbose, /(\d+) group record/)));
    const gaddrs = [...fixture.tcpdumpVerbose.matchAll(/gaddr (\S+) to_ex/g)].map((m) => m[1]);
    expect(repr.records.map((r) => formatIpv6(r.address))).toEqual(gaddrs);
    expect(repr.records.every((r) => r.type === GroupRecordType.CHANGE_TO_EXCLUDE)).toBe(true);
  });

  it('emits from its repr the bytes it read', () => {
    const mld = new MldView();
    mld.parse(fixture.bytes, frame.transportOffset, frame.transportLength);
    const repr = mldRepr(mld);
    const out = new Uint8Array(mldLength(repr));
    emitMld(repr, out, 0);
    const original = fixture.bytes.slice(mld.offset, mld.offset + out.length);
    original[2] = original[3] = 0;
    expect([...out]).toEqual([...original]);
  });

  it('MLD messages built for snooping carry a valid ICMPv6 checksum and a router alert', () => {
    const bytes = mcastMessageFrame(
      { kind: 'report', group: Uint8Array.of(0xff, 0x0e, ...new Array(13).fill(0), 3) },
      0x02_00_00_00_0c_01,
    );
    const f = new Frame();
    expect(f.parse(bytes, 0, bytes.length)).toBeNull();
    expect(f.ipv6.nextHeader).toBe(0);
    expect(f.transportChecksumValid()).toBe(true);
    expect(f.icmp.type).toBe(MldType.V1_REPORT);
  });
});
