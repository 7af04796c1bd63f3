// Which accelerator to boot with. /dev/kvm opening proves nothing here: this host's KVM is a
// paravirtual one without VT-x that runs a stock guest ~100x slower and then hangs it for good.
// So plain emulation unless KVM is asked for, or a short bounded boot under KVM reaches READY.

import { existsSync } from 'node:fs';
import { type Accel, Vm } from './vm.js';

export type AccelChoice = Accel | 'auto';

/** Boot the guest once under KVM, with no network, for at most `timeoutMs`. */
export async function kvmBoots(timeoutMs = 15_000): Promise<boolean> {
  if (!existsSync('/dev/kvm')) return false;
  try {
    const vm = await Vm.boot({
      accel: 'kvm',
      netdev: 'user,id=n0,restrict=on',
      mac: '02:00:00:00:00:01',
      ip: '10.0.0.1/24',
      bootTimeoutMs: timeoutMs,
    });
    await vm.stop();
    return true;
  } catch {
    return false;
  }
}

export async function chooseAccel(choice: AccelChoice): Promise<Accel> {
  if (choice !== 'auto') return choice;
  return (await kvmBoots()) ? 'kvm' : 'tcg';
}
