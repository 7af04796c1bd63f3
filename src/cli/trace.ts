// tapyard trace: follow one frame through a described topology, hop by hop, with the reason for
// every copy and every drop, like `ovs-appctl ofproto/trace`. The hops are the same decide()
// calls the forwarder makes, so the explanation and the datapath cannot disagree.

import { TapyardError } from '../error.js';
import { EthernetView, EtherType, emitEthernet, isVlanTpid } from '../frame/ethernet.js';
import { parseIpv4, parseIpv6 } from '../frame/ip-address.js';
import { BROADCAST, formatMac, ipv4MulticastMac, ipv6MulticastMac, type Mac, parseMac } from '../mac.js';
import { countDeliveries, type Journey } from '../sim/network.js';
import { BridgeLab, LINUX_DEFAULT_GROUPS, MacvlanLab, WIRES, type Wire } from '../sim/topology.js';
import type { BridgePortConfig } from '../switch/learning-bridge.js';
import { type EndpointConfig, MACVLAN_MODE_NAMES, type MacvlanMode } from '../switch/macvlan.js';
import { parse } from './args.js';

export const TRACE_HELP = `usage: tapyard trace macvlan [TOPOLOGY] [FRAME] [--json]
       tapyard trace bridge  [TOPOLOGY] [FRAME] [--json]

Follow one frame through a model of the kernel's macvlan or bridge and print every hop, every
copy and the reason for each, using the same decisions as tapyard forward --switch.

macvlan topology (endpoints on one lower device; the host stack owns the lower):
  --mode MODE          mode of the default endpoints a and b: ${MACVLAN_MODE_NAMES.join(', ')} (default vepa)
  --endpoint SPEC      NAME=MODE[,mac=MAC][,groups=MAC+MAC][,sources=MAC|STATION+...][,nodst]
                       [,nopromisc][,allmulti][,promisc][,down][,hash-mix=N]; repeat it;
                       replaces the default endpoints. groups= is the endpoint's multicast
                       list (default: 01:00:5e:00:00:01+33:33:00:00:00:01, which Linux joins
                       by itself; groups= alone for none)
  --wire KIND          what the lower is cabled to: direct (the external host), switch (a
                       learning switch, the default) or hairpin (a switch reflecting frames
                       back to the lower: 802.1Qbg reflective relay)
  --hairpin            short for --wire hairpin
  --lower-unicast-filter   the lower NIC has unicast filter slots (veth has none)
  --bc-cutoff N        IFLA_MACVLAN_BC_CUTOFF (default 1)
  stations: each endpoint, host (the lower's own stack), ext (the external host)

bridge topology (a Linux bridge; host is the bridge device's own stack):
  --port SPEC          NAME[,hairpin][,flood=off][,bcast-flood=off][,mcast-flood=off]
                       [,learning=off][,mac=MAC]; repeat it (default: p1, p2, p3)
  --ageing S           ageing_time in seconds (default 300)
  stations: one behind each port (named after it) and host

both:
  --fdb WHO=PORT       the switch already learned WHO (a station or a MAC) on PORT; for
                       macvlan this is the external switch, whose ports are lower and ext

frame (default: a broadcast from the first station, ethertype 0x88b5):
  --from STATION       who sends it
  --dst WHERE          a station, a MAC, broadcast, ipv4-mcast[=GROUP] (224.0.0.1),
                       ipv6-mcast[=GROUP] (ff02::1)
  --src WHO            a station or a MAC (default: the sender's own MAC)
  --vlan VID           add an 802.1Q tag
  --ethertype N        e.g. 0x0800 (default 0x88b5, the local experimental type)
  --hex BYTES          the whole frame as hex instead (--dst/--src/--vlan/--ethertype ignored)
  --json               one JSON object: the frame, every hop, and the copies per station
  -h, --help           this text

Examples:
  tapyard trace macvlan --mode private --hairpin --from a --dst broadcast
  tapyard trace macvlan --mode vepa --from a --dst b            # no hairpin: b never sees it
  tapyard trace macvlan --endpoint a=bridge --endpoint v=vepa --from a --dst ipv6-mcast
  tapyard trace macvlan --endpoint s=source,sources=ext,nodst --endpoint a=vepa --from ext --dst a
  tapyard trace macvlan --mode passthru --endpoint p=passthru --from ext --dst 02:00:00:00:99:99
  tapyard trace bridge --port p1,hairpin --port p2 --fdb p2=p1 --from p1 --dst p2
  tapyard trace bridge --port p1 --port p2 --port p3,flood=off --from p1 --dst 02:00:00:00:77:77

Exit status: 0 when traced, 2 on bad input.`;

const DEFAULT_ETHERTYPE = EtherType.EXPERIMENTAL;
/** Ethernet's minimum frame size without the FCS. */
const MIN_FRAME = 60;

interface Lab {
  macs: Map<string, Mac>;
  stations(): string[];
  send(from: string, bytes: Uint8Array): Journey;
}

export async function traceCommand(argv: string[]): Promise<number> {
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

function run(argv: string[]): number {
  const { values, positionals } = parse('trace', argv, {
    help: { type: 'boolean', short: 'h' },
    json: { type: 'boolean' },
    mode: { type: 'string' },
    endpoint: { type: 'string', multiple: true },
    wire: { type: 'string' },
    hairpin: { type: 'boolean' },
    'lower-unicast-filter': { type: 'boolean' },
    'bc-cutoff': { type: 'string' },
    port: { type: 'string', multiple: true },
    ageing: { type: 'string' },
    fdb: { type: 'string', multiple: true },
    from: { type: 'string' },
    dst: { type: 'string' },
    src: { type: 'string' },
    vlan: { type: 'string' },
    ethertype: { type: 'string' },
    hex: { type: 'string' },
  });
  if (values.help) {
    console.log(TRACE_HELP);
    return 0;
  }
  const [kind, ...extra] = positionals;
  if (kind === undefined) throw usage('say which topology: tapyard trace macvlan ... or tapyard trace bridge ...');
  if (extra.length > 0) throw usage(`unexpected argument '${extra[0]}'`);
  const only = (allowed: string[], what: string) => {
    for (const key of Object.keys(values)) {
      if (values[key as keyof typeof values] !== undefined && !allowed.includes(key))
        throw usage(`--${key} is not a ${what} option`);
    }
  };
  const common = ['help', 'json', 'fdb', 'from', 'dst', 'src', 'vlan', 'ethertype', 'hex'];

  let lab: Lab;
  let topology: string;
  let learn: (who: Mac, port: string) => void;
  if (kind === 'macvlan') {
    only([...common, 'mode', 'endpoint', 'wire', 'hairpin', 'lower-unicast-filter', 'bc-cutoff'], 'macvlan');
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
    // The source list may name stations, whose MACs are only known once the lab exists; a
    // first lab without sources resolves them.
    const specs = (values.endpoint ?? []).map(parseEndpoint);
    const defaults: EndpointSpec[] = (mode === 'passthru' ? ['a'] : ['a', 'b']).map((name) => ({
      config: { name, mode, groups: LINUX_DEFAULT_GROUPS },
      sourceNames: [],
    }));
    const endpoints = specs.length > 0 ? specs : defaults;
    const options = {
      wire,
      ...(values['lower-unicast-filter'] ? { lowerUnicastFilter: true } : {}),
      ...(values['bc-cutoff'] === undefined
        ? {}
        : { bcCutoff: wholeNumber('--bc-cutoff', values['bc-cutoff'], -1, 1 << 30) }),
    };
    const names = new MacvlanLab({ ...options, endpoints: endpoints.map((e) => ({ ...e.config, sources: [] })) }).macs;
    const resolved = endpoints.map((e) => ({
      ...e.config,
      sources: [...(e.config.sources ?? []), ...e.sourceNames.map((n) => station(names, n, 'sources='))],
    }));
    const m = new MacvlanLab({ ...options, endpoints: resolved });
    lab = m;
    learn = (who, port) => {
      if (m.external === null) throw usage('--fdb needs a switch on the wire (--wire switch or hairpin)');
      if (!m.external.portNames().includes(port))
        throw usage(`--fdb: the external switch has ports ${m.external.portNames().join(' and ')}, not ${port}`);
      m.external.learn(who, port);
    };
    topology = `macvlan: ${resolved.map((e) => `${e.name} (${e.mode ?? 'vepa'})`).join(', ')} on one lower; wire: ${
      wire === 'direct'
        ? 'straight to ext'
        : wire === 'hairpin'
          ? 'a switch with hairpin on toward the lower'
          : 'a switch (hairpin off)'
    }${m.macvlan.lowerIsPromiscuous ? '; the lower is promiscuous' : ''}`;
  } else if (kind === 'bridge') {
    only([...common, 'port', 'ageing'], 'bridge');
    const ports = (values.port ?? ['p1', 'p2', 'p3']).map(parseBridgePort);
    let ageingMs: number | undefined;
    if (values.ageing !== undefined) {
      const s = Number(values.ageing);
      if (!(s > 0) || !Number.isFinite(s))
        throw usage(`--ageing ${values.ageing} must be a positive number of seconds`);
      ageingMs = s * 1000;
    }
    const b = new BridgeLab({ ports, ...(ageingMs === undefined ? {} : { ageingMs }) });
    lab = b;
    learn = (who, port) => {
      if (!b.bridge.portNames().includes(port)) throw usage(`--fdb: no bridge port named ${port}`);
      b.bridge.learn(who, port);
    };
    topology = `bridge: ports ${ports
      .map((p) => p.name + (p.hairpin ? ' (hairpin)' : '') + (p.flood === false ? ' (flood off)' : ''))
      .join(', ')}; every port promiscuous`;
  } else {
    throw usage(`unknown topology '${kind}' (macvlan or bridge)`);
  }

  for (const entry of values.fdb ?? []) {
    const eq = entry.lastIndexOf('=');
    if (eq <= 0) throw usage(`--fdb ${entry} must be WHO=PORT`);
    learn(station(lab.macs, entry.slice(0, eq), '--fdb'), entry.slice(eq + 1));
  }

  const from = values.from ?? lab.stations()[0]!;
  if (!lab.macs.has(from)) throw usage(`--from ${from} is not a station (${lab.stations().join(', ')})`);
  const bytes =
    values.hex !== undefined
      ? parseHex(values.hex)
      : buildFrame({
          dst: values.dst === undefined ? BROADCAST : destination(lab.macs, values.dst),
          src: values.src === undefined ? lab.macs.get(from)! : station(lab.macs, values.src, '--src'),
          vlan: values.vlan === undefined ? null : wholeNumber('--vlan', values.vlan, 0, 4095),
          etherType:
            values.ethertype === undefined
              ? DEFAULT_ETHERTYPE
              : wholeNumber('--ethertype', values.ethertype, 0, 0xffff),
        });
  const journey = lab.send(from, bytes);
  const counts = countDeliveries(journey);
  if (values.json) console.log(JSON.stringify(toJson(bytes, from, topology, journey, counts, lab.stations()), null, 2));
  else console.log(render(bytes, from, topology, journey, counts, lab.stations(), lab.macs));
  return 0;
}

// --- input ------------------------------------------------------------------------------------

function usage(message: string): TapyardError {
  return new TapyardError('EUSAGE', `trace: ${message} (see tapyard trace --help)`);
}

function parseMode(text: string, where: string): MacvlanMode {
  if (!(MACVLAN_MODE_NAMES as readonly string[]).includes(text))
    throw usage(`${where} ${text} must be one of ${MACVLAN_MODE_NAMES.join(', ')}`);
  return text as MacvlanMode;
}

function wholeNumber(option: string, text: string, min: number, max: number): number {
  const n = Number(text);
  if (text.trim() === '' || !Number.isInteger(n) || n < min || n > max)
    throw usage(`${option} ${text} must be a whole number from ${min} to ${max}`);
  return n;
}

function mac(text: string, where: string): Mac {
  const m = parseMac(text);
  if (m === null) throw usage(`${where}: '${text}' is not a MAC address`);
  return m;
}

/** A station's MAC, or a MAC written out. */
function station(macs: ReadonlyMap<string, Mac>, text: string, where: string): Mac {
  const known = macs.get(text);
  if (known !== undefined) return known;
  const m = parseMac(text);
  if (m === null) throw usage(`${where} ${text} is neither a station (${[...macs.keys()].join(', ')}) nor a MAC`);
  return m;
}

function destination(macs: ReadonlyMap<string, Mac>, text: string): Mac {
  if (text === 'broadcast') return BROADCAST;
  const [name, group] = text.split('=', 2) as [string, string | undefined];
  if (name === 'ipv4-mcast') {
    const ip = parseIpv4(group ?? '224.0.0.1');
    if (ip === null || ip >>> 28 !== 0xe) throw usage(`--dst ${text}: '${group}' is not an IPv4 multicast group`);
    return ipv4MulticastMac(ip);
  }
  if (name === 'ipv6-mcast') {
    const ip = parseIpv6(group ?? 'ff02::1');
    if (ip === null || ip[0] !== 0xff) throw usage(`--dst ${text}: '${group}' is not an IPv6 multicast group`);
    return ipv6MulticastMac(((ip[12]! << 24) | (ip[13]! << 16) | (ip[14]! << 8) | ip[15]!) >>> 0);
  }
  return station(macs, text, '--dst');
}

interface EndpointSpec {
  config: EndpointConfig;
  /** Source-list entries naming stations, resolved once the lab exists. */
  sourceNames: string[];
}

function parseEndpoint(text: string): EndpointSpec {
  const [head = '', ...opts] = text.split(',');
  const eq = head.indexOf('=');
  const name = eq < 0 ? head : head.slice(0, eq);
  if (!/^[A-Za-z][A-Za-z0-9_-]{0,14}$/.test(name)) throw usage(`--endpoint ${text}: '${name}' is not an endpoint name`);
  const config: EndpointConfig = {
    name,
    mode: parseMode(eq < 0 ? 'vepa' : head.slice(eq + 1), `--endpoint ${name}:`),
    groups: LINUX_DEFAULT_GROUPS,
  };
  const sourceNames: string[] = [];
  for (const opt of opts) {
    const at = opt.indexOf('=');
    const key = at < 0 ? opt : opt.slice(0, at);
    const value = at < 0 ? '' : opt.slice(at + 1);
    const where = `--endpoint ${name}: ${key}=`;
    switch (key) {
      case 'mac':
        config.mac = mac(value, where);
        break;
      case 'groups':
        config.groups = value === '' ? [] : value.split('+').map((g) => mac(g, where));
        break;
      case 'sources': {
        const macs: Mac[] = [];
        for (const s of value.split('+')) {
          const m = parseMac(s);
          if (m === null) sourceNames.push(s);
          else macs.push(m);
        }
        config.sources = macs;
        break;
      }
      case 'hash-mix':
        config.hashMix = wholeNumber(where, value, 0, 0xffff_ffff);
        break;
      case 'nodst':
      case 'nopromisc':
      case 'allmulti':
      case 'promisc':
        if (at >= 0) throw usage(`--endpoint ${name}: ${key} is a flag and takes no value`);
        config[key] = true;
        break;
      case 'down':
        if (at >= 0) throw usage(`--endpoint ${name}: down is a flag and takes no value`);
        config.up = false;
        break;
      default:
        throw usage(`--endpoint ${name}: unknown option '${key}'`);
    }
  }
  return { config, sourceNames };
}

function parseBridgePort(text: string): BridgePortConfig {
  const [name = '', ...opts] = text.split(',');
  if (!/^[A-Za-z][A-Za-z0-9_-]{0,14}$/.test(name)) throw usage(`--port ${text}: '${name}' is not a port name`);
  const port: BridgePortConfig = { name };
  for (const opt of opts) {
    const at = opt.indexOf('=');
    const key = at < 0 ? opt : opt.slice(0, at);
    const value = at < 0 ? 'on' : opt.slice(at + 1);
    if (key === 'mac') {
      port.mac = mac(value, `--port ${name}: mac=`);
      continue;
    }
    const on = value === 'on' ? true : value === 'off' ? false : null;
    if (on === null) throw usage(`--port ${name}: ${key}=${value} must be on or off`);
    if (key === 'hairpin') port.hairpin = on;
    else if (key === 'flood') port.flood = on;
    else if (key === 'bcast-flood') port.bcastFlood = on;
    else if (key === 'mcast-flood') port.mcastFlood = on;
    else if (key === 'learning') port.learning = on;
    else throw usage(`--port ${name}: unknown option '${key}'`);
  }
  return port;
}

function parseHex(text: string): Uint8Array {
  const clean = text.replace(/[\s:.-]/g, '');
  if (!/^([0-9a-fA-F]{2})+$/.test(clean)) throw usage('--hex must be pairs of hex digits');
  const bytes = Uint8Array.from(clean.match(/../g)!.map((b) => parseInt(b, 16)));
  const view = new EthernetView();
  const err = view.parse(bytes, 0, bytes.length);
  if (err !== null) throw usage(`--hex is not a valid Ethernet frame (${err})`);
  return bytes;
}

function buildFrame(f: { dst: Mac; src: Mac; vlan: number | null; etherType: number }): Uint8Array {
  const bytes = new Uint8Array(MIN_FRAME + (f.vlan === null ? 0 : 4));
  const at = emitEthernet(
    {
      dst: f.dst,
      src: f.src,
      tags: f.vlan === null ? [] : [{ tpid: EtherType.VLAN, tci: f.vlan }],
      etherType: f.etherType,
    },
    bytes,
    0,
  );
  bytes.set(new TextEncoder().encode('tapyard trace'), at);
  return bytes;
}

// --- output -----------------------------------------------------------------------------------

function frameSummary(bytes: Uint8Array) {
  const v = new EthernetView();
  v.parse(bytes, 0, bytes.length);
  return {
    src: formatMac(v.src),
    dst: formatMac(v.dst),
    vlan: v.tagCount > 0 && isVlanTpid(v.outerTpid) ? v.vid : null,
    ethertype: `0x${v.etherType.toString(16).padStart(4, '0')}`,
    length: bytes.length,
  };
}

function render(
  bytes: Uint8Array,
  from: string,
  topology: string,
  journey: Journey,
  counts: Map<string, number>,
  stations: string[],
  macs: Map<string, Mac>,
): string {
  const f = frameSummary(bytes);
  const name = (m: string) => {
    for (const [s, mm] of macs) if (formatMac(mm) === m) return `${m} (${s})`;
    return m;
  };
  const lines = [
    `Frame:    ${name(f.src)} > ${name(f.dst)}, ethertype ${f.ethertype}${f.vlan === null ? '' : `, vlan ${f.vlan}`}, ${f.length} bytes`,
    `Topology: ${topology}`,
    `Sent by:  ${from}`,
    '',
  ];
  journey.hops.forEach((hop, i) => {
    lines.push(`[${i + 1}] ${hop.at}, in from ${hop.ingress}`);
    for (const s of hop.steps) {
      // Reasons name their module ("bridge: ..."); a step at the switch itself needs no prefix.
      const where = s.reason.startsWith(`${s.at}:`) ? '' : `${s.at}: `;
      lines.push(`      ${where}${s.reason}${s.detail === undefined ? '' : ` (${s.detail})`}`);
    }
    const width = Math.max(0, ...hop.outputs.map((o) => o.port.length));
    for (const o of hop.outputs) lines.push(`    → ${o.port.padEnd(width)}  ${o.reason}`);
    if (hop.drop !== null) lines.push(`    ✗ ${hop.drop}`);
  });
  lines.push('');
  const got = stations.map((s) => `${s} ×${counts.get(s) ?? 0}`);
  lines.push(`Copies:   ${got.join(', ')}`);
  return lines.join('\n');
}

function toJson(
  bytes: Uint8Array,
  from: string,
  topology: string,
  journey: Journey,
  counts: Map<string, number>,
  stations: string[],
) {
  return {
    frame: { ...frameSummary(bytes), hex: Buffer.from(bytes).toString('hex') },
    from,
    topology,
    hops: journey.hops,
    deliveries: journey.deliveries,
    copies: Object.fromEntries(stations.map((s) => [s, counts.get(s) ?? 0])),
  };
}
