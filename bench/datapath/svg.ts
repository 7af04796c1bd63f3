// Hand-written SVG charts: horizontal bar charts with min-max whiskers, a percentile strip on
// a log axis, and a small line chart. No library: plain strings, every text escaped, every
// number rounded, so the files are small, well-formed and diffable.

export const PALETTE = [
  '#2b6cb0',
  '#dd6b20',
  '#38a169',
  '#805ad5',
  '#c53030',
  '#319795',
  '#b7791f',
  '#4a5568',
  '#d53f8c',
];

const FONT = 'font-family="system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif"';
const WIDTH = 880;
const LABEL_W = 230;
const RIGHT = 110;

export function esc(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

const r1 = (x: number) => Math.round(x * 10) / 10;

function text(x: number, y: number, s: string, attrs = ''): string {
  return `<text x="${r1(x)}" y="${r1(y)}" ${attrs}>${esc(s)}</text>`;
}

/** Round tick steps (1, 2, 5 × 10^k) covering 0..max with about `count` ticks. */
export function niceTicks(max: number, count = 5): number[] {
  if (!(max > 0)) return [0, 1];
  const raw = max / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw)!;
  const ticks: number[] = [];
  for (let t = 0; t <= max + step * 1e-9; t += step) ticks.push(Number(t.toPrecision(12)));
  if (ticks[ticks.length - 1]! < max) ticks.push(Number((ticks[ticks.length - 1]! + step).toPrecision(12)));
  return ticks;
}

/** Title plus one line per subtitle entry; returns the y where the chart may start. */
const headerBottom = (subtitle: readonly string[]): number => 34 + 16 * subtitle.length;

function frame(title: string, subtitle: readonly string[], height: number, body: string[]): string {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${Math.round(height)}" viewBox="0 0 ${WIDTH} ${Math.round(height)}" ${FONT} font-size="12">`,
    `<title>${esc(title)}</title>`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    text(16, 26, title, 'font-size="17" font-weight="600" fill="#1a202c"'),
    ...subtitle.map((line, i) => text(16, 46 + 16 * i, line, 'fill="#4a5568"')),
    ...body,
    '</svg>',
    '',
  ].join('\n');
}

function legend(series: readonly { name: string; color: string }[], y: number): string[] {
  const out: string[] = [];
  let x = LABEL_W;
  for (const s of series) {
    out.push(`<rect x="${x}" y="${y - 10}" width="12" height="12" rx="2" fill="${s.color}"/>`);
    out.push(text(x + 17, y, s.name, 'fill="#2d3748"'));
    x += 30 + s.name.length * 7;
  }
  return out;
}

export interface Bar {
  series: number;
  value: number;
  min?: number;
  max?: number;
  /** Text after the bar; defaults to the formatted value. */
  note?: string;
}

export interface BarRow {
  label: string;
  sublabel?: string;
  bars: Bar[];
}

export interface BarChart {
  title: string;
  subtitle: readonly string[];
  axis: string;
  series: readonly string[];
  rows: readonly BarRow[];
  format: (v: number) => string;
}

/** Horizontal grouped bars from zero, with a min-max whisker when min/max are given. */
export function barChart(c: BarChart): string {
  const series = c.series.map((name, i) => ({ name, color: PALETTE[i % PALETTE.length]! }));
  const barH = 13;
  const gap = 3;
  const top = headerBottom(c.subtitle) + 44;
  const plotW = WIDTH - LABEL_W - RIGHT;
  const maxValue = Math.max(0, ...c.rows.flatMap((r) => r.bars.map((b) => Math.max(b.value, b.max ?? 0))));
  const ticks = niceTicks(maxValue);
  const scale = (v: number) => LABEL_W + (v / ticks[ticks.length - 1]!) * plotW;
  const body: string[] = legend(series, top - 14);
  let y = top;
  const rowsSvg: string[] = [];
  for (const [i, row] of c.rows.entries()) {
    const h = Math.max(1, row.bars.length) * (barH + gap) + 10;
    if (i % 2 === 1)
      rowsSvg.push(`<rect x="8" y="${r1(y - 4)}" width="${WIDTH - 16}" height="${r1(h)}" fill="#f7fafc"/>`);
    const mid = y + (h - 10) / 2;
    rowsSvg.push(text(LABEL_W - 10, row.sublabel ? mid - 1 : mid + 4, row.label, 'text-anchor="end" fill="#1a202c"'));
    if (row.sublabel)
      rowsSvg.push(text(LABEL_W - 10, mid + 12, row.sublabel, 'text-anchor="end" fill="#718096" font-size="10"'));
    row.bars.forEach((b, k) => {
      const by = y + k * (barH + gap);
      const color = series[b.series]?.color ?? '#999';
      const w = Math.max(0, scale(b.value) - LABEL_W);
      rowsSvg.push(`<rect x="${LABEL_W}" y="${r1(by)}" width="${r1(w)}" height="${barH}" rx="2" fill="${color}"/>`);
      let end = LABEL_W + w;
      if (b.min !== undefined && b.max !== undefined && b.max > b.min) {
        const x0 = scale(b.min);
        const x1 = scale(b.max);
        const cy = by + barH / 2;
        rowsSvg.push(
          `<path d="M${r1(x0)} ${r1(cy)}H${r1(x1)}M${r1(x0)} ${r1(cy - 4)}v8M${r1(x1)} ${r1(cy - 4)}v8" stroke="#1a202c" stroke-width="1.2" fill="none"/>`,
        );
        end = Math.max(end, x1);
      }
      rowsSvg.push(text(end + 5, by + barH - 2, b.note ?? c.format(b.value), 'fill="#2d3748" font-size="11"'));
    });
    y += h;
  }
  const bottom = y + 4;
  for (const t of ticks) {
    const x = scale(t);
    body.push(`<line x1="${r1(x)}" y1="${top - 6}" x2="${r1(x)}" y2="${r1(bottom)}" stroke="#e2e8f0"/>`);
    body.push(text(x, bottom + 16, c.format(t), 'text-anchor="middle" fill="#4a5568" font-size="11"'));
  }
  body.push(...rowsSvg);
  body.push(`<line x1="${LABEL_W}" y1="${top - 6}" x2="${LABEL_W}" y2="${r1(bottom)}" stroke="#a0aec0"/>`);
  body.push(text(LABEL_W + plotW / 2, bottom + 34, c.axis, 'text-anchor="middle" fill="#2d3748"'));
  return frame(c.title, c.subtitle, bottom + 48, body);
}

export interface StripRow {
  label: string;
  /** Percentiles in the chart's unit. */
  p1: number;
  p25: number;
  p50: number;
  p75: number;
  p90: number;
  p99: number;
  note: string;
}

/** One box per row on a log axis: whiskers p1-p99, box p25-p75, bold median, a tick at p90. */
export function stripChart(c: {
  title: string;
  subtitle: readonly string[];
  axis: string;
  rows: readonly StripRow[];
}): string {
  const top = headerBottom(c.subtitle) + 20;
  const rowH = 30;
  const plotW = WIDTH - LABEL_W - RIGHT - 60;
  const lo = Math.min(...c.rows.map((r) => r.p1).filter((v) => v > 0), 1);
  const hi = Math.max(...c.rows.map((r) => r.p99), 10);
  const decades: number[] = [];
  for (let d = 10 ** Math.floor(Math.log10(lo)); d <= hi * 10; d *= 10) for (const m of [1, 2, 5]) decades.push(d * m);
  const t0 = decades.filter((t) => t <= lo).pop() ?? lo;
  const t1 = decades.find((t) => t >= hi) ?? hi;
  const ticks = decades.filter((t) => t >= t0 && t <= t1);
  const scale = (v: number) =>
    LABEL_W + ((Math.log10(Math.max(v, t0)) - Math.log10(t0)) / (Math.log10(t1) - Math.log10(t0))) * plotW;
  const body: string[] = [];
  const bottom = top + c.rows.length * rowH;
  for (const t of ticks) {
    const x = scale(t);
    body.push(`<line x1="${r1(x)}" y1="${top - 6}" x2="${r1(x)}" y2="${bottom}" stroke="#e2e8f0"/>`);
    body.push(text(x, bottom + 16, String(t), 'text-anchor="middle" fill="#4a5568" font-size="11"'));
  }
  c.rows.forEach((r, i) => {
    const y = top + i * rowH;
    const cy = y + rowH / 2 - 3;
    const color = PALETTE[i % PALETTE.length]!;
    if (i % 2 === 1) body.push(`<rect x="8" y="${y - 3}" width="${WIDTH - 16}" height="${rowH}" fill="#f7fafc"/>`);
    body.push(text(LABEL_W - 10, cy + 4, r.label, 'text-anchor="end" fill="#1a202c"'));
    body.push(
      `<path d="M${r1(scale(r.p1))} ${r1(cy)}H${r1(scale(r.p99))}M${r1(scale(r.p99))} ${r1(cy - 5)}v10M${r1(scale(r.p1))} ${r1(cy - 5)}v10" stroke="${color}" stroke-width="1.3" fill="none"/>`,
    );
    body.push(
      `<rect x="${r1(scale(r.p25))}" y="${r1(cy - 7)}" width="${r1(Math.max(1, scale(r.p75) - scale(r.p25)))}" height="14" fill="${color}" fill-opacity="0.35" stroke="${color}"/>`,
    );
    body.push(`<path d="M${r1(scale(r.p50))} ${r1(cy - 9)}v18" stroke="#1a202c" stroke-width="2.5"/>`);
    body.push(
      `<path d="M${r1(scale(r.p90))} ${r1(cy - 6)}v12" stroke="#1a202c" stroke-width="1" stroke-dasharray="2 1"/>`,
    );
    body.push(text(scale(r.p99) + 8, cy + 4, r.note, 'fill="#2d3748" font-size="11"'));
  });
  body.push(text(LABEL_W + plotW / 2, bottom + 34, c.axis, 'text-anchor="middle" fill="#2d3748"'));
  return frame(c.title, c.subtitle, bottom + 48, body);
}

export interface Line {
  name: string;
  points: { x: number; y: number; min?: number; max?: number }[];
  dashed?: boolean;
}

/** Lines over a numeric x axis, with min-max whiskers at each point and a legend on the right. */
export function lineChart(c: {
  title: string;
  subtitle: readonly string[];
  xAxis: string;
  yAxis: string;
  lines: readonly Line[];
  formatX: (v: number) => string;
  formatY: (v: number) => string;
}): string {
  const left = 80;
  const legendW = 250;
  const top = headerBottom(c.subtitle) + 20;
  const plotW = WIDTH - left - legendW - 20;
  const plotH = 280;
  const xs = [...new Set(c.lines.flatMap((l) => l.points.map((p) => p.x)))].sort((a, b) => a - b);
  const ys = c.lines.flatMap((l) => l.points.flatMap((p) => [p.y, p.min ?? p.y, p.max ?? p.y]));
  const yMin = Math.min(0, ...ys);
  const yTicksPos = niceTicks(Math.max(...ys, 0.05) - yMin);
  const yTicks = yTicksPos.map((t) =>
    Number((t + (yMin < 0 ? Math.floor(yMin / yTicksPos[1]!) * yTicksPos[1]! : 0)).toPrecision(12)),
  );
  const y0 = yTicks[0]!;
  const y1 = yTicks[yTicks.length - 1]!;
  const xMax = xs.length ? xs[xs.length - 1]! : 1;
  const sx = (x: number) => left + (xMax > 0 ? (x / xMax) * plotW : plotW / 2);
  const sy = (y: number) => top + plotH - ((y - y0) / (y1 - y0 || 1)) * plotH;
  const body: string[] = [];
  for (const t of yTicks) {
    body.push(
      `<line x1="${left}" y1="${r1(sy(t))}" x2="${left + plotW}" y2="${r1(sy(t))}" stroke="${t === 0 ? '#a0aec0' : '#e2e8f0'}"/>`,
    );
    body.push(text(left - 8, sy(t) + 4, c.formatY(t), 'text-anchor="end" fill="#4a5568" font-size="11"'));
  }
  for (const x of [...new Set([0, ...xs])]) {
    body.push(`<line x1="${r1(sx(x))}" y1="${top}" x2="${r1(sx(x))}" y2="${top + plotH}" stroke="#edf2f7"/>`);
    body.push(text(sx(x), top + plotH + 16, c.formatX(x), 'text-anchor="middle" fill="#4a5568" font-size="11"'));
  }
  c.lines.forEach((l, i) => {
    const color = PALETTE[i % PALETTE.length]!;
    const pts = [...l.points].sort((a, b) => a.x - b.x);
    if (pts.length > 1)
      body.push(
        `<polyline points="${pts.map((p) => `${r1(sx(p.x))},${r1(sy(p.y))}`).join(' ')}" fill="none" stroke="${color}" stroke-width="2"${l.dashed ? ' stroke-dasharray="6 4"' : ''}/>`,
      );
    for (const p of pts) {
      if (p.min !== undefined && p.max !== undefined && p.max > p.min)
        body.push(`<path d="M${r1(sx(p.x))} ${r1(sy(p.min))}V${r1(sy(p.max))}" stroke="${color}" stroke-width="1.2"/>`);
      body.push(`<circle cx="${r1(sx(p.x))}" cy="${r1(sy(p.y))}" r="3.5" fill="${color}"/>`);
    }
    const ly = top + 8 + i * 20;
    body.push(
      `<path d="M${left + plotW + 24} ${ly - 4}h22" stroke="${color}" stroke-width="2.5"${l.dashed ? ' stroke-dasharray="6 4"' : ''}/>`,
    );
    body.push(text(left + plotW + 52, ly, l.name, 'fill="#2d3748"'));
  });
  body.push(`<line x1="${left}" y1="${top}" x2="${left}" y2="${top + plotH}" stroke="#a0aec0"/>`);
  body.push(text(left + plotW / 2, top + plotH + 36, c.xAxis, 'text-anchor="middle" fill="#2d3748"'));
  body.push(
    text(
      18,
      top + plotH / 2,
      c.yAxis,
      `text-anchor="middle" fill="#2d3748" transform="rotate(-90 18 ${top + plotH / 2})"`,
    ),
  );
  return frame(c.title, c.subtitle, top + plotH + 52, body);
}
