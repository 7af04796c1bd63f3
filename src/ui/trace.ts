// The trace form's POST: the same reading and model as `tapyard trace --json`, so the page and the
// command line cannot disagree. A bad field is the same one sentence trace prints.

import { readTraceConfig } from '../config/trace.js';
import { TapyardError } from '../error.js';
import { countDeliveries } from '../sim/network.js';
import { buildTraceLab, traceFrame } from '../sim/trace-lab.js';
import { toJson } from '../sim/trace-render.js';

export interface TraceRequest {
  topology?: unknown;
  from?: unknown;
  dst?: unknown;
  src?: unknown;
  vlan?: unknown;
  ethertype?: unknown;
}

/** trace's words for the form's fields: empty fields are left to trace's defaults. */
export function traceArgv(req: TraceRequest): string[] {
  const words = (typeof req.topology === 'string' ? req.topology : '').trim().split(/\s+/).filter(Boolean);
  for (const [flag, value] of [
    ['--from', req.from],
    ['--dst', req.dst],
    ['--src', req.src],
    ['--vlan', req.vlan],
    ['--ethertype', req.ethertype],
  ] as const) {
    if (value === undefined || value === null || value === '') continue;
    if (typeof value !== 'string' && typeof value !== 'number')
      throw new TapyardError('EUSAGE', `${flag} must be text`);
    words.push(flag, String(value));
  }
  return words;
}

export function traceJson(req: TraceRequest): ReturnType<typeof toJson> {
  const config = readTraceConfig(traceArgv(req));
  if (config === null) throw new TapyardError('EUSAGE', 'the trace form has no help: fill in the frame');
  const lab = buildTraceLab(config);
  const { from, bytes } = traceFrame(lab, config.from, config.frame);
  const journey = lab.send(from, bytes);
  const counts = countDeliveries(journey);
  return toJson({ bytes, from, topology: lab.description, journey, counts, stations: lab.stations() });
}
