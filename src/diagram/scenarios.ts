// What the mode diagrams show, as data: for one macvlan mode and one kind of sender, three
// frames (a unicast, a broadcast, an unknown unicast), each sent through three labs (the lower
// cabled to a switch with hairpin off, the same with hairpin on, and the bridge path beside
// them). Every panel is one run of the simulator, and carries the `tapyard trace` arguments
// that ask the same question, so a test can check that both give the same copies.

import { BROADCAST, formatMac, type Mac } from '../mac.js';
import { countDeliveries, type Journey } from '../sim/network.js';
import { probeFrame } from '../sim/probe-frame.js';
import {
  BridgeLab,
  DEFAULT_EXT_MAC,
  DEFAULT_HOST_MAC,
  EXT,
  HOST,
  LINUX_DEFAULT_GROUPS,
  MacvlanLab,
  type Wire,
} from '../sim/topology.js';
import type { EndpointConfig, MacvlanMode } from '../switch/macvlan.js';

export type SenderKind = 'endpoint' | 'ext' | 'host';
export const SENDER_KINDS: readonly SenderKind[] = ['endpoint', 'ext', 'host'];

export type FrameKind = 'unicast' | 'broadcast' | 'unknown';
export const FRAME_KINDS: readonly FrameKind[] = ['unicast', 'broadcast', 'unknown'];

/** hostmv: the usual fix for the host, its address on an on-host macvlan in bridge mode (switch, hairpin off). */
export type Path = 'switch' | 'hairpin' | 'bridge' | 'hostmv';
export const PATHS: readonly Path[] = ['switch', 'hairpin', 'bridge'];

/** The on-host macvlan of the fix column. */
export const HOST_MACVLAN = 'hostmv';

/** A MAC nobody owns: the "unknown unicast" row. */
export const UNKNOWN_MAC: Mac = 0x02_00_00_00_99_99;

export interface Panel {
  path: Path;
  frame: FrameKind;
  from: string;
  /** The destination as a station name, or a MAC written out. */
  dst: string;
  /** Every station of the lab, in drawing order. */
  stations: string[];
  journey: Journey;
  copies: Map<string, number>;
  /** The `tapyard trace` arguments that send the same frame through the same lab. */
  traceArgs: string[];
}

export interface ModeDiagram {
  mode: MacvlanMode;
  sender: SenderKind;
  endpoints: EndpointConfig[];
  panels: Panel[];
  /** Why a column the picture would have is missing: the kernel refuses that lab (passthru's fix). */
  refused: string | null;
}

/**
 * The endpoints a mode is drawn with: two siblings, except passthru, which must be alone on its
 * lower. Source-mode endpoints are never matched by destination, so each lists a source to show
 * what they do get: a clones frames from ext, b frames from the host.
 */
export function endpointsFor(mode: MacvlanMode): EndpointConfig[] {
  if (mode === 'passthru') return [{ name: 'a', mode, groups: LINUX_DEFAULT_GROUPS }];
  const sources = (mac: Mac) => (mode === 'source' ? { sources: [mac] } : {});
  return [
    { name: 'a', mode, groups: LINUX_DEFAULT_GROUPS, ...sources(DEFAULT_EXT_MAC) },
    { name: 'b', mode, groups: LINUX_DEFAULT_GROUPS, ...sources(DEFAULT_HOST_MAC) },
  ];
}

/** A source list's entries by station name where they are the lab's ext or host. */
export function sourceNames(e: EndpointConfig): string[] {
  return (e.sources ?? []).map((m) => (m === DEFAULT_EXT_MAC ? EXT : m === DEFAULT_HOST_MAC ? HOST : formatMac(m)));
}

/** The same endpoints as `tapyard trace --endpoint` specs. */
function endpointArgs(endpoints: readonly EndpointConfig[]): string[] {
  return endpoints.flatMap((e) => {
    const sources = sourceNames(e);
    return ['--endpoint', `${e.name}=${e.mode}${sources.length > 0 ? `,sources=${sources.join('+')}` : ''}`];
  });
}

/** Who sends, in a lab whose first endpoint is a. */
function senderName(kind: SenderKind): string {
  return kind === 'endpoint' ? 'a' : kind === 'ext' ? EXT : HOST;
}

/** The unicast row's destination: the sibling when an endpoint sends (ext when it has none), else a. */
function unicastTarget(kind: SenderKind, endpoints: readonly EndpointConfig[]): string {
  if (kind !== 'endpoint') return 'a';
  return endpoints[1]?.name ?? EXT;
}

function destinationMac(dst: string, macs: ReadonlyMap<string, Mac>): Mac {
  if (dst === 'broadcast') return BROADCAST;
  return macs.get(dst) ?? UNKNOWN_MAC;
}

export function modeDiagram(mode: MacvlanMode, sender: SenderKind): ModeDiagram {
  const endpoints = endpointsFor(mode);
  const from = senderName(sender);
  const panels: Panel[] = [];
  // The host's frames never pass through macvlan; the fix column moves its address onto an
  // on-host macvlan in bridge mode, with the endpoints in bridge mode too (what `why` proposes).
  let refused: string | null = null;
  const fixEndpoints: EndpointConfig[] = [
    ...endpoints.map((e) => (e.mode === 'vepa' || e.mode === 'private' ? { ...e, mode: 'bridge' as const } : e)),
    { name: HOST_MACVLAN, mode: 'bridge', groups: LINUX_DEFAULT_GROUPS },
  ];
  const paths: Path[] = [...PATHS];
  if (sender === 'host') {
    try {
      new MacvlanLab({ endpoints: fixEndpoints, wire: 'switch' });
      paths.push('hostmv');
    } catch (err) {
      refused = (err as Error).message;
    }
  }
  for (const frame of FRAME_KINDS) {
    const dst =
      frame === 'unicast'
        ? unicastTarget(sender, endpoints)
        : frame === 'broadcast'
          ? 'broadcast'
          : formatMac(UNKNOWN_MAC);
    for (const path of paths) {
      // A fresh lab for every frame: nothing learned from an earlier row changes this one.
      const sender = path === 'hostmv' ? HOST_MACVLAN : from;
      const lab =
        path === 'bridge'
          ? new BridgeLab({ ports: [...endpoints.map((e) => ({ name: e.name })), { name: EXT }] })
          : path === 'hostmv'
            ? new MacvlanLab({ endpoints: fixEndpoints, wire: 'switch' })
            : new MacvlanLab({ endpoints, wire: path as Wire });
      const journey = lab.send(sender, probeFrame(destinationMac(dst, lab.macs), lab.mac(sender)));
      const topology =
        path === 'bridge'
          ? ['bridge', ...[...endpoints.map((e) => e.name), EXT].flatMap((name) => ['--port', name])]
          : path === 'hostmv'
            ? ['macvlan', ...endpointArgs(fixEndpoints), '--wire', 'switch']
            : ['macvlan', ...endpointArgs(endpoints), '--wire', path];
      panels.push({
        path,
        frame,
        from: sender,
        dst,
        stations: lab.stations(),
        journey,
        copies: countDeliveries(journey),
        traceArgs: [...topology, '--from', sender, '--dst', dst],
      });
    }
  }
  return { mode, sender, endpoints, panels, refused };
}
