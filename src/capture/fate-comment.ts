// A frame's fate in one line, for its pcapng comment: where the switch sent it and why, and
// what became of each copy; or why it went nowhere. `tshark -r F -T fields -e frame.comment`
// prints it, and Wireshark shows it under the packet ("Packet comments").
//   to guest (cross-peer)
//   to b (bridge-flood-unknown); to c (bridge-flood-unknown) dropped: rx-filter-unicast
//   to vm (cross-peer) dropped: impair-loss
//   to vm (cross-peer) duplicated, delayed 19.2 ms and 20.7 ms
//   dropped: runt
//   to wire (cross-peer) with a spoofed source (counted)
//   to wire (cross-peer) dropped: spoofed-source

import type { FrameFate } from '../engine/forwarder.js';
import { DropReason } from '../port/drop.js';
import type { SpoofPolicy } from '../port/source-guard.js';

/**
 * `spoofed(port)`: what port does with this frame's source MAC when it is not the port's own (a
 * macvtap's spoof=), or null. The port decides as it writes, after the loop told the fate.
 */
export function fateComment(
  fate: FrameFate,
  portNames: readonly string[],
  spoofed: (port: number) => SpoofPolicy | null = () => null,
): string {
  if (fate.drop !== null) return `dropped: ${fate.drop}`;
  let text = '';
  for (let o = 0; o < fate.outputs.length; o++) {
    const port = fate.outputs[o]!;
    let outcome = fate.outcomes[o] ?? null;
    if (outcome === null || !isDrop(outcome)) {
      const policy = spoofed(port);
      if (policy === 'drop') outcome = DropReason.SPOOFED_SOURCE;
      else if (policy === 'count') outcome = outcome === null ? SPOOF_COUNTED : `${outcome}, ${SPOOF_COUNTED}`;
    }
    const copy = `to ${portNames[port]} (${fate.reasons[o]})`;
    text += `${o === 0 ? '' : '; '}${copy}${outcome === null ? '' : ` ${outcomeText(outcome)}`}`;
  }
  return text;
}

const SPOOF_COUNTED = 'with a spoofed source (counted)';

/** A bare reason key (a filter's, an oversize frame's) is a drop; the rest say what they are. */
function isDrop(outcome: string): boolean {
  return /^[a-z0-9-]+$/.test(outcome);
}

function outcomeText(outcome: string): string {
  return isDrop(outcome) ? `dropped: ${outcome}` : outcome;
}
