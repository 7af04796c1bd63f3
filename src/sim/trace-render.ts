// What `tapyard trace` prints: the frame, every hop with its reasons, and the copies per
// station, as text or as one JSON object.

import { describe } from '../frame/describe.js';
import { EthernetView, EtherType, isVlanTpid } from '../frame/ethernet.js';
import { Frame } from '../frame/frame.js';
import { formatMac, type Mac } from '../mac.js';
import { describeReason } from '../reason.js';
import type { Journey } from './network.js';

function frameSummary(bytes: Uint8Array) {
  const v = new EthernetView();
  v.parse(bytes, 0, bytes.length);
  const frame = new Frame();
  frame.parse(bytes, 0, bytes.length);
  const ip =
    frame.network === EtherType.IPV4 || frame.network === EtherType.IPV6
      ? describe(bytes, 0, bytes.length).replace(/^.*? (IPv[46] )/, '$1')
      : null;
  return {
    ip,
    src: formatMac(v.src),
    dst: formatMac(v.dst),
    vlan: v.tagCount > 0 && isVlanTpid(v.outerTpid) ? v.vid : null,
    ethertype: `0x${v.etherType.toString(16).padStart(4, '0')}`,
    length: bytes.length,
  };
}

/** One traced frame and what it met: what render and toJson show. */
export interface TracedFrame {
  readonly bytes: Uint8Array;
  /** The station that sent it. */
  readonly from: string;
  /** The topology, in the words it was described with. */
  readonly topology: string;
  readonly journey: Journey;
  /** The copies each station received. */
  readonly counts: ReadonlyMap<string, number>;
  /** Every station, in the order the copies are listed. */
  readonly stations: readonly string[];
}

/** The trace as text; MACS names the stations' own addresses where the frame shows them. */
export function render(
  { bytes, from, topology, journey, counts, stations }: TracedFrame,
  macs: ReadonlyMap<string, Mac>,
): string {
  const f = frameSummary(bytes);
  const name = (m: string) => {
    for (const [s, mm] of macs) if (formatMac(mm) === m) return `${m} (${s})`;
    return m;
  };
  const lines = [
    `Frame:    ${name(f.src)} > ${name(f.dst)}, ethertype ${f.ethertype}` +
      `${f.vlan === null ? '' : `, vlan ${f.vlan}`}, ${f.length} bytes`,
    ...(f.ip === null ? [] : [`          ${f.ip}`]),
    `Topology: ${topology}`,
    `Sent by:  ${from}`,
    '',
  ];
  // Tags per hop once any copy carries one, or a VLAN changes them.
  const tagged = journey.hops.some((h) => h.tags.length > 0) || journey.deliveries.some((d) => d.tags.length > 0);
  journey.hops.forEach((hop, i) => {
    lines.push(`[${i + 1}] ${hop.at}, in from ${hop.ingress}${tagged ? `, ${tagText(hop.tags)}` : ''}`);
    for (const s of hop.steps) {
      // Reasons name their module ("bridge: ..."); a step at the switch itself needs no prefix.
      const text = describeReason(s.reason);
      const where = text.startsWith(`${s.at}:`) ? '' : `${s.at}: `;
      lines.push(`      ${where}${text}${s.detail === undefined ? '' : ` (${s.detail})`}`);
    }
    const width = Math.max(0, ...hop.outputs.map((o) => o.port.length));
    for (const o of hop.outputs) lines.push(`    → ${o.port.padEnd(width)}  ${describeReason(o.reason)}`);
    if (hop.drop !== null) lines.push(`    ✗ ${describeReason(hop.drop)}  [${hop.drop}]`);
  });
  lines.push('');
  const got = stations.map((s) => {
    const copies = journey.deliveries.filter((d) => d.station === s);
    const tags = tagged && copies.length > 0 ? ` (${copies.map((d) => tagText(d.tags)).join(', ')})` : '';
    return `${s} ×${counts.get(s) ?? 0}${tags}`;
  });
  lines.push(`Copies:   ${got.join(', ')}`);
  // How each receiving stack classifies its copies (skb->pkt_type: host, broadcast, multicast, otherhost).
  const kinds = stations.flatMap((s) => {
    const of = journey.deliveries.filter((d) => d.station === s).map((d) => d.kind ?? 'unknown');
    return of.length === 0 ? [] : [`${s} ${of.join('+')}`];
  });
  if (kinds.length > 0) lines.push(`Kinds:    ${kinds.join(', ')}`);
  return lines.join('\n');
}

function tagText(tags: readonly string[]): string {
  return tags.length === 0 ? 'untagged' : tags.join(' / ');
}

export function toJson({ bytes, from, topology, journey, counts, stations }: TracedFrame) {
  return {
    frame: { ...frameSummary(bytes), hex: Buffer.from(bytes).toString('hex') },
    from,
    topology,
    // Reasons as the counters name them (key) and as a sentence (text).
    hops: journey.hops.map((h) => ({
      ...h,
      steps: h.steps.map((st) => ({ ...st, text: describeReason(st.reason) })),
      outputs: h.outputs.map((o) => ({ ...o, text: describeReason(o.reason) })),
      dropText: h.drop === null ? null : describeReason(h.drop),
    })),
    deliveries: journey.deliveries,
    copies: Object.fromEntries(stations.map((s) => [s, counts.get(s) ?? 0])),
  };
}
