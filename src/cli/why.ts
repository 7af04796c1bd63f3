// tapyard why: "why can't A reach B?" in plain sentences. The lab is described with trace's
// topology flags; src/sim/why.ts runs the frames through the models, names the hop that lost
// each one, and re-runs the models with candidate changes to say which would help.
//
// The command line is read by src/config/why.ts, through trace's declarations.

import { GROUP, readWhyConfig, whyHelp } from '../config/why.js';
import { BROADCAST, formatMac, type Mac, parseMac } from '../mac.js';
import { LINUX_DEFAULT_GROUPS } from '../sim/topology.js';
import {
  type Answer,
  type BridgeSetup,
  bridgeTwin,
  type MacvtapSetup,
  type Question,
  type Setup,
  why,
} from '../sim/why.js';
import { whyForLab } from '../verify/model-frames.js';
import { type ModelFrame, type Verification, verifyFrames } from '../verify/verify.js';
import { modelCommand } from './model-command.js';
import { renderVerification } from './verify-render.js';

export function whyCommand(argv: string[]): Promise<number> {
  return modelCommand(() => run(argv));
}

async function run(argv: string[]): Promise<number> {
  const config = readWhyConfig(argv);
  if (config === null) {
    console.log(whyHelp());
    return 0;
  }
  const t = config.topology;
  const setup: Setup =
    t.kind === 'macvlan'
      ? ({
          path: 'macvtap',
          endpoints: t.endpoints.map((e) => ({ ...e, groups: e.groups ?? LINUX_DEFAULT_GROUPS })),
          wire: t.wire,
          trusted: new Set(t.trusted),
          guests: new Map(config.guests),
          ...(t.lowerUnicastFilter ? { lowerUnicastFilter: true } : {}),
        } satisfies MacvtapSetup)
      : ({ path: 'bridge', ports: t.ports, guests: new Map(config.guests) } satisfies BridgeSetup);
  const question: Question = {
    from: config.from,
    to: config.to,
    dst: config.dst === undefined ? null : destination(config.dst),
  };
  const answers: [Answer, ...Answer[]] = [why(setup, question)];
  if (config.compare) answers.push(why(bridgeTwin(setup as MacvtapSetup), question));
  // The prediction prints first: building the lab and watching the kernel take a few seconds.
  if (!config.json) console.log(answers.length === 1 ? render(answers[0]) : renderCompare(answers));
  let verify: Verification | undefined;
  let sent: ModelFrame[] = [];
  if (config.verify) {
    const forLab = whyForLab(setup, question);
    sent = forLab.frames;
    verify = await verifyFrames(forLab.topology, forLab.frames, forLab.cannot);
  }
  if (config.json) {
    const out = answers.length === 1 ? answers[0] : { compare: answers };
    console.log(JSON.stringify(verify === undefined ? out : { ...out, verify }, jsonMac, 2));
  } else if (verify !== undefined) console.log(renderVerification(verify, sent).join('\n'));
  return 0;
}

/** A station or MAC for B to get, or a group (resolved the way the NIC sees it). */
function destination(text: string): string | Mac {
  if (text === 'broadcast') return BROADCAST;
  const [name, g] = text.split('=', 2) as [string, string | undefined];
  if (name === 'ipv4-mcast') return GROUP.parse(g ?? '224.0.0.1', '--dst');
  if (name === 'ipv6-mcast') return GROUP.parse(g ?? 'ff02::1', '--dst');
  return parseMac(text) ?? text;
}

// --- output -----------------------------------------------------------------------------------

/** MACs are numbers inside; JSON readers want them written out. */
function jsonMac(key: string, value: unknown): unknown {
  if (key === 'dst' && typeof value === 'number') return formatMac(value);
  return value;
}

function questionText(a: Answer): string {
  const q = a.question;
  if (q.dst === null) return `can ${q.from} reach ${q.to}? (a ping: ARP both ways, then ICMP)`;
  return `does a frame from ${q.from} to ${typeof q.dst === 'number' ? formatMac(q.dst) : q.dst} reach ${q.to}?`;
}

/** Lines of at most WIDTH columns, continued under the text's own indent plus `hang`. */
const WIDTH = 110;
function wrap(line: string, hang: number): string[] {
  const indent = line.search(/[^ ]|$/);
  const out: string[] = [];
  let rest = line;
  while (rest.length > WIDTH) {
    const cut = rest.lastIndexOf(' ', WIDTH);
    if (cut <= indent + hang) break;
    out.push(rest.slice(0, cut));
    rest = ' '.repeat(indent + hang) + rest.slice(cut + 1);
  }
  out.push(rest);
  return out;
}

/** An answer in sentences, as `tapyard why` prints it (lab from-libvirt prints the same). */
export function render(a: Answer): string {
  const q = a.question;
  const lines = [`Question: ${questionText(a)}`, `Topology: ${a.topology}`, ''];
  const cause = a.frames.find((f) => !f.reached)?.cause ?? null;
  lines.push(
    a.reached
      ? `Yes: ${q.to} gets ${q.dst === null ? 'every frame of the ping' : 'it'}.`
      : `No: ${q.dst === null ? `${q.from} cannot reach ${q.to}` : `${q.to} never gets it`}` +
          `${cause === null ? '' : `: ${cause}`}.`,
  );
  let explained = false;
  for (const f of a.frames) {
    if (f.reached) {
      lines.push(`  ✓ ${f.name} reaches ${f.to}.`);
      continue;
    }
    lines.push(`  ✗ ${f.name} does not reach ${f.to}.`);
    if (f.cause !== null && f.cause !== cause) lines.push(`      because ${f.cause}`);
    lines.push(`      lost at ${f.lost}`);
    // The first lost frame gets the whole story; later ones only their own last hop.
    if (!explained) for (const p of f.passedBy) lines.push(`      before that, ${p}`);
    explained = true;
  }
  if (!a.reached) {
    lines.push('');
    if (a.fixes.length === 0) lines.push('Nothing tried here makes every frame arrive.');
    else {
      lines.push('What would change that (each checked by re-running the model):');
      for (const f of a.fixes) lines.push(`  • ${f.change}`);
    }
    if (a.tried.length > 0) {
      const refused = a.tried.some((f) => f.refused !== undefined);
      lines.push(`Tried, and not enough on its own${refused ? ' (or refused by the kernel)' : ''}:`);
      const first = a.frames.find((f) => !f.reached)!;
      const same = `${first.name} still does not reach ${first.to}: ${first.lost}`;
      const sameHop = `${first.name} is still lost at the same hop`;
      for (const f of a.tried)
        lines.push(
          f.refused !== undefined
            ? `  • ${f.change}: impossible here, the kernel refuses it: ${f.refused}`
            : `  • ${f.change}: ${f.stillLost === same ? sameHop : f.stillLost}`,
        );
    }
  }
  const hang = (l: string) => (/^(Question|Topology):/.test(l) ? 10 : /^ *[•✗✓]/.test(l) ? 2 : 3);
  return lines.flatMap((l) => wrap(l, hang(l))).join('\n');
}

function renderCompare(answers: readonly [Answer, ...Answer[]]): string {
  const names = answers[0].frames.map((f) => f.name);
  const width = Math.max(...names.map((n) => n.length));
  // Both paths answer the same question, so their frames come in the same order.
  const cell = (a: Answer, i: number) => (a.frames[i]?.reached ? 'arrives' : 'lost').padEnd(14);
  const lines = [
    `Question: ${questionText(answers[0])}`,
    '',
    `${''.padEnd(width)}  ${answers.map((a) => `${a.path} path`.padEnd(14)).join('')}`.trimEnd(),
    ...names.map((n, i) => `${n.padEnd(width)}  ${answers.map((a) => cell(a, i)).join('')}`.trimEnd()),
  ];
  for (const a of answers) lines.push('', `--- ${a.path} path ---`, render(a));
  return lines.join('\n');
}
