// --paths names VM paths beside the namespace ones, and the verdict compares each VM path with the
// one it stands against: vhost-user with QEMU's tap backend, with MSI-X and with the same INTx NIC.

import { describe, expect, it } from 'vitest';
import { benchOptions } from '../../../bench/datapath/options.js';
import type { Report, VmRound, VmRow } from '../../../bench/datapath/report-schema.js';
import { vmVerdict } from '../../../bench/vm/report.js';

describe('--paths with VM paths', () => {
  it('without --paths, boots the default VM paths only (no INTx one) and every namespace path', () => {
    const o = benchOptions({});
    expect(o.vmPaths.map((p) => `${p.backend}/${p.wire}`)).toEqual([
      'qemu-tap/macvtap',
      'tapyard/macvtap',
      'tapyard-vhost/macvtap',
      'qemu-tap/bridge',
      'tapyard/bridge',
      'tapyard-vhost/bridge',
    ]);
    expect(o.paths).toContain('bridge/tapyard');
    expect(o.paths).toContain('ref-veth');
  });

  it('keeps the default VM paths when it names none', () => {
    const o = benchOptions({ paths: 'macvtap/c,macvtap/tapyard' });
    expect(o.paths).toEqual(['macvtap/c', 'macvtap/tapyard']);
    expect(o.vmPaths.map((p) => `${p.backend}/${p.wire}`)).toContain('tapyard-vhost/bridge');
    expect(o.vmPaths.map((p) => p.backend)).not.toContain('qemu-tap-intx');
  });

  it('boots only the VM paths it names, INTx ones included, and no namespace path', () => {
    const o = benchOptions({ paths: 'tapyard-vhost/macvtap,qemu-tap-intx/macvtap,qemu-tap/macvtap' });
    expect(o.paths).toEqual([]);
    expect(o.vmPaths).toEqual([
      { backend: 'qemu-tap', wire: 'macvtap' },
      { backend: 'tapyard-vhost', wire: 'macvtap' },
      { backend: 'qemu-tap-intx', wire: 'macvtap' },
    ]);
  });

  it('refuses a name it does not know with the list of those it does', () => {
    expect(() => benchOptions({ paths: 'qemu-tap/wifi' })).toThrow(/qemu-tap-intx\/bridge, not 'qemu-tap\/wifi'/);
  });
});

/** A row whose rounds all measured `tcp` bit/s both ways, `kfps` k 64-byte frames/s and `rttUs` round trips. */
function row(backend: VmRow['backend'], tcp: number[], kfps: number, rttUs: number): VmRow {
  const rounds: VmRound[] = tcp.map((bps, i) => ({
    round: i + 1,
    tcpExtToGuestBitsPerSecond: bps,
    tcpGuestToExtBitsPerSecond: bps,
    rate64: { durationS: 1, sentFrames: kfps * 2000, deliveredFrames: kfps * 1000, deliveredPerSecond: kfps * 1000 },
    rttNs: [rttUs * 1000],
  }));
  const foreign = {
    offeredPerSecond: 100_000,
    durationS: 1,
    offeredFrames: 100_000,
    reachedReaderFrames: 0,
    qemuExtraCores: 0,
    tapyardExtraCores: null,
    guestRxFrames: 0,
  };
  return {
    path: `${backend}/macvtap`,
    backend,
    wire: 'macvtap',
    accel: 'tcg',
    rounds,
    tcpExtToGuestBitsPerSecond: tcp[0]!,
    tcpGuestToExtBitsPerSecond: tcp[0]!,
    rate64: rounds[0]!.rate64,
    rtt: { sent: 1, received: 1, p50Ns: rttUs * 1000, p99Ns: rttUs * 1000, maxNs: rttUs * 1000 },
    foreign,
    ledgerBalanced: backend === 'qemu-tap' || backend === 'qemu-tap-intx' ? null : true,
  };
}

describe('the VM verdict', () => {
  const msix = row('qemu-tap', [4e9, 4.1e9, 3.9e9, 4e9, 4.2e9, 4e9], 400, 600);
  const intx = row('qemu-tap-intx', [3.6e9, 3.7e9, 3.5e9, 3.6e9, 3.8e9, 3.6e9], 390, 650);
  const vhost = row('tapyard-vhost', [3.8e9, 3.9e9, 3.7e9, 3.8e9, 4e9, 3.8e9], 395, 750);
  const report = (rows: VmRow[]) => ({ vm: { status: 'ok', accel: 'tcg', note: '', rows } }) as unknown as Report;

  it('compares vhost-user with QEMU tap on MSI-X and, like for like, on INTx; and what INTx costs QEMU', () => {
    const v = vmVerdict(report([msix, vhost, intx]));
    expect(v).toHaveLength(3);
    expect(v[0]).toMatch(/vhost-user port against QEMU's own tap backend \(.*TCP ext→guest 3800 vs 4000 .*0\.95x/);
    expect(v[1]).toMatch(
      /with the same NIC \(vectors=0, INTx\).*TCP ext→guest 3800 vs 3600 .*1\.06x, tapyard better in 6 of 6/,
    );
    expect(v[2]).toMatch(/vectors=0 .* against its MSI-X.*3600 vs 4000 .*0\.90x, INTx better in 0 of 6 rounds/);
    expect(v[2]).toMatch(/RTT p50 0\.65 vs 0\.60 ms \(1\.08x/);
  });

  it('says nothing of INTx when the run has no INTx row', () => {
    const v = vmVerdict(report([msix, vhost]));
    expect(v).toHaveLength(1);
    expect(v.join(' ')).not.toMatch(/INTx/);
  });
});
