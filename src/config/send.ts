// `tapyard send`'s command line, declared: one port (the grammar of `forward --port`), the
// frames (a layered spec, --hex or --pcap), their schedule and what to expect back become one
// frozen SendConfig before the port is opened. The grammar of the spec is src/send/layers.ts.

import { flagHelp, HELP_FLAG, onOff, parseCommandLine, valued } from '../grammar/argv.js';
import { quote } from '../grammar/quote.js';
import { integer, seconds, text, usageError, type ValueType } from '../grammar/value.js';
import { type CaptureInterface, type CaptureStream, openCaptureFile } from '../send/capture-file.js';
import { type FrameTemplate, readFrameSpec } from '../send/frame-spec.js';
import { parseHexBytes } from '../send/layer-values.js';
import { layerHelp } from '../send/layers.js';
import { type FrameMatch, readMatch } from '../send/match.js';
import { type PortConfig, parsePortSpec, portHelp } from './port.js';

/** Exit status when --expect saw no matching frame within --timeout. */
export const EXIT_NOT_MET = 3;
const DEFAULT_TIMEOUT_S = 2;

const perSecond: ValueType<number> = {
  shape: 'PPS',
  parse(value, where) {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n) || n <= 0 || n > 10_000_000) {
      throw usageError(`${where} must be frames per second above 0 and at most 10000000, not ${quote(value)}`);
    }
    return n;
  },
};

export const SEND_FLAGS = {
  port: valued('port', text('SPEC'), 'NAME=KIND:TARGET[,key=value...], the port to send on (as forward --port)'),
  hex: valued('hex', text('BYTES', 262144), 'send these bytes as the whole frame (hex digits; spaces and : allowed)'),
  pcap: valued('pcap', text('FILE'), 'replay the frames of a pcap or pcapng file, with their original spacing'),
  interface: valued(
    'interface',
    text('IFACE', 256),
    "--pcap: replay one interface of a pcapng file, by index (0, 1, ...) or name (forward --capture's port names)",
  ),
  count: valued('count', integer(1, 1_000_000_000), 'send the frames (all of a --pcap file) N times', '1'),
  interval: valued('interval', seconds(), 'seconds between two frames (default: as fast as the port takes them)'),
  rate: valued('rate', perSecond, 'frames per second (the same as --interval 1/PPS)'),
  expect: valued(
    'expect',
    text('MATCH'),
    'wait for frames back that match (the spec grammar: udp sport=7); one is enough',
  ),
  timeout: valued(
    'timeout',
    seconds(),
    'how long --expect waits after the last frame for a match to each frame sent',
    String(DEFAULT_TIMEOUT_S),
  ),
  json: onOff('json', 'one JSON object per line: each frame sent and matched, then the summary'),
  quiet: onOff('quiet', 'print the summary only, not a line per frame sent and matched', 'q'),
  out: valued('out', text('FILE'), 'save the frames that matched --expect to this pcapng file'),
  help: HELP_FLAG,
} as const;

export type SendFrames =
  | { readonly kind: 'spec'; readonly template: FrameTemplate }
  | { readonly kind: 'hex'; readonly bytes: Uint8Array }
  | { readonly kind: 'pcap'; readonly path: string; readonly captured: CaptureStream };

export interface SendConfig {
  readonly port: PortConfig;
  readonly frames: SendFrames;
  readonly count: number;
  /** Seconds between frames; null: a --pcap file's own spacing (or, for one frame, none). */
  readonly interval: number | null;
  readonly expect: FrameMatch | null;
  readonly timeoutS: number;
  readonly json: boolean;
  /** The summary only: no line per frame. */
  readonly quiet: boolean;
  /** A pcapng file for the matched frames, or null. */
  readonly out: string | null;
}

/** The typed configuration, or null when --help was asked for. */
export function readSendConfig(argv: readonly string[]): SendConfig | null {
  const { values, positionals } = parseCommandLine(argv, SEND_FLAGS);
  if (values.help) return null;
  if (values.port === undefined) throw usageError('send needs --port NAME=KIND:TARGET');
  const port = bothWays(parsePortSpec(values.port, 'cross'), values.port);
  if (port.rxFilter !== null) {
    throw usageError(`port ${port.name}: rx-filter plays a guest NIC's filter for forward; send reads everything back`);
  }
  if (port.device.kind === 'macvtap' && port.device.spoof === 'drop') {
    throw usageError(
      `port ${port.name}: spoof=drop stops what a guest sends through forward; send writes what it is given`,
    );
  }
  const given = [positionals.length > 0, values.hex !== undefined, values.pcap !== undefined].filter(Boolean).length;
  if (given === 0)
    throw usageError('send needs a frame: a spec (ipv4 src=A dst=B / udp dport=7), --hex BYTES or --pcap FILE');
  if (given > 1) throw usageError('send takes one of a frame spec, --hex and --pcap');
  if (values.interface !== undefined && values.pcap === undefined)
    throw usageError('--interface picks an interface of a --pcap file: give --pcap too');
  let frames: SendFrames;
  if (values.hex !== undefined) frames = { kind: 'hex', bytes: parseHexBytes(values.hex, '--hex') };
  else if (values.pcap !== undefined)
    frames = {
      kind: 'pcap',
      path: values.pcap,
      captured: openCaptureFile(values.pcap, captureInterface(values.interface)),
    };
  else frames = { kind: 'spec', template: readFrameSpec(positionals.join(' ')) };
  if (values.interval !== undefined && values.rate !== undefined)
    throw usageError('--interval and --rate say the same thing: give one');
  if (values.timeout !== undefined && values.expect === undefined)
    throw usageError('--timeout is how long --expect waits: give --expect too');
  if (values.out !== undefined && values.expect === undefined)
    throw usageError('--out saves the frames that match --expect: give --expect too');
  const interval = values.rate !== undefined ? 1 / values.rate : (values.interval ?? null);
  return Object.freeze({
    port,
    frames,
    count: values.count ?? 1,
    interval,
    expect: values.expect === undefined ? null : readMatch(values.expect),
    timeoutS: values.timeout ?? DEFAULT_TIMEOUT_S,
    json: values.json,
    quiet: values.quiet,
    out: values.out ?? null,
  });
}

/** --interface 1 or --interface guest: an index is digits, anything else a name. */
function captureInterface(given: string | undefined): CaptureInterface | null {
  if (given === undefined) return null;
  return /^\d+$/.test(given) ? Number(given) : given;
}

/**
 * A pcap port reads what comes back in both directions unless dir= says otherwise: libpcap's
 * `inbound` filter let no reply through on the lab's external veth (kernel 6.18.44, libpcap
 * 1.10.3), though a packet socket there sees them as PACKET_HOST. Nothing send writes is read
 * back: the kernel hands a frame to every packet socket but the one that sent it.
 */
function bothWays(port: PortConfig, spec: string): PortConfig {
  if (port.device.kind !== 'pcap' || /,dir=/.test(spec)) return port;
  return Object.freeze({ ...port, device: { ...port.device, dir: 'both' as const } });
}

export function sendHelp(): string {
  return `usage: tapyard send --port NAME=KIND:TARGET[,key=value...] [options] SPEC | --hex BYTES | --pcap FILE

Put frames into a port (macvtap, tap, pcap, a built-in guest, ...) and, with --expect, wait for
a frame that comes back (as scapy's srp1). Each frame sent and matched is printed as describe
prints it; frames read back that do not match are counted, not printed. A pcap port reads both
directions (dir=both) unless told otherwise; what send itself writes is never read back.

Options:
${flagHelp(SEND_FLAGS).join('\n')}

A SPEC is layers from the outside in, separated by ' / '; lengths, EtherTypes, protocol numbers
and checksums are computed; eth may be left out. --expect reads the same grammar as a match:
the layers named must be there with the keys given; the rest may be anything.
${layerHelp().join('\n')}

Ports (KIND:TARGET) and their keys (as forward's, but for the receive filter):
${portHelp().join('\n')}

Examples (a lab from tapyard lab up macvtap; the external namespace has a veth):
  ip netns exec $NS_EXT tapyard send --port x=pcap:$EXT_IF \\
      eth dst=$GUEST_MAC / ipv4 src=$EXT_IP dst=$GUEST_IP / udp dport=7 / text hello \\
      --expect 'udp sport=7 / text hello' --timeout 2
  ip netns exec $NS_HV tapyard send --port wire=macvtap:$WIRE_IF --pcap run.pcapng --rate 100
  ip netns exec $NS_HV tapyard send --port wire=macvtap:$WIRE_IF --pcap run.pcapng --interface guest --quiet
  ip netns exec $NS_EXT tapyard send --port x=pcap:$EXT_IF --hex 'ffffffffffff 020000000001 88b5 7479'

Exit status: 0 done (and --expect met), 1 the port failed or refused a frame, 2 bad usage,
${EXIT_NOT_MET} --expect saw no matching frame within --timeout.`;
}
