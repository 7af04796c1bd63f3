// `--verify` on why and trace: the kernel's own account of every frame beside the model's, in
// text (under the answer) and as JSON (a `verify` member).

import type { ModelFrame, Verification } from '../verify/verify.js';

function copiesText(copies: Record<string, number>): string {
  const each = Object.entries(copies)
    .filter(([, n]) => n > 0)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([s, n]) => (n === 1 ? s : `${s} ×${n}`));
  return each.length === 0 ? 'nobody' : each.join(', ');
}

/** The model's hop in its own sentence: what comes before the first colon. */
function hopOf(lost: string): string {
  const colon = lost.indexOf(':');
  return colon < 0 ? lost : lost.slice(0, colon);
}

const NO_COPY_MODEL = 'no drop: it made no copy toward the target';
const NO_COPY_KERNEL = 'freed no copy of it (it never made one toward the target)';

export function renderVerification(v: Verification, frames: readonly ModelFrame[]): string[] {
  const lines = ['', "The kernel's check (--verify):"];
  for (const c of v.cannot) lines.push(`  the lab cannot build ${c}`);
  if (v.unavailable !== null) {
    lines.push(`  not checked: ${v.unavailable}.`);
    return lines.flatMap(wrap);
  }
  lines.push(
    '  (the same topology in throwaway namespaces; each frame sent again with the same addresses; only drops',
    "  whose skb is on a device in the lab's namespaces are read from skb:kfree_skb)",
  );
  v.frames.forEach((f, i) => {
    // v.frames were sent from `frames`, one for one, so the index always holds one.
    const model = frames.find((m) => m.name === f.name) ?? frames[i]!;
    const target = model.to;
    const lost = target !== null && (model.copies[target] ?? 0) === 0;
    const head = target === null ? f.name : `${f.name}: ${lost ? `lost before ${target}` : `reaches ${target}`}`;
    lines.push(`  ${f.agree ? '✓' : '✗'} ${head}`);
    if (lost) {
      const where = model.lost === null ? '' : `${hopOf(model.lost)}: `;
      const drops = f.model.drops.map(
        (d) => `${d.reason}${d.kernel === null ? '' : `, which the kernel calls ${d.kernel}`}`,
      );
      lines.push(`      model:  ${where}${drops.length > 0 ? `dropped it: ${drops.join('; ')}` : NO_COPY_MODEL}`);
    } else if (f.model.drops.length > 0)
      lines.push(`      model:  drops ${f.model.drops.map((d) => `${d.hop}: ${d.reason}`).join('; ')}`);
    const kernelDrops = f.kernel.drops.map((d) => `${d.reason} in ${d.fn} (on ${d.where})`);
    if (lost || kernelDrops.length > 0)
      lines.push(`      kernel: ${kernelDrops.length > 0 ? kernelDrops.join('; ') : NO_COPY_KERNEL}`);
    lines.push(
      `      copies: model ${copiesText(f.model.copies)}; kernel ${copiesText(f.kernel.copies)}` +
        ` — ${f.agree ? 'they agree' : 'they DISAGREE'}`,
    );
    for (const d of f.differences) lines.push(`      ✗ ${d}`);
  });
  const disagree = v.frames.filter((f) => !f.agree).length;
  const all = v.frames.length === 1 ? 'the frame' : `all ${v.frames.length} frames`;
  lines.push(
    disagree === 0
      ? `  The kernel agrees with the model on ${all}.`
      : `  The kernel disagrees with the model on ${disagree} of ${v.frames.length} frames.`,
  );
  return lines.flatMap(wrap);
}

const WIDTH = 110;

/** Lines of at most WIDTH columns, continued under the text after the label (`model:  `). */
function wrap(line: string): string[] {
  // The pattern matches the empty string too, so it always matches.
  const indent = /^ *(?:(?:model|kernel|copies): +|[✓✗] )?/.exec(line)?.[0].length ?? 0;
  const out: string[] = [];
  let rest = line;
  while (rest.length > WIDTH) {
    const cut = rest.lastIndexOf(' ', WIDTH);
    if (cut <= indent) break;
    out.push(rest.slice(0, cut));
    rest = ' '.repeat(indent) + rest.slice(cut + 1);
  }
  out.push(rest);
  return out;
}
