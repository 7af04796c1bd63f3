// Port specs on the command line: NAME=KIND:IFNAME[,key=value|flag ...]
//   wire=macvtap:ty-1a2b3-mvt
//   guest=tap:ty-1a2b3-gtp,netns=ty-1a2b3-gst,offload=on
//   mirror=pcap:eth1,bpf=udp port 4789
// Options a port does not use are handed to the switch (e.g. role=lower, mode=vepa).

import { TapyardError } from '../error.js';
import type { PortKind } from './port.js';

export interface PortSpec {
  name: string;
  kind: SpecKind;
  ifname: string;
  options: Record<string, string>;
}

export type SpecKind = Exclude<PortKind, 'memory'>;
const KINDS: readonly SpecKind[] = ['macvtap', 'tap', 'pcap'];
const NAME = /^[A-Za-z][A-Za-z0-9_-]{0,31}$/;
/** What the kernel accepts as an interface name (dev_valid_name): 1-15 bytes, no '/', ':' or space. */
const IFNAME = /^[^/:\s]{1,15}$/;

export function parsePortSpec(text: string): PortSpec {
  const bad = (why: string) =>
    new TapyardError('EUSAGE', `bad --port '${text}': ${why} (expected NAME=KIND:IFNAME[,key=value...])`);
  const eq = text.indexOf('=');
  if (eq < 0) throw bad('no NAME=');
  const name = text.slice(0, eq);
  if (!NAME.test(name)) throw bad(`'${name}' is not a port name (a letter, then letters, digits, - or _)`);
  const rest = text.slice(eq + 1);
  const colon = rest.indexOf(':');
  if (colon < 0) throw bad('no KIND:');
  const kind = rest.slice(0, colon) as SpecKind;
  if (!KINDS.includes(kind)) throw bad(`unknown kind '${kind}' (macvtap, tap or pcap)`);
  const [ifname = '', ...opts] = rest.slice(colon + 1).split(',');
  if (ifname === '.' || ifname === '..' || !IFNAME.test(ifname))
    throw bad(`'${ifname}' is not an interface name (1-15 characters)`);
  const options: Record<string, string> = {};
  for (const opt of opts) {
    if (opt === '') throw bad('empty option');
    const at = opt.indexOf('=');
    const key = at < 0 ? opt : opt.slice(0, at);
    if (!/^[a-z][a-z0-9-]*$/.test(key)) throw bad(`'${key}' is not an option name`);
    if (key in options) throw bad(`option '${key}' given twice`);
    options[key] = at < 0 ? 'on' : opt.slice(at + 1);
  }
  return { name, kind, ifname, options };
}

/** Take an on/off option out of `options` (so the switch does not see it). */
export function takeFlag(spec: PortSpec, key: string, fallback: boolean): boolean {
  const value = spec.options[key];
  if (value === undefined) return fallback;
  delete spec.options[key];
  if (value === 'on' || value === 'yes' || value === 'true' || value === '1') return true;
  if (value === 'off' || value === 'no' || value === 'false' || value === '0') return false;
  throw new TapyardError('EUSAGE', `port ${spec.name}: ${key}=${value} must be on or off`);
}

export function takeString(spec: PortSpec, key: string): string | undefined {
  const value = spec.options[key];
  delete spec.options[key];
  return value;
}
