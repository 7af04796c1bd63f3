// The datapaths a run compares. Kernel-only references give each topology's ceiling; the
// forwarder paths put a userspace loop (tapyard's, or the C reference) between the
// hypervisor's device and the guest's tap.

import type { Forwarder, LabKind } from './report-schema.js';

export interface PathDef {
  id: string;
  lab: LabKind;
  forwarder: Forwarder | null;
  /** One line for the report: what a frame from the external host goes through. */
  describe: string;
}

export const PATHS: readonly PathDef[] = [
  { id: 'ref-veth', lab: 'ref-veth', forwarder: null, describe: 'veth straight into the guest (kernel only)' },
  {
    id: 'ref-macvlan',
    lab: 'ref-macvlan',
    forwarder: null,
    describe: 'veth lower, macvlan in the guest (kernel only)',
  },
  {
    id: 'ref-bridge',
    lab: 'ref-bridge',
    forwarder: null,
    describe: 'veth lower, Linux bridge, veth into the guest (kernel only)',
  },
  { id: 'macvtap/c', lab: 'macvtap', forwarder: 'c', describe: 'macvtap on the lower, C poll loop, guest tap' },
  {
    id: 'macvtap/tapyard',
    lab: 'macvtap',
    forwarder: 'tapyard',
    describe: 'macvtap on the lower, tapyard forward, guest tap',
  },
  { id: 'bridge/c', lab: 'bridge', forwarder: 'c', describe: 'Linux bridge, tap port, C poll loop, guest tap' },
  {
    id: 'bridge/tapyard',
    lab: 'bridge',
    forwarder: 'tapyard',
    describe: 'Linux bridge, tap port, tapyard forward, guest tap',
  },
];

export const pathById = (id: string): PathDef | undefined => PATHS.find((p) => p.id === id);

/** The two forwarders on the same lab, for tapyard-to-C ratios. */
export const FORWARDER_LABS: readonly LabKind[] = ['macvtap', 'bridge'];
