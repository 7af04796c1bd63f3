// The VLAN keys every port kind takes (vlan=, trunk=, native=), read into a VlanPortConfig, and
// the forwarder-wide rule that a VLAN-aware forwarder has a VLAN role on every port: a port
// with none would leave it unsaid which VLAN its untagged frames are in.

import { type Options, optional } from '../grammar/keys.js';
import { integer, usageError, type ValueType } from '../grammar/value.js';
import {
  MAX_VID,
  MIN_VID,
  VLAN_PROTOS,
  type VlanConfig,
  type VlanPortConfig,
  type VlanProtoName,
} from '../vlan/vlan-port.js';

const vid = integer(MIN_VID, MAX_VID);

/** `15+20+100-110`: VIDs and ranges, joined by + (a comma ends the option). */
const vidList: ValueType<readonly number[]> = {
  shape: 'VID+A-B...',
  parse(text, where) {
    const out = new Set<number>();
    for (const part of text.split('+')) {
      const range = /^(\d+)-(\d+)$/.exec(part);
      const from = vid.parse(range === null ? part : range[1]!, where);
      const to = range === null ? from : vid.parse(range[2]!, where);
      if (to < from) throw usageError(`${where}: the range ${part} runs backwards`);
      for (let v = from; v <= to; v++) out.add(v);
    }
    return [...out].sort((a, b) => a - b);
  },
};

export const VLAN_KEYS = {
  vlan: optional('vlan', vid, 'an access port of this VLAN: untagged here, tagged toward trunk ports'),
  trunk: optional('trunk', vidList, 'a trunk: these VLANs pass tagged, others are dropped (vlan-not-member)'),
  native: optional('native', vid, "a trunk's untagged frames belong to this VLAN, which leaves it untagged"),
} as const;

export function readVlanPort(o: Options): VlanPortConfig | null {
  const k = o.take(VLAN_KEYS);
  if (k.vlan !== undefined && k.trunk !== undefined)
    throw usageError(`${o.where}: vlan= (an access port) and trunk= exclude each other`);
  if (k.native !== undefined && k.trunk === undefined) throw usageError(`${o.where}: native= needs trunk=`);
  if (k.vlan !== undefined) return Object.freeze({ mode: 'access', vid: k.vlan });
  if (k.trunk === undefined) return null;
  return Object.freeze({ mode: 'trunk', allowed: Object.freeze(k.trunk), native: k.native ?? null });
}

/** `--vlan-proto`: the words, in the order help lists them. */
export const VLAN_PROTO_NAMES = Object.keys(VLAN_PROTOS) as VlanProtoName[];

/** The forwarder's VLAN layer from each port's role, or null when no port has one. */
export function vlanConfig(
  ports: readonly { name: string; vlan: VlanPortConfig | null }[],
  proto: VlanProtoName,
): VlanConfig | null {
  const aware = ports.find((p) => p.vlan !== null);
  if (aware === undefined) return null;
  const vlans = ports.flatMap((p) => (p.vlan === null ? [] : [p.vlan]));
  const plain = ports.find((p) => p.vlan === null);
  if (plain !== undefined)
    throw usageError(
      `port ${plain.name} has no vlan= or trunk=, but ${aware.name} has: ` +
        'when one port is VLAN-aware, every port needs to say its VLANs',
    );
  return Object.freeze({ proto: VLAN_PROTOS[proto], ports: Object.freeze(vlans) });
}
