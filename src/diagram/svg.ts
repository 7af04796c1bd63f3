// Just enough SVG to draw boxes, lines and labels as text: no library, no external assets, and
// the same input always gives the same bytes (the committed diagrams are compared byte for byte).

export const FONT = 'DejaVu Sans, Verdana, Arial, sans-serif';

export const COLOR = {
  ink: '#1f2933',
  faint: '#9aa5b1',
  line: '#cbd2d9',
  sender: '#f7b267',
  copy: '#8fd694',
  none: '#ffffff',
  path: '#2f6fdf',
  drop: '#d64545',
  panel: '#f5f7fa',
  namespace: '#eef4fb',
} as const;

export function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** Numbers rounded to a tenth, so the text does not depend on floating-point noise. */
function n(value: number): string {
  return String(Math.round(value * 10) / 10);
}

export interface TextOptions {
  size?: number;
  anchor?: 'start' | 'middle' | 'end';
  weight?: 'normal' | 'bold';
  fill?: string;
  italic?: boolean;
}

export function text(x: number, y: number, content: string, o: TextOptions = {}): string {
  const attrs = [
    `x="${n(x)}"`,
    `y="${n(y)}"`,
    `font-size="${o.size ?? 12}"`,
    `text-anchor="${o.anchor ?? 'start'}"`,
    ...(o.weight === 'bold' ? ['font-weight="bold"'] : []),
    ...(o.italic ? ['font-style="italic"'] : []),
    `fill="${o.fill ?? COLOR.ink}"`,
  ];
  return `<text ${attrs.join(' ')}>${escapeXml(content)}</text>`;
}

export interface RectOptions {
  fill?: string;
  stroke?: string;
  width?: number;
  radius?: number;
  dash?: boolean;
}

export function rect(x: number, y: number, w: number, h: number, o: RectOptions = {}): string {
  return (
    `<rect x="${n(x)}" y="${n(y)}" width="${n(w)}" height="${n(h)}" rx="${n(o.radius ?? 4)}" ` +
    `fill="${o.fill ?? COLOR.none}" stroke="${o.stroke ?? COLOR.ink}" stroke-width="${n(o.width ?? 1)}"` +
    `${o.dash ? ' stroke-dasharray="5 3"' : ''}/>`
  );
}

export interface LineOptions {
  stroke?: string;
  width?: number;
  dash?: boolean;
}

export function line(x1: number, y1: number, x2: number, y2: number, o: LineOptions = {}): string {
  return (
    `<line x1="${n(x1)}" y1="${n(y1)}" x2="${n(x2)}" y2="${n(y2)}" stroke="${o.stroke ?? COLOR.ink}" ` +
    `stroke-width="${n(o.width ?? 1)}"${o.dash ? ' stroke-dasharray="5 3"' : ''}/>`
  );
}

/** A whole document: a white background, then the body. */
export function document(width: number, height: number, title: string, body: readonly string[]): string {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${n(width)}" height="${n(height)}" ` +
      `viewBox="0 0 ${n(width)} ${n(height)}" font-family="${FONT}">`,
    `<title>${escapeXml(title)}</title>`,
    `<rect x="0" y="0" width="${n(width)}" height="${n(height)}" fill="#ffffff"/>`,
    ...body,
    '</svg>',
    '',
  ].join('\n');
}
