// Hand-written SVG charts: horizontal bar charts with min-max whiskers, and a percentile strip
// on a log axis. No library: plain strings, every text escaped, every
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
  const h = Math.round(height);
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${h}" viewBox="0 0 ${WIDTH} ${h}" ` +
      `${FONT} font-size="12">`,
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
    // A label with a sublabel needs two lines even beside a single bar.
    const h = Math.max(Math.max(1, row.bars.length) * (barH + gap) + 10, row.sublabel ? 36 : 0);
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
          `<path d="M${r1(x0)} ${r1(cy)}H${r1(x1)}M${r1(x0)} ${r1(cy - 4)}v8M${r1(x1)} ${r1(cy - 4)}v8" ` +
            'stroke="#1a202c" stroke-width="1.2" fill="none"/>',
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
  sublabel?: string;
  /** Percentiles in the chart's unit. */
  p50: number;
  p99: number;
  p999: number;
  note: string;
}

/** One row per path on a log axis that fits the data: a dot at p50, a line to p99.9, ticks at p99 and p99.9. */
export function stripChart(c: {
  title: string;
  subtitle: readonly string[];
  axis: string;
  rows: readonly StripRow[];
  /** Colour per row, so the rows of one path share it. */
  colorOf?: (row: StripRow, i: number) => number;
}): string {
  const top = headerBottom(c.subtitle) + 20;
  const rowH = 26;
  const plotW = WIDTH - LABEL_W - RIGHT - 90;
  const lo = Math.min(...c.rows.map((r) => r.p50).filter((v) => v > 0));
  const hi = Math.max(...c.rows.map((r) => r.p999));
  const decades: number[] = [];
  for (let d = 10 ** Math.floor(Math.log10(lo)); d <= hi * 10; d *= 10) for (const m of [1, 2, 5]) decades.push(d * m);
  const t0 = decades.filter((t) => t <= lo).pop() ?? lo;
  const t1 = decades.find((t) => t >= hi) ?? hi;
  const ticks = decades.filter((t) => t >= t0 && t <= t1);
  const scale = (v: number) =>
    LABEL_W + ((Math.log10(Math.max(v, t0)) - Math.log10(t0)) / (Math.log10(t1) - Math.log10(t0) || 1)) * plotW;
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
    const color = PALETTE[(c.colorOf?.(r, i) ?? i) % PALETTE.length]!;
    if (i % 2 === 1) body.push(`<rect x="8" y="${y - 3}" width="${WIDTH - 16}" height="${rowH}" fill="#f7fafc"/>`);
    const label = r.sublabel ? `${r.label} · ${r.sublabel}` : r.label;
    body.push(text(LABEL_W - 10, cy + 4, label, 'text-anchor="end" fill="#1a202c" font-size="11"'));
    const [x50, x99, x999] = [scale(r.p50), scale(r.p99), scale(r.p999)];
    body.push(`<path d="M${r1(x50)} ${r1(cy)}H${r1(x999)}" stroke="${color}" stroke-width="2" fill="none"/>`);
    body.push(`<path d="M${r1(x99)} ${r1(cy - 6)}v12" stroke="${color}" stroke-width="2.5"/>`);
    body.push(`<path d="M${r1(x999)} ${r1(cy - 6)}v12" stroke="${color}" stroke-width="1.2"/>`);
    body.push(`<circle cx="${r1(x50)}" cy="${r1(cy)}" r="4.5" fill="${color}"/>`);
    body.push(text(x999 + 8, cy + 4, r.note, 'fill="#2d3748" font-size="11"'));
  });
  body.push(text(LABEL_W + plotW / 2, bottom + 34, c.axis, 'text-anchor="middle" fill="#2d3748"'));
  return frame(c.title, c.subtitle, bottom + 48, body);
}
