// The why form's POST: a question in fields (mode, from, to, hairpin) answered by the same model as
// `tapyard why macvlan --json`, and, when asked, checked by the kernel as `--verify` does (the
// lab built in throwaway namespaces, skb:kfree_skb read for them only).

import { TapyardError } from '../error.js';
import { LINUX_DEFAULT_GROUPS } from '../sim/topology.js';
import { type Answer, type MacvtapSetup, why } from '../sim/why.js';
import { MACVLAN_MODE_NAMES, type MacvlanMode } from '../switch/macvlan.js';
import { whyForLab } from '../verify/model-frames.js';
import { type Verification, verifyFrames } from '../verify/verify.js';

export interface WhyRequest {
  mode?: unknown;
  from?: unknown;
  to?: unknown;
  hairpin?: unknown;
  verify?: unknown;
}

const STATION = /^[A-Za-z][A-Za-z0-9_-]{0,14}$/;

function field(value: unknown, name: string): string {
  if (typeof value !== 'string' || !STATION.test(value))
    throw new TapyardError('EUSAGE', `${name} must be a station: a, b, host or ext`);
  return value;
}

/** The fields as the setup and question `tapyard why macvlan` builds from its flags. */
export function whySetup(req: WhyRequest): { setup: MacvtapSetup; from: string; to: string } {
  const mode = (req.mode ?? 'vepa') as MacvlanMode;
  if (!MACVLAN_MODE_NAMES.includes(mode))
    throw new TapyardError('EUSAGE', `mode must be one of ${MACVLAN_MODE_NAMES.join(', ')}`);
  const setup: MacvtapSetup = {
    path: 'macvtap',
    endpoints: (mode === 'passthru' ? ['a'] : ['a', 'b']).map((name) => ({ name, mode, groups: LINUX_DEFAULT_GROUPS })),
    wire: req.hairpin === true || req.hairpin === 'on' ? 'hairpin' : 'switch',
    guests: new Map(),
    trusted: new Set(),
  };
  return { setup, from: field(req.from, 'from'), to: field(req.to, 'to') };
}

export async function whyJson(req: WhyRequest): Promise<{ answer: Answer; verify: Verification | null }> {
  const { setup, from, to } = whySetup(req);
  const question = { from, to, dst: null };
  const answer = why(setup, question);
  if (req.verify !== true && req.verify !== 'on') return { answer, verify: null };
  const forLab = whyForLab(setup, question);
  return { answer, verify: await verifyFrames(forLab.topology, forLab.frames, forLab.cannot) };
}
