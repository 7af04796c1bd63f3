// The two labs of `tapyard lab up` that tapyard forwards in (kinds macvtap and bridge): which
// namespace holds which device, what is cabled to what, and where tapyard sits. The names are
// the script's (ty-ID-ROLE namespaces, ty-ID-NAME links), so a student can find every box with
// `ip -n ty-ID-hv link`.

import { COLOR, document, line, rect, text } from './svg.js';

export type LabKind = 'macvtap' | 'bridge';
export const LAB_KINDS: readonly LabKind[] = ['macvtap', 'bridge'];

export function labFileName(kind: LabKind): string {
  return `lab-${kind}.svg`;
}

interface Device {
  id: string;
  x: number;
  y: number;
  w: number;
  lines: string[];
  fill?: string;
}

interface Namespace {
  name: string;
  note: string;
  x: number;
  w: number;
  optional?: boolean;
}

interface Link {
  from: string;
  to: string;
  label: string;
  dash?: boolean;
  /** Where the label goes when the middle of the link is crowded: x, y, anchor. */
  labelAt?: [number, number, 'start' | 'end'];
}

const NS_TOP = 92;
const NS_H = 300;
const DEV_H = 58;

function layout(kind: LabKind): { namespaces: Namespace[]; devices: Device[]; links: Link[]; command: string } {
  const namespaces: Namespace[] = [
    { name: 'ty-ID-ext', note: 'the external host', x: 16, w: 170 },
    { name: 'ty-ID-sw', note: 'only with --switch / --hairpin', x: 206, w: 190, optional: true },
    { name: 'ty-ID-hv', note: 'the hypervisor: tapyard runs here', x: 416, w: 330 },
    { name: 'ty-ID-gst', note: 'the guest', x: 766, w: 200 },
  ];
  const devices: Device[] = [
    { id: 'ext', x: 30, y: 150, w: 142, lines: ['ty-ID-ext', 'veth, 10.77.0.1'] },
    { id: 'swx', x: 214, y: 150, w: 72, lines: ['ty-ID-swx', 'port'] },
    { id: 'swl', x: 294, y: 150, w: 96, lines: ['ty-ID-swl', 'port; hairpin', 'on with --hairpin'] },
    { id: 'swbr', x: 236, y: 260, w: 130, lines: ['ty-ID-sw', 'Linux bridge'] },
    { id: 'eth', x: 430, y: 150, w: 130, lines: ['ty-ID-eth', 'veth: the "eth0"'] },
    {
      id: 'gtp',
      x: 780,
      y: 150,
      w: 172,
      lines:
        kind === 'macvtap'
          ? ['ty-ID-gtp', 'tap, 10.77.0.2', "MAC = the macvtap's"]
          : ['ty-ID-gtp', 'tap, 10.77.0.2', 'its own random MAC'],
    },
    {
      id: 'tapyard',
      x: 600,
      y: 300,
      w: 140,
      lines: ['tapyard forward', 'wire ⇄ guest'],
      fill: COLOR.sender,
    },
  ];
  const links: Link[] = [
    { from: 'ext', to: 'swx', label: 'veth' },
    { from: 'swl', to: 'eth', label: 'veth' },
    { from: 'swx', to: 'swbr', label: '' },
    { from: 'swl', to: 'swbr', label: '' },
    { from: 'gtp', to: 'tapyard', label: 'tap opened in netns ty-ID-gst', dash: true, labelAt: [800, 300, 'start'] },
  ];
  let command: string;
  if (kind === 'macvtap') {
    devices.push({ id: 'mvt', x: 600, y: 150, w: 140, lines: ['ty-ID-mvt', 'macvtap, mode MODE', 'on ty-ID-eth'] });
    links.push({ from: 'eth', to: 'mvt', label: 'lower' });
    links.push({
      from: 'mvt',
      to: 'tapyard',
      label: 'char dev made from sysfs',
      dash: true,
      labelAt: [664, 262, 'end'],
    });
    command = 'tapyard forward --port wire=macvtap:$WIRE_IF --port guest=tap:$GUEST_IF,netns=$NS_GST';
  } else {
    devices.push({ id: 'br', x: 430, y: 260, w: 130, lines: ['ty-ID-br', 'Linux bridge'] });
    devices.push({ id: 'wtp', x: 600, y: 150, w: 140, lines: ['ty-ID-wtp', 'tap, a bridge port'] });
    links.push({ from: 'eth', to: 'br', label: 'port' });
    links.push({ from: 'wtp', to: 'br', label: 'port' });
    links.push({ from: 'wtp', to: 'tapyard', label: '/dev/net/tun', dash: true, labelAt: [664, 262, 'end'] });
    command = 'tapyard forward --port wire=tap:$WIRE_IF --port guest=tap:$GUEST_IF,netns=$NS_GST';
  }
  return { namespaces, devices, links, command };
}

export function drawLabDiagram(kind: LabKind): string {
  const { namespaces, devices, links, command } = layout(kind);
  const width = 982;
  const height = NS_TOP + NS_H + 96;
  const body: string[] = [
    text(16, 28, `tapyard lab up ${kind}${kind === 'macvtap' ? ' [--mode MODE]' : ''} [--switch | --hairpin]`, {
      size: 20,
      weight: 'bold',
    }),
    text(
      16,
      50,
      kind === 'macvtap'
        ? 'The macvtap path: the guest reaches the wire through a macvtap on the hypervisor’s NIC; ' +
            'tapyard plays QEMU.'
        : 'The bridge path: the NIC and a tap are ports of a Linux bridge; tapyard plays QEMU on the tap.',
      { size: 13 },
    ),
    text(16, 70, 'ID is a fresh random suffix per lab; `lab down ID` removes exactly these namespaces.', {
      size: 11,
      fill: COLOR.faint,
      italic: true,
    }),
  ];
  for (const ns of namespaces) {
    body.push(
      rect(ns.x, NS_TOP, ns.w, NS_H, {
        fill: ns.optional ? '#ffffff' : COLOR.namespace,
        stroke: COLOR.faint,
        dash: true,
        radius: 8,
      }),
    );
    body.push(text(ns.x + 10, NS_TOP + 20, ns.name, { size: 13, weight: 'bold' }));
    body.push(text(ns.x + 10, NS_TOP + 36, ns.note, { size: 11, fill: '#52606d' }));
  }
  const byId = new Map(devices.map((d) => [d.id, d]));
  const centre = (d: Device) => ({ x: d.x + d.w / 2, y: d.y + DEV_H / 2 });
  // Links first, so the boxes cover their ends.
  for (const l of links) {
    const a = centre(byId.get(l.from)!);
    const b = centre(byId.get(l.to)!);
    body.push(
      line(a.x, a.y, b.x, b.y, { stroke: l.dash ? COLOR.sender : COLOR.path, width: 2.5, dash: l.dash ?? false }),
    );
    if (l.labelAt !== undefined) {
      const [lx, ly, anchor] = l.labelAt;
      body.push(text(lx, ly, l.label, { size: 11, anchor, fill: '#52606d' }));
    } else if (l.label !== '') {
      const horizontal = Math.abs(a.y - b.y) < 1;
      body.push(
        text((a.x + b.x) / 2 + (horizontal ? 0 : 6), (a.y + b.y) / 2 - (horizontal ? 34 : 0), l.label, {
          size: 11,
          anchor: horizontal ? 'middle' : 'start',
          fill: '#52606d',
        }),
      );
    }
  }
  for (const d of devices) {
    body.push(rect(d.x, d.y, d.w, DEV_H, { fill: d.fill ?? '#ffffff', width: 1.4 }));
    d.lines.forEach((t, i) => {
      body.push(
        text(d.x + d.w / 2, d.y + 18 + i * 15, t, {
          size: i === 0 ? 12 : 11,
          anchor: 'middle',
          weight: i === 0 ? 'bold' : 'normal',
        }),
      );
    });
  }
  body.push(text(16, NS_TOP + NS_H + 26, 'Without --switch, ty-ID-ext is cabled straight to ty-ID-eth.', { size: 12 }));
  body.push(text(16, NS_TOP + NS_H + 46, `In ty-ID-hv: ${command}`, { size: 12 }));
  body.push(
    text(
      16,
      NS_TOP + NS_H + 66,
      'Then ping 10.77.0.2 from ty-ID-ext: every frame crosses tapyard both ways, counted per port.',
      {
        size: 12,
      },
    ),
  );
  return document(width, height, `lab ${kind}`, body);
}
