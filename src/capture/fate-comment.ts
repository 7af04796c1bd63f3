// A frame's fate in one line, for its pcapng comment: where the switch sent it and why, and
// what became of each copy; or why it went nowhere. `tshark -r F -T fields -e frame.comment`
// prints it, and Wireshark shows it under the packet ("Packet comments").
//   to guest (cross-peer)
//   to b (bridge-flood-unknown); to c (bridge-flood-unknown) dropped: rx-filter-unicast
//   to vm (cross-peer) dropped: impair-loss
//   to vm (cross-peer) duplicated, delayed 19.2 ms and 20.7 ms
//   dropped: runt

import type { FrameFate } from '../engine/forwarder.js';

export function fateComment(fate: FrameFate, portNames: readonly string[]): string {
  if (fate.drop !== null) return `dropped: ${fate.drop}`;
  let text = '';
  for (let o = 0; o < fate.outputs.length; o++) {
    const outcome = fate.outcomes[o];
    const copy = `to ${portNames[fate.outputs[o]!]} (${fate.reasons[o]})`;
    text += `${o === 0 ? '' : '; '}${copy}${outcome == null ? '' : ` ${outcomeText(outcome)}`}`;
  }
  return text;
}

/** A bare reason key (a filter's, an oversize frame's) is a drop; the rest say what they are. */
function outcomeText(outcome: string): string {
  return /^[a-z0-9-]+$/.test(outcome) ? `dropped: ${outcome}` : outcome;
}
