// One picture per macvlan mode and kind of sender: three frames (rows) through three labs
// (columns), each panel drawn from the journey the simulator returned: who sent, which links a
// copy crossed and who got how many copies. Nothing here decides anything; it only draws.

import { TOWARD_LOWER } from '../sim/hairpin-switch.js';
import type { Journey } from '../sim/network.js';
import { EXT, HOST } from '../sim/topology.js';
import { type ModeDiagram, type Panel, type Path, type SenderKind, sourceNames } from './scenarios.js';
import { COLOR, document, line, rect, text } from './svg.js';

const LEFT = 150;
const TOP = 96;
const PANEL_W = 262;
const PANEL_H = 236;
const BOX_W = 56;
const BOX_H = 24;

const COLUMN_TITLE: Record<Path, [string, string]> = {
  switch: ['macvtap path', 'lower cabled to a switch, hairpin off'],
  hairpin: ['macvtap path', 'switch with hairpin (reflective relay)'],
  bridge: ['bridge path', 'taps and the NIC on a Linux bridge'],
  hostmv: ['the usual fix', "host's address on hostmv (bridge mode)"],
};

const SENDER_TITLE: Record<SenderKind, string> = {
  endpoint: 'an endpoint (a) sends',
  ext: 'the external host (ext) sends',
  host: "the host stack (the lower's own) sends",
};

export function diagramFileName(d: ModeDiagram): string {
  return `macvlan-${d.mode}-from-${d.sender}.svg`;
}

export function drawModeDiagram(d: ModeDiagram): string {
  const width = LEFT + PATHS_IN_ORDER(d).length * PANEL_W + 16;
  const rows = [...new Set(d.panels.map((p) => p.frame))];
  const legendTop = TOP + rows.length * PANEL_H + 8;
  const height = legendTop + 78 + (d.refused === null ? 0 : 40);
  const body: string[] = [
    text(16, 28, `macvlan mode ${d.mode}: ${SENDER_TITLE[d.sender]}`, { size: 20, weight: 'bold' }),
    text(16, 50, `Endpoints: ${d.endpoints.map((e) => `${e.name} (${endpointNote(e)})`).join(', ')}.`, { size: 12 }),
    text(
      16,
      68,
      'Each panel: one frame through the model (the forwarder’s own decide()), switch tables empty. ' +
        'Drawn by src/diagram; scripts/diagrams redraws it.',
      { size: 11, fill: '#52606d', italic: true },
    ),
  ];
  if (d.refused !== null) {
    const bold = { size: 11, weight: 'bold' } as const;
    body.push(text(16, legendTop + 94, 'No column for the usual fix, an on-host macvlan: the kernel refuses it', bold));
    body.push(text(16, legendTop + 110, `(${d.refused}).`, bold));
  }
  PATHS_IN_ORDER(d).forEach((path, col) => {
    const [title, sub] = COLUMN_TITLE[path];
    const x = LEFT + col * PANEL_W + PANEL_W / 2;
    body.push(text(x, TOP - 14, title, { size: 14, weight: 'bold', anchor: 'middle' }));
    body.push(text(x, TOP - 1, sub, { size: 11, anchor: 'middle' }));
  });
  rows.forEach((frame, row) => {
    const y = TOP + 6 + row * PANEL_H;
    const sample = d.panels.find((p) => p.frame === frame)!;
    const [title, sub] =
      frame === 'unicast'
        ? [`unicast ${sample.from} → ${sample.dst}`, `${sample.dst}: not learned yet`]
        : frame === 'broadcast'
          ? ['broadcast', 'ff:ff:ff:ff:ff:ff (e.g. ARP)']
          : ['unknown unicast', `to ${sample.dst}`];
    body.push(text(16, y + 96, title, { size: 14, weight: 'bold' }));
    body.push(text(16, y + 114, sub, { size: 11 }));
    body.push(text(16, y + 130, `from ${sample.from}`, { size: 11 }));
  });
  for (const panel of d.panels) {
    const col = PATHS_IN_ORDER(d).indexOf(panel.path);
    const row = rows.indexOf(panel.frame);
    body.push(drawPanel(panel, LEFT + col * PANEL_W + 4, TOP + 6 + row * PANEL_H));
  }
  body.push(...legend(16, legendTop));
  return document(width, height, `macvlan ${d.mode}, ${SENDER_TITLE[d.sender]}`, body);
}

/** An endpoint's mode, and what its source list makes it clone. */
function endpointNote(e: ModeDiagram['endpoints'][number]): string {
  const alone = e.mode === 'passthru' ? ['takes the NIC alone: no sibling, and every unicast from the wire'] : [];
  return [e.mode, ...alone, ...sourceNames(e).map((n) => `clones what ${n} sends`)].join(', ');
}

function PATHS_IN_ORDER(d: ModeDiagram): Path[] {
  return [...new Set(d.panels.map((p) => p.path))];
}

/** How many copies crossed each link, keyed by node/port; the macvlan–switch cable by direction. */
function linkUse(journey: Journey): Map<string, number> {
  const use = new Map<string, number>();
  const add = (key: string) => use.set(key, (use.get(key) ?? 0) + 1);
  for (const hop of journey.hops) {
    if (hop.at === 'switch' && hop.ingress === TOWARD_LOWER) add('cable/down');
    else if (hop.at === 'macvlan' && hop.ingress === TOWARD_LOWER) add('cable/up');
    else add(`${hop.at}/${hop.ingress}`);
    for (const o of hop.outputs) {
      // A copy out of a cabled port is counted where it enters the next switch.
      if (o.port === TOWARD_LOWER) continue;
      add(`${hop.at}/${o.port}`);
    }
  }
  return use;
}

function drawPanel(p: Panel, x: number, y: number): string {
  const out: string[] = [rect(x, y, PANEL_W - 8, PANEL_H - 10, { fill: COLOR.panel, stroke: COLOR.line })];
  const use = linkUse(p.journey);
  const hub = p.path === 'bridge' ? 'bridge' : 'macvlan';
  const guests = p.stations.filter((s) => s !== HOST && s !== EXT);
  const cx = x + 96;
  const hubY = y + 70;
  const hubW = 150;
  // Link from a point to a point, blue and thick where a copy crossed it.
  const link = (x1: number, y1: number, x2: number, y2: number, used: boolean) =>
    out.push(line(x1, y1, x2, y2, used ? { stroke: COLOR.path, width: 3.5 } : { stroke: COLOR.faint, width: 1.2 }));
  const station = (name: string, sx: number, sy: number, badgeRight = false) => {
    const copies = p.copies.get(name) ?? 0;
    const fill = name === p.from ? COLOR.sender : copies > 0 ? COLOR.copy : COLOR.none;
    out.push(rect(sx - BOX_W / 2, sy, BOX_W, BOX_H, { fill, width: name === p.from || copies > 0 ? 1.6 : 1 }));
    out.push(text(sx, sy + 16, name, { size: 13, anchor: 'middle', weight: 'bold' }));
    const sent = copies > 0 ? `sends, ×${copies} back` : 'sends';
    const badge = name === p.from ? sent : copies > 0 ? `×${copies}` : '';
    if (badge === '') return;
    // Above the box, where no link runs; ext's link comes from above, so its badge goes right.
    if (badgeRight) out.push(text(sx + BOX_W / 2 + 4, sy + 16, badge, { size: 11, weight: 'bold' }));
    else out.push(text(sx, sy - 4, badge, { size: 11, weight: 'bold', anchor: 'middle' }));
  };

  // Guests on top, each linked to the hub.
  guests.forEach((g, i) => {
    const half = guests.length > 2 ? 66 : 46;
    const gx = guests.length === 1 ? cx : cx - half + (2 * half * i) / (guests.length - 1);
    link(gx, y + 22 + BOX_H, gx, hubY, (use.get(`${hub}/${g}`) ?? 0) > 0);
    station(g, gx, y + 22);
  });
  // The host stack: the bridge device's own, right of the bridge; on the macvtap path the stack
  // that owns the lower, on the wire below macvlan: it sends there directly, and macvlan only
  // passes it what comes in from the wire.
  const hostX = x + 214;
  const hostUsed = (use.get(`${hub}/${HOST}`) ?? 0) > 0;
  if (p.path === 'bridge') {
    link(cx + hubW / 2, hubY + 14, hostX - BOX_W / 2, hubY + 14, hostUsed);
    station(HOST, hostX, hubY + 2);
  } else {
    const wireY = hubY + 50;
    link(cx, wireY, hostX - BOX_W / 2, wireY, hostUsed);
    station(HOST, hostX, wireY - 12);
  }
  out.push(rect(cx - hubW / 2, hubY, hubW, 28, { fill: '#e4e7eb', stroke: COLOR.ink, width: 1.4 }));
  out.push(
    text(cx, hubY + 18, hub === 'bridge' ? 'Linux bridge' : 'macvlan (on the lower)', { size: 12, anchor: 'middle' }),
  );

  const extY = y + 180;
  if (p.path === 'bridge') {
    link(cx, hubY + 28, cx, extY, (use.get(`bridge/${EXT}`) ?? 0) > 0);
    out.push(text(cx + 6, hubY + 68, 'NIC: a bridge port', { size: 10, fill: COLOR.faint }));
  } else {
    const swY = y + 126;
    const down = use.get('cable/down') ?? 0;
    const up = use.get('cable/up') ?? 0;
    link(cx, hubY + 28, cx, swY, down + up > 0);
    const arrow = { size: 14, anchor: 'end', weight: 'bold', fill: COLOR.path } as const;
    if (down > 0) out.push(text(cx - 8, hubY + 44, '↓', arrow));
    if (up > 0)
      out.push(
        // Up without down: the frame came in from the wire; after going down: the switch sent it back.
        text(cx + 8, hubY + 44, `↑${up > 1 ? ` ×${up}` : ''} ${down > 0 ? 'back' : 'in'}`, {
          size: 12,
          weight: 'bold',
          fill: COLOR.path,
        }),
      );
    out.push(text(cx - 24, hubY + 44, 'wire', { size: 10, anchor: 'end', fill: COLOR.faint }));
    link(cx, swY + 28, cx, extY, (use.get(`switch/${EXT}`) ?? 0) > 0);
    const hairpin = p.path === 'hairpin';
    out.push(rect(cx - 60, swY, 120, 28, { fill: hairpin ? '#fff3c4' : '#e4e7eb', stroke: COLOR.ink, width: 1.4 }));
    out.push(text(cx, swY + 18, hairpin ? 'switch, hairpin on' : 'switch', { size: 12, anchor: 'middle' }));
  }
  station(EXT, cx, extY, true);

  const got = p.stations.filter((s) => (p.copies.get(s) ?? 0) > 0).map((s) => `${s} ×${p.copies.get(s)}`);
  out.push(text(x + 8, y + PANEL_H - 18, `copies: ${got.length > 0 ? got.join(', ') : 'none'}`, { size: 12 }));
  return out.join('\n');
}

function legend(x: number, y: number): string[] {
  const out: string[] = [rect(x, y, 900, 66, { fill: '#ffffff', stroke: COLOR.line })];
  let at = x + 12;
  const swatch = (fill: string, label: string) => {
    out.push(rect(at, y + 12, 26, 16, { fill }));
    out.push(text(at + 32, y + 25, label, { size: 12 }));
    at += 40 + label.length * 6.6;
  };
  swatch(COLOR.sender, 'sender');
  swatch(COLOR.copy, 'gets a copy (×N: how many)');
  swatch(COLOR.none, 'gets nothing');
  out.push(line(at, y + 20, at + 30, y + 20, { stroke: COLOR.path, width: 3.5 }));
  out.push(text(at + 36, y + 25, 'a copy crossed this link', { size: 12 }));
  out.push(
    text(
      x + 12,
      y + 52,
      '↓ out on the wire; ↑ in: from the wire; ↑ back: the switch sent it back to the lower. ' +
        'host: the stack that owns the lower (or the bridge device).',
      { size: 12 },
    ),
  );
  return out;
}
