// tapyard why: "why can't A reach B?" in plain sentences. The lab is described with trace's
// topology flags; src/sim/why.ts runs the frames through the models, names the hop that lost
// each one, and re-runs the models with candidate changes to say which would help.
//
// The topology flags are parsed here with a subset of trace's options (trace.ts exports no
// parser yet); once the shared configuration reader is in, this should use it.

import { TapyardError } from '../error.js';
import { parseIpv4, parseIpv6 } from '../frame/ip-address.js';
import { BROADCAST, formatMac, ipv4MulticastMac, ipv6MulticastMac, isGroup, type Mac, parseMac } from '../mac.js';
import { LINUX_DEFAULT_GROUPS, WIRES, type Wire } from '../sim/topology.js';
import {
  type Answer,
  type BridgeSetup,
  bridgeTwin,
  type Guest,
  type MacvtapSetup,
  type Question,
  type Setup,
  why,
} from '../sim/why.js';
import type { BridgePortConfig } from '../switch/learning-bridge.js';
import { type EndpointConfig, MACVLAN_MODE_NAMES, type MacvlanMode } from '../switch/macvlan.js';
import { parse } from './args.js';

export const WHY_HELP = `usage: tapyard why macvlan [TOPOLOGY] --from A --to B [--dst WHERE] [--compare] [--json]
       tapyard why bridge  [TOPOLOGY] --from A --to B [--dst WHERE] [--json]

Can A reach B, and if not, why not? Sends the frames a ping needs (ARP request and reply, echo
request and reply) through a model of the kernel's macvlan or bridge, names the hop where each
lost frame went astray and why, and re-runs the model with candidate changes (hairpin on the
switch, bridge mode, an on-host macvlan, trust-guest-rx-filters, allmulti) to say which would
make every frame arrive. Uses the same decisions as tapyard trace and tapyard forward.

macvlan topology (endpoints on one lower device; the host stack owns the lower):
  --mode MODE          mode of the default endpoints a and b: ${MACVLAN_MODE_NAMES.join(', ')} (default vepa)
  --endpoint SPEC      NAME=MODE[,mac=MAC][,groups=MAC+MAC][,sources=MAC+MAC][,allmulti][,promisc];
                       repeat it; replaces the default endpoints
  --wire KIND          ${WIRES.join(', ')} (default switch: a switch with hairpin off)
  --hairpin            short for --wire hairpin
  --lower-unicast-filter   the lower NIC has unicast filter slots (veth has none)
  stations: each endpoint, host (the lower's own stack), ext (the external host)

bridge topology:
  --port SPEC          NAME[,hairpin][,flood=off][,bcast-flood=off][,mcast-flood=off][,learning=off];
                       repeat it (default: a, b, ext)
  stations: one behind each port (named after it) and host (the bridge's own stack)

guests (a VM's NIC behind a station, with virtio-net's receive filter):
  --guest SPEC         STATION[,groups=G+G][,allmulti][,promisc]: the groups the guest joined
                       (MACs or IPv4/IPv6 multicast addresses), besides 224.0.0.1 and ff02::1
  --trust-guest-rx-filters STATION   the macvtap mirrors that guest's filter (libvirt's
                       trustGuestRxFilters='yes'); repeat it

question:
  --from A --to B      two stations
  --dst WHERE          ask about one frame from A instead of a ping: a station, a MAC, broadcast,
                       ipv4-mcast[=GROUP] (224.0.0.1), ipv6-mcast[=GROUP] (ff02::1); B must get it
  --compare            answer for the macvtap path and the bridge path (endpoints as taps on a
                       Linux bridge with the NIC) side by side (macvlan only)
  --json               the answers as JSON
  -h, --help           this text

Examples:
  tapyard why macvlan --mode vepa --from a --to b
  tapyard why macvlan --mode vepa --from host --to a --compare
  tapyard why macvlan --mode private --hairpin --from a --to b
  tapyard why macvlan --endpoint a=vepa --guest a,groups=224.1.2.3 --from ext --to a --dst ipv4-mcast=224.1.2.3

Exit status: 0 when answered (whether or not A reaches B), 2 on bad input.`;

export async function whyCommand(argv: string[]): Promise<number> {
  try {
    return run(argv);
  } catch (err) {
    if (err instanceof TapyardError) {
      process.stderr.write(`tapyard: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
}

function usage(message: string): TapyardError {
  return new TapyardError('EUSAGE', `why: ${message} (see tapyard why --help)`);
}

function run(argv: string[]): number {
  const { values, positionals } = parse('why', argv, {
    help: { type: 'boolean', short: 'h' },
    json: { type: 'boolean' },
    compare: { type: 'boolean' },
    mode: { type: 'string' },
    endpoint: { type: 'string', multiple: true },
    wire: { type: 'string' },
    hairpin: { type: 'boolean' },
    'lower-unicast-filter': { type: 'boolean' },
    port: { type: 'string', multiple: true },
    guest: { type: 'string', multiple: true },
    'trust-guest-rx-filters': { type: 'string', multiple: true },
    from: { type: 'string' },
    to: { type: 'string' },
    dst: { type: 'string' },
  });
  if (values.help) {
    console.log(WHY_HELP);
    return 0;
  }
  const [kind, ...extra] = positionals;
  if (kind === undefined) throw usage('say which topology: tapyard why macvlan ... or tapyard why bridge ...');
  if (extra.length > 0) throw usage(`unexpected argument '${extra[0]}'`);
  const only = (allowed: string[], what: string) => {
    for (const key of Object.keys(values))
      if (values[key as keyof typeof values] !== undefined && !allowed.includes(key))
        throw usage(`--${key} is not a ${what} option`);
  };
  const common = ['help', 'json', 'guest', 'from', 'to', 'dst'];
  const guests = new Map<string, Guest>();
  for (const spec of values.guest ?? []) {
    const [name, guest] = parseGuest(spec);
    if (guests.has(name)) throw usage(`two --guest specs for ${name}`);
    guests.set(name, guest);
  }

  let setup: Setup;
  if (kind === 'macvlan') {
    only(
      [...common, 'compare', 'mode', 'endpoint', 'wire', 'hairpin', 'lower-unicast-filter', 'trust-guest-rx-filters'],
      'macvlan',
    );
    let wire: Wire = 'switch';
    if (values.wire !== undefined) {
      if (!(WIRES as readonly string[]).includes(values.wire))
        throw usage(`--wire ${values.wire} must be one of ${WIRES.join(', ')}`);
      wire = values.wire as Wire;
    }
    if (values.hairpin) {
      if (values.wire !== undefined && values.wire !== 'hairpin')
        throw usage(`--hairpin contradicts --wire ${values.wire}`);
      wire = 'hairpin';
    }
    const mode = parseMode(values.mode ?? 'vepa', '--mode');
    const endpoints: EndpointConfig[] =
      values.endpoint !== undefined
        ? values.endpoint.map(parseEndpoint)
        : (mode === 'passthru' ? ['a'] : ['a', 'b']).map((name) => ({ name, mode, groups: LINUX_DEFAULT_GROUPS }));
    const trusted = new Set(values['trust-guest-rx-filters'] ?? []);
    for (const t of trusted) {
      if (!endpoints.some((e) => e.name === t)) throw usage(`--trust-guest-rx-filters ${t} is not an endpoint`);
      if (!guests.has(t)) throw usage(`--trust-guest-rx-filters ${t} needs a guest behind it (--guest ${t},...)`);
    }
    setup = {
      path: 'macvtap',
      endpoints,
      wire,
      trusted,
      guests,
      ...(values['lower-unicast-filter'] ? { lowerUnicastFilter: true } : {}),
    } satisfies MacvtapSetup;
  } else if (kind === 'bridge') {
    only([...common, 'port'], 'bridge');
    const ports = (values.port ?? ['a', 'b', 'ext']).map(parseBridgePort);
    setup = { path: 'bridge', ports, guests } satisfies BridgeSetup;
  } else throw usage(`unknown topology '${kind}' (macvlan or bridge)`);

  if (values.from === undefined || values.to === undefined)
    throw usage('say who sends and who should get it: --from A --to B');
  const question: Question = {
    from: values.from,
    to: values.to,
    dst: values.dst === undefined ? null : destination(values.dst),
  };
  const answers = [why(setup, question)];
  if (values.compare) answers.push(why(bridgeTwin(setup as MacvtapSetup), question));
  if (values.json) console.log(JSON.stringify(answers.length === 1 ? answers[0] : { compare: answers }, jsonMac, 2));
  else console.log(answers.length === 1 ? render(answers[0]!) : renderCompare(answers));
  return 0;
}

// --- input ------------------------------------------------------------------------------------

function parseMode(text: string, where: string): MacvlanMode {
  if (!(MACVLAN_MODE_NAMES as readonly string[]).includes(text))
    throw usage(`${where} ${text} must be one of ${MACVLAN_MODE_NAMES.join(', ')}`);
  return text as MacvlanMode;
}

function mac(text: string, where: string): Mac {
  const m = parseMac(text);
  if (m === null) throw usage(`${where}: '${text}' is not a MAC address`);
  return m;
}

/** A group as a MAC, or as an IPv4/IPv6 multicast address (mapped the way the NIC sees it). */
function group(text: string, where: string): Mac {
  const m = parseMac(text);
  if (m !== null) {
    if (!isGroup(m)) throw usage(`${where}: ${text} is not a group address`);
    return m;
  }
  const v4 = parseIpv4(text);
  if (v4 !== null && v4 >>> 28 === 0xe) return ipv4MulticastMac(v4);
  const v6 = parseIpv6(text);
  if (v6 !== null && v6[0] === 0xff)
    return ipv6MulticastMac(((v6[12]! << 24) | (v6[13]! << 16) | (v6[14]! << 8) | v6[15]!) >>> 0);
  throw usage(`${where}: '${text}' is neither a group MAC nor a multicast address`);
}

function destination(text: string): string | Mac {
  if (text === 'broadcast') return BROADCAST;
  const [name, g] = text.split('=', 2) as [string, string | undefined];
  if (name === 'ipv4-mcast') return group(g ?? '224.0.0.1', '--dst');
  if (name === 'ipv6-mcast') return group(g ?? 'ff02::1', '--dst');
  return parseMac(text) ?? text;
}

function flags(opts: string[], where: string, known: readonly string[]): Map<string, string | null> {
  const out = new Map<string, string | null>();
  for (const opt of opts) {
    const at = opt.indexOf('=');
    const key = at < 0 ? opt : opt.slice(0, at);
    if (!known.includes(key)) throw usage(`${where}: unknown option '${key}'`);
    out.set(key, at < 0 ? null : opt.slice(at + 1));
  }
  return out;
}

function flag(value: string | null | undefined, where: string): boolean {
  if (value === undefined) return false;
  if (value !== null) throw usage(`${where} is a flag and takes no value`);
  return true;
}

function checkName(name: string, where: string): void {
  if (!/^[A-Za-z][A-Za-z0-9_-]{0,14}$/.test(name)) throw usage(`${where}: '${name}' is not a station name`);
}

function parseEndpoint(text: string): EndpointConfig {
  const [head = '', ...opts] = text.split(',');
  const eq = head.indexOf('=');
  const name = eq < 0 ? head : head.slice(0, eq);
  checkName(name, `--endpoint ${text}`);
  const where = `--endpoint ${name}`;
  const o = flags(opts, where, ['mac', 'groups', 'sources', 'allmulti', 'promisc']);
  const list = (key: string) => {
    const v = o.get(key);
    return v === undefined || v === null || v === '' ? [] : v.split('+').map((m) => mac(m, `${where}: ${key}=`));
  };
  const config: EndpointConfig = {
    name,
    mode: parseMode(eq < 0 ? 'vepa' : head.slice(eq + 1), `${where}:`),
    groups: o.has('groups') ? list('groups') : LINUX_DEFAULT_GROUPS,
    sources: list('sources'),
    allmulti: flag(o.get('allmulti'), `${where}: allmulti`),
    promisc: flag(o.get('promisc'), `${where}: promisc`),
  };
  const m = o.get('mac');
  if (m !== undefined) config.mac = mac(m ?? '', `${where}: mac=`);
  return config;
}

function parseBridgePort(text: string): BridgePortConfig {
  const [name = '', ...opts] = text.split(',');
  checkName(name, `--port ${text}`);
  const o = flags(opts, `--port ${name}`, ['hairpin', 'flood', 'bcast-flood', 'mcast-flood', 'learning']);
  const onOff = (key: string): boolean | undefined => {
    const v = o.get(key);
    if (v === undefined) return undefined;
    if (v === null || v === 'on') return true;
    if (v === 'off') return false;
    throw usage(`--port ${name}: ${key}=${v} must be on or off`);
  };
  const port: BridgePortConfig = { name };
  const set = <K extends keyof BridgePortConfig>(key: K, value: BridgePortConfig[K] | undefined) => {
    if (value !== undefined) port[key] = value;
  };
  set('hairpin', onOff('hairpin'));
  set('flood', onOff('flood'));
  set('bcastFlood', onOff('bcast-flood'));
  set('mcastFlood', onOff('mcast-flood'));
  set('learning', onOff('learning'));
  return port;
}

function parseGuest(text: string): [string, Guest] {
  const [name = '', ...opts] = text.split(',');
  checkName(name, `--guest ${text}`);
  const where = `--guest ${name}`;
  const o = flags(opts, where, ['groups', 'allmulti', 'promisc']);
  const g = o.get('groups');
  return [
    name,
    {
      groups: g === undefined || g === null || g === '' ? [] : g.split('+').map((x) => group(x, `${where}: groups=`)),
      allmulti: flag(o.get('allmulti'), `${where}: allmulti`),
      promisc: flag(o.get('promisc'), `${where}: promisc`),
    },
  ];
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
  const indent = /^ */.exec(line)![0].length;
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

function render(a: Answer): string {
  const q = a.question;
  const lines = [`Question: ${questionText(a)}`, `Topology: ${a.topology}`, ''];
  lines.push(
    a.reached
      ? `Yes: ${q.to} gets ${q.dst === null ? 'every frame of the ping' : 'it'}.`
      : `No: ${q.dst === null ? `${q.from} cannot reach ${q.to}` : `${q.to} never gets it`}.`,
  );
  let explained = false;
  for (const f of a.frames) {
    if (f.reached) {
      lines.push(`  ✓ ${f.name} reaches ${f.to}.`);
      continue;
    }
    lines.push(`  ✗ ${f.name} does not reach ${f.to}.`);
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
      lines.push('Tried, and not enough on its own:');
      const first = a.frames.find((f) => !f.reached)!;
      const same = `${first.name} still does not reach ${first.to}: ${first.lost}`;
      for (const f of a.tried)
        lines.push(
          `  • ${f.change}: ${f.stillLost === same ? `${first.name} is still lost at the same hop` : f.stillLost}`,
        );
    }
  }
  const hang = (l: string) => (/^(Question|Topology):/.test(l) ? 10 : /^ *[•✗✓]/.test(l) ? 2 : 3);
  return lines.flatMap((l) => wrap(l, hang(l))).join('\n');
}

function renderCompare(answers: Answer[]): string {
  const names = answers[0]!.frames.map((f) => f.name);
  const width = Math.max(...names.map((n) => n.length));
  const cell = (a: Answer, i: number) => (a.frames[i]!.reached ? 'arrives' : 'lost').padEnd(14);
  const lines = [
    `Question: ${questionText(answers[0]!)}`,
    '',
    `${''.padEnd(width)}  ${answers.map((a) => `${a.path} path`.padEnd(14)).join('')}`.trimEnd(),
    ...names.map((n, i) => `${n.padEnd(width)}  ${answers.map((a) => cell(a, i)).join('')}`.trimEnd()),
  ];
  for (const a of answers) lines.push('', `--- ${a.path} path ---`, render(a));
  return lines.join('\n');
}
