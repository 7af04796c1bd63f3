// Why a VLAN-aware port refused a frame, or why no egress was left for it: each is counted on
// the port the frame came in by. And the step `tapyard trace` shows where a VLAN kept copies
// from ports outside it (not a drop: those ports were never candidates).

import { reasons } from '../reason.js';

export const VlanReason = reasons({
  NOT_MEMBER: [
    'vlan-not-member',
    "the frame's VLAN is not one its ingress port carries (trunk= does not list it; an access port has one VLAN)",
  ],
  UNTAGGED: [
    'vlan-untagged-on-trunk',
    'an untagged (or priority-tagged) frame on a trunk port without native=: it belongs to no VLAN there',
  ],
  NO_MEMBER_EGRESS: [
    'vlan-no-member-egress',
    "none of the ports the switch chose carries the frame's VLAN (flooded copies go to members only)",
  ],
  MEMBERS_ONLY: ['vlan-members-only', "vlan: copies go only to the ports that carry the frame's VLAN"],
});
