// A macvtap whose address changes under a run (ip link set DEV address MAC): the kernel then
// delivers the new address's unicast only. The built-in guest that took the macvtap's address
// takes the new one (and announces it), its receive filter follows, and the external side reaches
// it again at the new address.

import { afterEach, expect, test } from 'vitest';
import { forwardArgs, type Lab, labUp, startTapyard } from '../helpers/lab.js';

let lab: Lab | null = null;
afterEach(() => {
  lab?.down();
  lab = null;
});

const NEW_MAC = '02:7e:00:00:24:04';

test.each([
  ['a cross-connect', false],
  ['the macvlan model', true],
])("the guest behind a macvtap, through %s, follows the macvtap's new address", async (_name, macvlan) => {
  const l = await labUp('macvtap');
  lab = l;
  const e = l.env;
  const [forward, flag, wire] = forwardArgs(l); // forward --port wire=...
  // The macvlan model delivers to an endpoint by its address: it must follow too.
  const model = macvlan ? [`${wire},role=lower`, '--switch', 'macvlan'] : [wire!];
  const t = startTapyard(l, [forward!, flag!, ...model, '--port', `vm=guest:${e.GUEST_IP}/24,rx-filter=on`]);
  await t.waitFor(/forwarding/);
  expect(l.run('ext', 'ping', '-c', '2', '-i', '0.2', '-W', '2', e.GUEST_IP!)).toMatch(/2 received/);

  l.run('hv', 'ip', 'link', 'set', 'dev', e.WIRE_IF!, 'address', NEW_MAC);
  await t.waitFor(/address changed from .* to 02:7e:00:00:24:04/, 5000);
  // Asked afresh, the guest answers with the new address, and frames to it reach the guest.
  l.run('ext', 'ip', 'neigh', 'flush', 'dev', e.EXT_IF!);
  expect(l.run('ext', 'ping', '-c', '3', '-i', '0.2', '-W', '2', e.GUEST_IP!)).toMatch(/3 received/);
  expect(l.run('ext', 'ip', 'neigh', 'show', e.GUEST_IP!, 'dev', e.EXT_IF!)).toContain(NEW_MAC);
  // Waited for, not read at once: the pings above hold this process, and the line may still be in the pipe.
  await t.waitFor(
    new RegExp(`port vm, the receive filter of vm, the switch model now use wire's new address ${NEW_MAC}`),
  );

  const stop = await t.stop('SIGINT');
  expect(stop.code).toBe(0);
  expect(t.stdout()).toMatch(/ledger: .*\(balanced\)/);
});
