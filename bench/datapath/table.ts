// A table once, rendered twice: Markdown pipes for report.md, aligned columns for a terminal.

export interface Table {
  head: string[];
  rows: string[][];
  /** Per column; default: the first left, the rest right. */
  align?: ('l' | 'r')[];
}

const isLeft = (t: Table, i: number) => (t.align?.[i] ?? (i === 0 ? 'l' : 'r')) === 'l';

export function markdownTable(t: Table): string {
  const sep = t.head.map((_, i) => (isLeft(t, i) ? ':---' : '---:'));
  return [t.head, sep, ...t.rows].map((r) => `| ${r.join(' | ')} |`).join('\n');
}

/** Columns padded to their widest cell (code points, so µ and → count as one), two spaces apart. */
export function textTable(t: Table): string {
  const len = (s: string) => [...s].length;
  const widths = t.head.map((h, i) => Math.max(len(h), ...t.rows.map((r) => len(r[i] ?? ''))));
  const line = (r: string[]) =>
    r
      .map((cell, i) => {
        const pad = ' '.repeat(widths[i]! - len(cell));
        return isLeft(t, i) ? cell + pad : pad + cell;
      })
      .join('  ')
      .trimEnd();
  return [line(t.head), widths.map((w) => '─'.repeat(w)).join('  '), ...t.rows.map(line)].join('\n');
}
