// `forward --inject`: frames to put into the running forwarder arrive on standard input, one JSON
// object per line, {"port": NAME, "hex": BYTES, "id": ANY}. Each is switched as if that port had
// just read it, and counted as its rx (OVS's netdev-dummy/receive counts an injected packet the
// same way), so the ledger holds. Each line is answered with one {"type": "injected"} object:
// the ports a copy was written to, the drops it met (port and reason) and the copies left queued
// behind a full egress, read from the counters around the one synchronous pass through the
// forwarder. A bad line is answered with its error; it never ends the run. A line longer than
// MAX_INJECT_LINE is not held: it is answered with one error and skipped to its end. The end of
// standard input (whoever wrote it is gone) ends the run.

import type { Readable } from 'node:stream';
import type { Forwarder } from '../engine/forwarder.js';
import { quote } from '../grammar/quote.js';
import { HEADROOM, type Port } from '../port/port.js';

/** What one injected frame became. */
export interface InjectAnswer {
  type: 'injected';
  /** The request's own id, handed back so a script can match answers (null: none given). */
  id: string | number | null;
  port: string | null;
  bytes: number;
  /** Ports a copy was written to (a port twice: two copies). */
  tx: string[];
  /** Copies dropped, and the frame itself when it went nowhere: where and why. */
  drops: { port: string; reason: string }[];
  /** Copies waiting behind a full egress; they are written (or counted) later. */
  queued: number;
  error?: string;
}

/** The shortest Ethernet header: a frame without one cannot be switched. */
const MIN_FRAME = 14;

/** The longest request line: the largest frame any port takes (MAX_FRAME), in hex, and room for the rest. */
export const MAX_INJECT_LINE = 256 * 1024;

/** Switch FRAME as if PORT had read it, and say where its copies went. */
export function injectFrame(
  forwarder: Forwarder,
  ports: readonly Port[],
  port: Port,
  frame: Uint8Array,
): Pick<InjectAnswer, 'tx' | 'drops' | 'queued'> {
  const before = ports.map((p) => ({ p, was: p.counters.snapshot() }));
  const queuedBefore = forwarder.ledger().queued;
  // A batch of one, laid out as a port's ring: the frame after the headroom, and before it a
  // zeroed vnet header where the port has one (no offload work pending).
  const buf = new Uint8Array(HEADROOM + frame.length);
  buf.set(frame, HEADROOM);
  const offsets = Uint32Array.of(HEADROOM);
  const lengths = Int32Array.of(frame.length);
  forwarder.onBatch(port, { buf, offsets, lengths, count: 1 });
  const tx: string[] = [];
  const drops: { port: string; reason: string }[] = [];
  for (const { p, was } of before) {
    const now = p.counters.snapshot();
    for (let n = now.txFrames - was.txFrames; n > 0; n--) tx.push(p.name);
    for (const [reason, count] of Object.entries(now.drops)) {
      for (let n = count - (was.drops[reason] ?? 0); n > 0; n--) drops.push({ port: p.name, reason });
    }
  }
  return { tx, drops, queued: forwarder.ledger().queued - queuedBefore };
}

/** Read injection requests from INPUT until it ends (then ENDED); ANSWER gets one object per line. */
export function readInjections(
  input: Readable,
  forwarder: Forwarder,
  ports: readonly Port[],
  answer: (a: InjectAnswer) => void,
  ended: () => void,
): void {
  const empty = { type: 'injected' as const, id: null, port: null, bytes: 0, tx: [], drops: [], queued: 0 };
  const onLine = (line: string) => {
    if (line.trim() !== '') answer(injectLine(line, forwarder, ports));
  };
  const tooLong = () => answer({ ...empty, error: `a request line is at most ${MAX_INJECT_LINE} bytes: skipped` });
  splitLines(input, MAX_INJECT_LINE, onLine, tooLong);
  let over = false;
  const end = () => {
    if (over) return;
    over = true;
    ended();
  };
  input.once('end', end);
  input.once('error', end); // a broken pipe is an end of input too
}

/**
 * LINE for every newline-ended line of INPUT (and a last one without), holding at most LIMIT
 * bytes: a longer line is dropped as it arrives, and TOOLONG is told once for it.
 */
function splitLines(input: Readable, limit: number, line: (text: string) => void, tooLong: () => void): void {
  let held: Buffer[] = [];
  let heldBytes = 0;
  let skipping = false;
  input.on('data', (chunk: Buffer) => {
    let start = 0;
    for (let nl = chunk.indexOf(10, start); start <= chunk.length; nl = chunk.indexOf(10, start)) {
      const end = nl < 0 ? chunk.length : nl;
      if (!skipping) {
        heldBytes += end - start;
        if (heldBytes > limit) {
          skipping = true;
          held = [];
          tooLong();
        } else held.push(chunk.subarray(start, end));
      }
      if (nl < 0) break;
      if (!skipping) line(Buffer.concat(held).toString('utf8'));
      held = [];
      heldBytes = 0;
      skipping = false;
      start = nl + 1;
    }
  });
  input.once('end', () => {
    if (!skipping && heldBytes > 0) line(Buffer.concat(held).toString('utf8'));
  });
}

function injectLine(line: string, forwarder: Forwarder, ports: readonly Port[]): InjectAnswer {
  const empty = { type: 'injected' as const, id: null, port: null, bytes: 0, tx: [], drops: [], queued: 0 };
  let request: unknown;
  try {
    request = JSON.parse(line);
  } catch {
    return { ...empty, error: 'an injection is one JSON object per line: {"port": NAME, "hex": BYTES}' };
  }
  if (typeof request !== 'object' || request === null || Array.isArray(request))
    return { ...empty, error: 'an injection is a JSON object: {"port": NAME, "hex": BYTES}' };
  const r = request as { port?: unknown; hex?: unknown; id?: unknown };
  const id = typeof r.id === 'string' || typeof r.id === 'number' ? r.id : null;
  const port = ports.find((p) => p.name === r.port);
  if (port === undefined) {
    const names = ports.map((p) => p.name).join(', ');
    const error =
      typeof r.port === 'string'
        ? `there is no port ${quote(r.port)} to inject on (the ports: ${names})`
        : `"port" must name the port to inject on (the ports: ${names})`;
    return { ...empty, id, error };
  }
  // No group in the pattern: a repeated group recurses once per repetition and overflows the stack.
  if (typeof r.hex !== 'string' || r.hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(r.hex))
    return { ...empty, id, port: port.name, error: '"hex" must be the frame as pairs of hex digits' };
  const frame = Buffer.from(r.hex, 'hex');
  if (frame.length < MIN_FRAME || frame.length > port.maxFrame) {
    return {
      ...empty,
      id,
      port: port.name,
      bytes: frame.length,
      error: `a frame injected on ${port.name} has ${MIN_FRAME} to ${port.maxFrame} bytes, not ${frame.length}`,
    };
  }
  return { type: 'injected', id, port: port.name, bytes: frame.length, ...injectFrame(forwarder, ports, port, frame) };
}
