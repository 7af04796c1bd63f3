// Multicast snooping in the datapath: a Forwarder with `--switch bridge,querier` between memory
// ports (what `tapyard forward` builds from its specs). A report read on one port builds the mdb
// inside the bridge's decide(), so the next group frame is written to the member only, and the
// frames the snooping bridge does not forward are counted under its reasons.

import { afterEach, describe, expect, it } from 'vitest';
import { readSwitchRole, switchConfig } from '../../../src/config/switch.js';
import { Forwarder } from '../../../src/engine/forwarder.js';
import { mcastMessageFrame } from '../../../src/frame/mcast-message.js';
import { parseIpv4 } from '../../../src/grammar/ip-address.js';
import { Options } from '../../../src/grammar/keys.js';
import { MemoryPort } from '../../../src/port/memory.js';
import { makeSwitch } from '../../../src/switch/index.js';
import { SnoopReason } from '../../../src/switch/mcast-snooping.js';

const settle = async () => {
  for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
};

let running: Forwarder | null = null;
afterEach(() => {
  running?.stop();
  running = null;
});

describe('forward --switch bridge,querier', () => {
  it('learns memberships from reports it forwards and sends the group to the member only', async () => {
    const names = ['a', 'b', 'c'];
    const ports = names.map((n) => new MemoryPort(n));
    const roles = names.map((n) => readSwitchRole('bridge', new Options(`--port ${n}`, [])));
    const sw = makeSwitch(switchConfig('bridge', new Options('--switch bridge', ['querier']), roles, names));
    running = new Forwarder(ports, sw);
    running.start();
    const g = parseIpv4('239.1.1.1')!;
    ports[1]!.inject(mcastMessageFrame({ kind: 'report', group: g }, 0x02_00_00_00_00_0b));
    await settle();
    ports[0]!.inject(mcastMessageFrame({ kind: 'data', group: g }, 0x02_00_00_00_00_0a));
    ports[0]!.inject(mcastMessageFrame({ kind: 'data', group: parseIpv4('239.9.9.9')! }, 0x02_00_00_00_00_0a));
    await settle();
    expect(ports.map((p) => p.sent.length)).toEqual([0, 1, 0]);
    // The report (to router ports only, and there are none) and the unjoined group are counted
    // on their ingress ports under the bridge's reason, not lost.
    expect(ports[1]!.counters.drops[SnoopReason.NOT_JOINED]).toBe(1);
    expect(ports[0]!.counters.drops[SnoopReason.NOT_JOINED]).toBe(1);
    const l = running.ledger();
    expect(l.rx + l.clones).toBe(l.tx + l.drops + l.queued);
  });
});
