// The shape of report.json, and a hand-written validator for it: the report is the
// benchmark's product, so a test (and anyone reading it later) can check it is complete
// without trusting the code that wrote it.

export const REPORT_SCHEMA = 'tapyard-bench/1';

/** A summary over repetitions: the median, and the min-max range as the honest error bar. */
export interface Summary {
  n: number;
  median: number;
  min: number;
  max: number;
  /** (max - min) / median; wide spreads are reported as warnings. */
  spread: number;
}

export type Forwarder = 'c' | 'tapyard';
export type LabKind = 'macvtap' | 'bridge' | 'ref-veth' | 'ref-macvlan' | 'ref-bridge';

export interface PathInfo {
  /** "macvtap/c", "bridge/tapyard", "ref-veth", ... */
  id: string;
  lab: LabKind;
  forwarder: Forwarder | null;
  status: 'ok' | 'skipped' | 'failed';
  note: string;
}

/** A forwarder's final counters, the same fields whichever forwarder printed them. */
export interface ForwarderCounters {
  rx: number;
  tx: number;
  dropped: number;
  drops: Record<string, number>;
  wireRx: number;
  guestRx: number;
  raw: unknown;
}

export interface TcpSample {
  rep: number;
  seconds: number;
  bitsPerSecond: number;
  retransmits: number;
  hostBusyCores: number;
  forwarderCores: number | null;
  forwarder: ForwarderCounters | null;
}

export interface TcpResult {
  path: string;
  offload: boolean | null;
  direction: 'ext-to-guest' | 'guest-to-ext';
  samples: TcpSample[];
  summary: Summary | null;
}

export interface RateSample {
  rep: number;
  seconds: number;
  offered: number;
  delivered: number;
  offeredPerSecond: number;
  deliveredPerSecond: number;
  /** 1 - delivered / offered */
  loss: number;
  generatorErrors: number;
  forwarderCpuNs: number | null;
  hostBusyNs: number;
  /** CPU nanoseconds per delivered frame: the forwarder's own, and the whole host's. */
  forwarderNsPerFrame: number | null;
  hostNsPerFrame: number;
  forwarder: ForwarderCounters | null;
}

export interface RateResult {
  path: string;
  /** Bytes as written, without the 4-byte FCS: 60 is a "64-byte" frame, 1514 a "1518-byte" one. */
  frameSize: number;
  samples: RateSample[];
  summary: Summary | null;
}

export interface LatencySample {
  rep: number;
  intervalUs: number;
  sent: number;
  lost: number;
  p50: number;
  p90: number;
  p99: number;
  /** Every round trip, nanoseconds, in the order measured. */
  rttNs: number[];
  forwarder: ForwarderCounters | null;
}

export interface LatencyResult {
  path: string;
  samples: LatencySample[];
  p50: Summary | null;
  p90: Summary | null;
  p99: Summary | null;
}

export interface ForeignSample {
  rep: number;
  seconds: number;
  /** Foreign frames the generator sent (to a MAC nobody owns). */
  offered: number;
  /**
   * CPU of the lab's own tasks during the flood (schedstat, exact, blind to other tenants):
   * the generator, whose core also runs the receiving kernel path (veth delivers in the
   * sender's context), plus the forwarder. The sending part is the same on every path.
   */
  labCores: number;
  /** Host busy cores during the flood minus during the idle window before it (noisy on a shared host). */
  hostExtraCores: number;
  hostIdleCores: number;
  generatorCores: number;
  forwarderCores: number | null;
  /** Frames the forwarder read from its wire port (the foreign frames that reached it). */
  forwarderWireRx: number | null;
  /** Frames the guest's interface received. */
  guestIfRx: number;
  forwarder: ForwarderCounters | null;
}

export interface ForeignResult {
  path: string;
  floodOff: boolean;
  rate: number;
  samples: ForeignSample[];
  labCores: Summary | null;
  hostExtraCores: Summary | null;
}

export interface Ratio {
  metric: string;
  path: string;
  tapyard: number | null;
  c: number | null;
  ratio: number | null;
  goal: string;
  met: boolean | null;
}

export interface MicroResult {
  name: string;
  framesPerSecond: number;
  source: string;
}

export interface Machine {
  hostname: string;
  cpus: number;
  cpuModel: string;
  memoryBytes: number;
  kernel: string;
  os: string;
  node: string;
  iperf3: string;
  cc: string;
  tapyardVersion: string;
  gitCommit: string;
  /** /proc/sys/net/bridge/bridge-nf-call-iptables: 1, 0, or null when br_netfilter is absent. Read, never changed. */
  bridgeNfCallIptables: number | null;
  tcpCongestionControl: string;
  loadAverageAtStart: number[];
  hostBusyCoresAtStart: number;
  otherLabNamespacesAtStart: number;
}

export interface BenchOptions {
  quick: boolean;
  reps: number;
  measurements: string[];
  paths: string[];
  tcpSeconds: number;
  rateSeconds: number;
  latencyCount: number;
  latencyIntervalUs: number;
  foreignSeconds: number;
  foreignRates: number[];
  frameSizes: number[];
  generatorCpu: number;
  forwarderCpu: number;
  outDir: string;
}

export interface Report {
  schema: typeof REPORT_SCHEMA;
  startedAt: string;
  finishedAt: string;
  seconds: number;
  command: string[];
  options: BenchOptions;
  machine: Machine;
  /** The labs this run built (and took down): their namespaces were ty-ID-*. */
  labs: { kind: LabKind; id: string }[];
  paths: PathInfo[];
  tcp: TcpResult[];
  rate: RateResult[];
  latency: LatencyResult[];
  foreign: ForeignResult[];
  ratios: Ratio[];
  micro: { status: 'ok' | 'absent' | 'failed'; note: string; results: MicroResult[] };
  warnings: string[];
  failures: string[];
}

// ---- validation ---------------------------------------------------------------------------

type Check = (value: unknown, at: string, errors: string[]) => void;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

const num: Check = (v, at, e) => {
  if (typeof v !== 'number' || !Number.isFinite(v)) e.push(`${at}: expected a finite number, got ${JSON.stringify(v)}`);
};
const nonNeg: Check = (v, at, e) => {
  num(v, at, e);
  if (typeof v === 'number' && v < 0) e.push(`${at}: expected >= 0, got ${v}`);
};
const str: Check = (v, at, e) => {
  if (typeof v !== 'string') e.push(`${at}: expected a string`);
};
const bool: Check = (v, at, e) => {
  if (typeof v !== 'boolean') e.push(`${at}: expected a boolean`);
};
const nullable =
  (c: Check): Check =>
  (v, at, e) => {
    if (v !== null) c(v, at, e);
  };
const oneOf =
  (...allowed: unknown[]): Check =>
  (v, at, e) => {
    if (!allowed.includes(v)) e.push(`${at}: expected one of ${allowed.map((a) => JSON.stringify(a)).join(', ')}`);
  };
const array =
  (c: Check): Check =>
  (v, at, e) => {
    if (!Array.isArray(v)) e.push(`${at}: expected an array`);
    else
      v.forEach((x, i) => {
        c(x, `${at}[${i}]`, e);
      });
  };
const record =
  (c: Check): Check =>
  (v, at, e) => {
    if (!isObject(v)) e.push(`${at}: expected an object`);
    else for (const [k, x] of Object.entries(v)) c(x, `${at}.${k}`, e);
  };
const any: Check = () => {};
const shape =
  (fields: Record<string, Check>): Check =>
  (v, at, e) => {
    if (!isObject(v)) {
      e.push(`${at}: expected an object`);
      return;
    }
    for (const [k, c] of Object.entries(fields)) {
      if (!(k in v)) e.push(`${at}.${k}: missing`);
      else c(v[k], `${at}.${k}`, e);
    }
    for (const k of Object.keys(v)) if (!(k in fields)) e.push(`${at}.${k}: not in the schema`);
  };

const summary = nullable(shape({ n: nonNeg, median: num, min: num, max: num, spread: nonNeg }));
const counters = nullable(
  shape({ rx: nonNeg, tx: nonNeg, dropped: nonNeg, drops: record(nonNeg), wireRx: nonNeg, guestRx: nonNeg, raw: any }),
);

const reportShape = shape({
  schema: oneOf(REPORT_SCHEMA),
  startedAt: str,
  finishedAt: str,
  seconds: nonNeg,
  command: array(str),
  options: shape({
    quick: bool,
    reps: nonNeg,
    measurements: array(str),
    paths: array(str),
    tcpSeconds: nonNeg,
    rateSeconds: nonNeg,
    latencyCount: nonNeg,
    latencyIntervalUs: nonNeg,
    foreignSeconds: nonNeg,
    foreignRates: array(nonNeg),
    frameSizes: array(nonNeg),
    generatorCpu: nonNeg,
    forwarderCpu: nonNeg,
    outDir: str,
  }),
  machine: shape({
    hostname: str,
    cpus: nonNeg,
    cpuModel: str,
    memoryBytes: nonNeg,
    kernel: str,
    os: str,
    node: str,
    iperf3: str,
    cc: str,
    tapyardVersion: str,
    gitCommit: str,
    bridgeNfCallIptables: nullable(num),
    tcpCongestionControl: str,
    loadAverageAtStart: array(nonNeg),
    hostBusyCoresAtStart: num,
    otherLabNamespacesAtStart: nonNeg,
  }),
  labs: array(shape({ kind: oneOf('macvtap', 'bridge', 'ref-veth', 'ref-macvlan', 'ref-bridge'), id: str })),
  paths: array(
    shape({
      id: str,
      lab: oneOf('macvtap', 'bridge', 'ref-veth', 'ref-macvlan', 'ref-bridge'),
      forwarder: oneOf(null, 'c', 'tapyard'),
      status: oneOf('ok', 'skipped', 'failed'),
      note: str,
    }),
  ),
  tcp: array(
    shape({
      path: str,
      offload: nullable(bool),
      direction: oneOf('ext-to-guest', 'guest-to-ext'),
      samples: array(
        shape({
          rep: nonNeg,
          seconds: nonNeg,
          bitsPerSecond: nonNeg,
          retransmits: nonNeg,
          hostBusyCores: num,
          forwarderCores: nullable(nonNeg),
          forwarder: counters,
        }),
      ),
      summary,
    }),
  ),
  rate: array(
    shape({
      path: str,
      frameSize: nonNeg,
      samples: array(
        shape({
          rep: nonNeg,
          seconds: nonNeg,
          offered: nonNeg,
          delivered: nonNeg,
          offeredPerSecond: nonNeg,
          deliveredPerSecond: nonNeg,
          loss: num,
          generatorErrors: nonNeg,
          forwarderCpuNs: nullable(nonNeg),
          hostBusyNs: num,
          forwarderNsPerFrame: nullable(nonNeg),
          hostNsPerFrame: num,
          forwarder: counters,
        }),
      ),
      summary,
    }),
  ),
  latency: array(
    shape({
      path: str,
      samples: array(
        shape({
          rep: nonNeg,
          intervalUs: nonNeg,
          sent: nonNeg,
          lost: nonNeg,
          p50: nonNeg,
          p90: nonNeg,
          p99: nonNeg,
          rttNs: array(nonNeg),
          forwarder: counters,
        }),
      ),
      p50: summary,
      p90: summary,
      p99: summary,
    }),
  ),
  foreign: array(
    shape({
      path: str,
      floodOff: bool,
      rate: nonNeg,
      samples: array(
        shape({
          rep: nonNeg,
          seconds: nonNeg,
          offered: nonNeg,
          labCores: nonNeg,
          hostExtraCores: num,
          hostIdleCores: num,
          generatorCores: nonNeg,
          forwarderCores: nullable(nonNeg),
          forwarderWireRx: nullable(nonNeg),
          guestIfRx: nonNeg,
          forwarder: counters,
        }),
      ),
      labCores: summary,
      hostExtraCores: summary,
    }),
  ),
  ratios: array(
    shape({
      metric: str,
      path: str,
      tapyard: nullable(num),
      c: nullable(num),
      ratio: nullable(num),
      goal: str,
      met: nullable(bool),
    }),
  ),
  micro: shape({
    status: oneOf('ok', 'absent', 'failed'),
    note: str,
    results: array(shape({ name: str, framesPerSecond: nonNeg, source: str })),
  }),
  warnings: array(str),
  failures: array(str),
});

/** Every way `value` differs from the report schema, as "path: problem" lines; empty when valid. */
export function validateReport(value: unknown): string[] {
  const errors: string[] = [];
  reportShape(value, 'report', errors);
  return errors;
}
