// A real QEMU VM, a real guest kernel's virtio-net: through tapyard's qemu port onto the macvtap
// and the bridged tap paths, and through QEMU's own tap backend on both, as libvirt wires them.
// Under plain emulation (this host's kind) the VM is slow, so each path carries one 100 MB transfer.

import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, onTestFinished } from 'vitest';
import { removeOwnSocket } from '../../src/port/qemu-peer.js';
import { GuestService } from '../../src/vm/guest.js';
import type { Vm } from '../../src/vm/vm.js';
import { finalReport, type Lab, labUp, port, startTapyard, type Tapyard } from '../helpers/lab.js';
import {
  bootGuest,
  closeFd,
  freeTcpPort,
  openMacvtapFd,
  pingGuest,
  streamNetdev,
  transferToGuest,
  vmUnavailable,
} from '../helpers/vm.js';

const unavailable = vmUnavailable();
if (unavailable !== null) console.warn(`VM tests skipped: ${unavailable}`);

const MB100 = 100 * 1024 * 1024;
const MB10 = 10 * 1024 * 1024;
const socketPath = (lab: Lab) => join(tmpdir(), `ty-${lab.id}-vm.sock`);

/** P, or a failure that says what did not happen (a hang would say nothing). */
function within<T>(ms: number, what: () => string, p: Promise<T>): Promise<T> {
  return Promise.race([p, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(what())), ms).unref())]);
}
describe.skipIf(unavailable !== null)('a real VM', () => {
  const vms: Vm[] = [];
  const labs: Lab[] = [];
  const runs: Tapyard[] = [];
  afterAll(async () => {
    for (const vm of vms) await vm.stop();
    for (const t of runs) if (t.child.exitCode === null) await t.stop();
    for (const lab of labs) lab.down();
  });
  const lab = async (kind: string) => {
    const l = await labUp(kind);
    labs.push(l);
    return l;
  };
  const boot = async (l: Lab, netdev: string, extra = {}) => {
    const vm = await bootGuest(l, netdev, extra);
    vms.push(vm);
    return vm;
  };

  async function throughTapyard(kind: 'macvtap' | 'bridge') {
    const l = await lab(kind);
    const sock = socketPath(l);
    const t = startTapyard(l, [
      'forward',
      '--json',
      '--port',
      `wire=${l.env.WIRE_KIND}:${l.env.WIRE_IF}`,
      '--port',
      `vm=qemu:${sock}`,
    ]);
    runs.push(t);
    await t.waitFor(/forwarding/);
    const vm = await boot(l, streamNetdev(sock));
    expect(await pingGuest(l)).toBe(3);
    const x = await transferToGuest(l, vm, MB100);
    expect({ md5: x.guestMd5, bytes: x.guestBytes }).toEqual({ md5: x.sentMd5, bytes: MB100 });
    await vm.stop();
    const end = await t.stop();
    expect(end.code).toBe(0);
    const report = finalReport(t);
    expect(report.balanced).toBe(true);
    // The 100 MB went wire -> vm: at least that many bytes crossed, counted on both sides.
    expect(port(report, 'vm').txBytes).toBeGreaterThan(MB100);
  }

  it('through tapyard, qemu port <-> macvtap: ping, 100 MB intact, the ledger balances', async () => {
    await throughTapyard('macvtap');
  }, 240_000);

  it('through tapyard, qemu port <-> bridged tap: ping, 100 MB intact, the ledger balances', async () => {
    await throughTapyard('bridge');
  }, 240_000);

  it("QEMU's own tap backend on a macvtap fd (libvirt's type='direct'): ping, 100 MB intact", async () => {
    const l = await lab('macvtap');
    const fd = openMacvtapFd(l);
    try {
      const vm = await boot(l, 'tap,id=n0,fd=3', { fds: [fd] });
      expect(await pingGuest(l)).toBe(3);
      const x = await transferToGuest(l, vm, MB100);
      expect({ md5: x.guestMd5, bytes: x.guestBytes }).toEqual({ md5: x.sentMd5, bytes: MB100 });
      await vm.stop();
    } finally {
      closeFd(fd);
    }
  }, 240_000);

  it("QEMU's own tap backend on the bridge's tap (script=no): ping, 100 MB intact", async () => {
    const l = await lab('bridge');
    const vm = await boot(l, `tap,id=n0,ifname=${l.env.WIRE_IF},script=no,downscript=no`, { netns: l.ns('hv') });
    expect(await pingGuest(l)).toBe(3);
    const x = await transferToGuest(l, vm, MB100);
    expect({ md5: x.guestMd5, bytes: x.guestBytes }).toEqual({ md5: x.sentMd5, bytes: MB100 });
    await vm.stop();
  }, 240_000);

  /** tapyard on a macvtap lab with the VM's qemu port given by `spec`; the VM on `netdev`; ping, 10 MB, ledger. */
  async function otherNetdev(
    spec: (l: Lab) => string,
    netdev: (l: Lab) => string,
    extra: (l: Lab) => object = () => ({}),
  ) {
    const l = await lab('macvtap');
    const t = startTapyard(l, ['forward', '--json', '--port', `wire=macvtap:${l.env.WIRE_IF}`, '--port', spec(l)]);
    runs.push(t);
    await t.waitFor(/forwarding/);
    const vm = await boot(l, netdev(l), extra(l));
    expect(await pingGuest(l)).toBe(3);
    const x = await transferToGuest(l, vm, MB10);
    expect({ md5: x.guestMd5, bytes: x.guestBytes }).toEqual({ md5: x.sentMd5, bytes: MB10 });
    await vm.stop();
    await t.stop();
    const report = finalReport(t);
    expect(report.balanced).toBe(true);
    expect(port(report, 'vm').txBytes).toBeGreaterThan(MB10);
    return report;
  }

  it('-netdev dgram on unix sockets through tapyard (proto=dgram): ping, 10 MB intact, ledger balanced', async () => {
    const qemuSide = (l: Lab) => join(tmpdir(), `ty-${l.id}-qemu.sock`);
    // QEMU binds its local.path and leaves the file when it exits: the lab's end removes it.
    const qemuSides: string[] = [];
    onTestFinished(() => {
      for (const path of qemuSides) removeOwnSocket(path);
    });
    const report = await otherNetdev(
      (l) => {
        qemuSides.push(qemuSide(l));
        return `vm=qemu:${socketPath(l)},proto=dgram,peer=${qemuSide(l)}`;
      },
      (l) => `dgram,id=n0,local.type=unix,local.path=${qemuSide(l)},remote.type=unix,remote.path=${socketPath(l)}`,
    );
    expect(port(report, 'vm').qemu).toMatchObject({ connections: 1, disconnects: 0 });
  }, 180_000);

  it('-netdev socket,listen=127.0.0.1:PORT, tapyard dialling it (connect): ping, 10 MB intact', async () => {
    const tcp = await freeTcpPort();
    const report = await otherNetdev(
      () => `vm=qemu:127.0.0.1:${tcp},connect`,
      () => `socket,id=n0,listen=127.0.0.1:${tcp}`,
      // 127.0.0.1 is per network namespace: QEMU listens in the one tapyard runs in.
      (l) => ({ netns: l.ns('hv') }),
    );
    // QEMU's end when it powers off is the VM going away; the frames were all before it.
    expect(port(report, 'vm').qemu?.connections).toBe(1);
  }, 180_000);

  it('QEMU killed mid-transfer: counted; tapyard keeps its wire, refuses a bad length, takes the next VM', async () => {
    const l = await lab('macvtap');
    const sock = socketPath(l);
    const t = startTapyard(l, [
      'forward',
      '--json',
      '--port',
      `wire=macvtap:${l.env.WIRE_IF}`,
      '--port',
      `vm=qemu:${sock}`,
    ]);
    runs.push(t);
    await t.waitFor(/forwarding/);
    const first = await boot(l, streamNetdev(sock));
    // A sender that would retransmit to the dead VM for minutes: it is stopped once the VM is gone.
    const sender = spawn('ip', [
      'netns',
      'exec',
      l.ns('ext'),
      'sh',
      '-c',
      `head -c ${MB100} /dev/zero | busybox nc ${l.env.GUEST_IP} ${GuestService.SINK}`,
    ]);
    // Let the transfer run a few seconds, then kill QEMU under it.
    await new Promise((r) => setTimeout(r, 4000));
    first.kill();
    await t.waitFor(/port vm: the VM went away/);
    sender.kill('SIGKILL');
    expect(t.child.exitCode).toBeNull();

    // A peer that breaks the framing: one sentence, that connection closed, tapyard goes on.
    const bad = connect(sock);
    await within(10_000, () => 'the bad peer was not accepted', new Promise((r) => bad.once('connect', r)));
    // Read what comes (nothing should), so that tapyard's close arrives as an end of stream.
    bad.resume();
    const closed = new Promise((r) => bad.once('close', r));
    bad.write(Buffer.from([0x7f, 0xff, 0xff, 0xff, 0, 0]));
    // First the sentence (tapyard reads the peer only when the loop is not pausing it), then the close.
    await t.waitFor(/port vm: the peer sent a frame length of 2147483647 bytes \(at most 69632\)/, 60_000);
    await within(
      10_000,
      () => `tapyard said it closed the bad peer, which saw no close (destroyed ${bad.destroyed}, ${bad.readyState})`,
      closed,
    );
    expect(t.errors().match(/frame length/g)).toHaveLength(1);
    expect(t.child.exitCode).toBeNull();

    const second = await boot(l, streamNetdev(sock));
    expect(await pingGuest(l)).toBe(3);
    await second.stop();
    await t.stop();
    const report = finalReport(t);
    expect(report.balanced).toBe(true);
    // In the report too: three peers (the VM, the bad one, the next VM), the bad one cut off for its length.
    const peer = port(report, 'vm').qemu!;
    expect({ connections: peer.connections, malformed: peer.malformed, refused: peer.refused }).toEqual({
      connections: 3,
      malformed: 1,
      refused: 0,
    });
    expect(peer.disconnects).toBeGreaterThanOrEqual(1);
  }, 240_000);
});
