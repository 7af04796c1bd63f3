// The page's send form: a frame built from a few fields and switched by the live forwarder as if
// the chosen port had read it (forward --inject). Fields are read with the same value types as
// every option, so a bad one gets the sentence the command line would give.

import { TapyardError } from '../error.js';
import { EtherType, emitEthernet } from '../frame/ethernet.js';
import { hexOrDecimal, integer, mac } from '../grammar/value.js';
import { BROADCAST, type Mac } from '../mac.js';
import type { InjectAnswer } from '../run/inject-channel.js';
import type { UiTopology } from './topology.js';

export interface SendRequest {
  port?: unknown;
  dst?: unknown;
  src?: unknown;
  vlan?: unknown;
  ethertype?: unknown;
}

/** Ethernet's minimum frame size without the FCS. */
const MIN_FRAME = 60;
/** A locally administered sender, "ty": the frame is plainly not any station's own. */
const DEFAULT_SRC: Mac = 0x02_74_79_00_00_01;
/** In the payload, so that a capture shows where the frame came from. */
const MARK = new TextEncoder().encode('tapyard ui');

const field = (v: unknown): string | null =>
  v === undefined || v === null || v === '' ? null : typeof v === 'string' || typeof v === 'number' ? String(v) : '?';

/** The frame the form describes, and the port it enters on. */
export function sendFrame(req: SendRequest, topology: UiTopology): { port: string; frame: Uint8Array } {
  const port = field(req.port);
  if (port === null || !topology.ports.some((p) => p.name === port)) {
    const names = topology.ports.map((p) => p.name).join(', ');
    throw new TapyardError('EUSAGE', `send on one of this run's ports (${names})`);
  }
  const dstText = field(req.dst) ?? 'broadcast';
  const dst = dstText === 'broadcast' ? BROADCAST : mac.parse(dstText, 'dst');
  const srcText = field(req.src);
  const src = srcText === null ? DEFAULT_SRC : mac.parse(srcText, 'src');
  const vlanText = field(req.vlan);
  const vlan = vlanText === null ? null : integer(1, 4094).parse(vlanText, 'vlan');
  const typeText = field(req.ethertype);
  const etherType =
    typeText === null ? EtherType.EXPERIMENTAL : hexOrDecimal(0x600, 0xffff).parse(typeText, 'ethertype');
  const frame = new Uint8Array(MIN_FRAME + (vlan === null ? 0 : 4));
  const tags = vlan === null ? [] : [{ tpid: EtherType.VLAN, tci: vlan }];
  const header = emitEthernet({ dst, src, tags, etherType }, frame, 0);
  frame.set(MARK, header);
  return { port, frame };
}

export type Inject = (port: string, frame: Uint8Array) => Promise<InjectAnswer>;
