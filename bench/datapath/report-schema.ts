// The shape of report.json, defined once: the TypeScript types, the runtime validation and the
// published JSON Schema (report.schema.json, written beside every report) all come from these
// zod definitions. Every numeric field names its unit (Ns, PerSecond, Cores, Frames, ...).

import { z } from 'zod';

export const REPORT_SCHEMA = 'tapyard-bench/7';

/** Frame sizes on the wire, FCS included, the way RFC 2544 names them; IMIX is 7:4:1 of 64/594/1518. */
export const FRAME_SIZES = ['64', '512', '1518', 'imix'] as const;
export const FrameSize = z.enum(FRAME_SIZES);
export type FrameSize = z.infer<typeof FrameSize>;

const count = z.number().int().nonnegative();
const nonNeg = z.number().nonnegative();

export const Summary = z
  .object({
    n: count,
    median: z.number(),
    min: z.number(),
    max: z.number(),
    /** (max - min) / median; wide spreads are reported as warnings. */
    spread: nonNeg,
    /**
     * 95 % interval of the median over the rounds: two order statistics (paired.ts), so both are
     * measured values; null below six rounds, where no such pair reaches 95 %.
     */
    ciLow: z.number().nullable(),
    ciHigh: z.number().nullable(),
  })
  .strict()
  .describe('a figure over rounds, in the unit its field name says');
export type Summary = z.infer<typeof Summary>;

export const Forwarder = z.enum(['c', 'tapyard']);
export type Forwarder = z.infer<typeof Forwarder>;
export const LabKind = z.enum(['macvtap', 'bridge', 'ref-veth', 'ref-macvlan', 'ref-bridge']);
export type LabKind = z.infer<typeof LabKind>;

export const PathInfo = z
  .object({
    id: z.string().describe('"macvtap/c", "bridge/tapyard", "ref-veth", ...'),
    lab: LabKind,
    forwarder: Forwarder.nullable(),
    /** Kernel-only paths run with the kernel's offloads on (TSO/GSO/checksum), forwarders with them off unless said. */
    kernelOffloads: z.boolean(),
    status: z.enum(['ok', 'skipped', 'failed']),
    note: z.string(),
  })
  .strict();
export type PathInfo = z.infer<typeof PathInfo>;

/** A forwarder's final counters, the same fields whichever forwarder printed them. */
export const ForwarderCounters = z
  .object({
    rxFrames: count,
    txFrames: count,
    droppedFrames: count,
    dropsFrames: z.record(z.string(), count),
    wireRxFrames: count,
    guestRxFrames: count,
    raw: z.unknown(),
  })
  .strict();
export type ForwarderCounters = z.infer<typeof ForwarderCounters>;

export const TcpSample = z
  .object({
    round: count,
    durationS: nonNeg,
    bitsPerSecond: nonNeg,
    retransmitSegments: count,
    hostBusyCores: z.number(),
    forwarderCores: nonNeg.nullable(),
    forwarder: ForwarderCounters.nullable(),
  })
  .strict();
export type TcpSample = z.infer<typeof TcpSample>;

export const Direction = z.enum(['ext-to-guest', 'guest-to-ext']);
export type Direction = z.infer<typeof Direction>;

export const TcpResult = z
  .object({
    path: z.string(),
    offload: z.boolean().nullable(),
    direction: Direction,
    samples: z.array(TcpSample),
    bitsPerSecond: Summary.nullable(),
  })
  .strict();
export type TcpResult = z.infer<typeof TcpResult>;

/** One trial at one offered rate: what the generator was asked for, what it sent, what arrived. */
export const Trial = z
  .object({
    offeredPerSecond: nonNeg.describe('target rate; 0: as fast as the socket takes frames'),
    sentPerSecond: nonNeg,
    deliveredPerSecond: nonNeg,
    sentFrames: count,
    deliveredFrames: count,
    durationS: nonNeg,
    /** 1 - delivered / sent */
    lossFraction: z.number(),
    /** The generator could not send at the offered rate: on macvtap, the path's back-pressure. */
    sendShortfallFraction: z.number(),
  })
  .strict();
export type Trial = z.infer<typeof Trial>;

/** Full offered load: how much gets through when the generator sends as fast as it can, and at what CPU. */
export const RateSample = z
  .object({
    round: count,
    /** The median of the full-load trials by delivered rate: the figure for this round. */
    trial: Trial,
    /** Every full-load trial of the round (three, short). */
    fullLoadTrials: z.array(Trial),
    generatorSendErrors: count,
    forwarderCpuNs: nonNeg.nullable(),
    hostBusyNs: z.number(),
    forwarderNsPerFrame: nonNeg.nullable(),
    hostNsPerFrame: z.number(),
    /**
     * The same forwarder offered a fixed rate that neither forwarder saturates (rate.ts,
     * FIXED_RATE_PER_SECOND): its CPU per delivered frame then compares the work each does per
     * frame, wake-ups included. At full load a forwarder uses its whole core, so there CPU per
     * frame is only the inverse of its rate.
     */
    fixedRate: z.object({ trial: Trial, forwarderNsPerFrame: nonNeg.nullable() }).strict().nullable(),
    forwarder: ForwarderCounters.nullable(),
  })
  .strict();
export type RateSample = z.infer<typeof RateSample>;

export const RateResult = z
  .object({
    path: z.string(),
    frameSize: FrameSize,
    samples: z.array(RateSample),
    deliveredPerSecond: Summary.nullable(),
    forwarderNsPerFrame: Summary.nullable(),
  })
  .strict();
export type RateResult = z.infer<typeof RateResult>;

/** One load of a no-drop search: up to three trials, judged per goal by best of three (search.ts). */
export const SearchLoad = z
  .object({
    offeredPerSecond: nonNeg,
    trials: z.array(Trial),
    ndrPassed: z.boolean(),
    pdrPassed: z.boolean(),
    /** What a passing load proved: the offered rate, or the median sent when the generator fell short. */
    provedPerSecond: nonNeg,
  })
  .strict();
export type SearchLoad = z.infer<typeof SearchLoad>;

/**
 * One round's search for the no-drop rate (loss <= ndrLossFraction) and the partial-drop rate
 * (loss <= pdrLossFraction), from the same trials, after the full-load trial (search.ts).
 */
export const NdrSample = z
  .object({
    round: count,
    ndrPerSecond: nonNeg,
    pdrPerSecond: nonNeg,
    /** Each goal's final bracket, (upper - lower) / upper: the search's resolution, or where it stopped. */
    ndrResolutionFraction: nonNeg,
    pdrResolutionFraction: nonNeg,
    ndrAtFullLoad: z
      .boolean()
      .describe("the full-load trial met the no-drop goal: the sender, not the path, set this round's figure"),
    trialCount: count,
    loads: z.array(SearchLoad),
    forwarder: ForwarderCounters.nullable(),
  })
  .strict();
export type NdrSample = z.infer<typeof NdrSample>;

export const NdrResult = z
  .object({
    path: z.string(),
    frameSize: FrameSize,
    ndrLossFraction: nonNeg,
    pdrLossFraction: nonNeg,
    samples: z.array(NdrSample),
    ndrPerSecond: Summary.nullable(),
    pdrPerSecond: Summary.nullable(),
  })
  .strict();
export type NdrResult = z.infer<typeof NdrResult>;

/** Round trips in log-linear buckets: bucket i holds [lowNs[i], lowNs[i] * (1 + HISTOGRAM_STEP)). */
export const Histogram = z
  .object({
    stepFraction: nonNeg,
    lowNs: z.array(nonNeg),
    counts: z.array(count),
  })
  .strict();
export type Histogram = z.infer<typeof Histogram>;

export const Percentiles = z.object({ p50Ns: nonNeg, p99Ns: nonNeg, p999Ns: nonNeg }).strict();
export type Percentiles = z.infer<typeof Percentiles>;

export const LatencySample = z
  .object({
    round: count,
    intervalUs: nonNeg,
    /** Background frames per second offered while probing (0: idle path). */
    loadPerSecond: nonNeg,
    /**
     * Turns the probes ran in, alternating with the paths measured side by side (each on a lab of
     * its own): sub-blocks under load; idle, every round trip is a turn (subBlocks = sentProbes).
     */
    subBlocks: count,
    sentProbes: count,
    lostProbes: count,
    percentiles: Percentiles,
    histogram: Histogram,
    forwarder: ForwarderCounters.nullable(),
  })
  .strict();
export type LatencySample = z.infer<typeof LatencySample>;

export const LatencyResult = z
  .object({
    path: z.string(),
    /**
     * null: idle; else the load as a fraction of the lab's load basis: the lower of its forwarder
     * paths' median 64-byte partial-drop rates, so tapyard and the C loop are offered the same rate.
     */
    loadFraction: z.number().nullable(),
    samples: z.array(LatencySample),
    /** From all rounds' round trips pooled in one histogram: the figure every table and chart shows. */
    pooled: Percentiles.nullable(),
    /** Per-round percentiles, for the spread and the paired comparisons. */
    p50Ns: Summary.nullable(),
    p99Ns: Summary.nullable(),
    p999Ns: Summary.nullable(),
  })
  .strict();
export type LatencyResult = z.infer<typeof LatencyResult>;

export const ForeignSample = z
  .object({
    round: count,
    durationS: nonNeg,
    offeredFrames: count,
    /** Generator + forwarder CPU during the flood (schedstat; the generator's core runs the receive path). */
    labCores: nonNeg,
    /** Host busy cores during the flood minus during the idle window before it (noisy on a shared host). */
    hostExtraCores: z.number(),
    hostIdleCores: z.number(),
    generatorCores: nonNeg,
    forwarderCores: nonNeg.nullable(),
    /** Foreign frames the forwarder read from its wire port. */
    forwarderWireRxFrames: count.nullable(),
    guestIfRxFrames: count,
    forwarder: ForwarderCounters.nullable(),
  })
  .strict();
export type ForeignSample = z.infer<typeof ForeignSample>;

export const ForeignResult = z
  .object({
    path: z.string(),
    floodOff: z.boolean(),
    offeredPerSecond: nonNeg,
    samples: z.array(ForeignSample),
    labCores: Summary.nullable(),
    hostExtraCores: Summary.nullable(),
  })
  .strict();
export type ForeignResult = z.infer<typeof ForeignResult>;

/** One round on a VM path: the paths take turns, round after round, in alternating order. */
export const VmRound = z
  .object({
    round: count,
    tcpExtToGuestBitsPerSecond: nonNeg,
    tcpGuestToExtBitsPerSecond: nonNeg,
    /** 64-byte frames offered flat out to the guest's MAC; delivered: eth0 rx_packets inside the guest. */
    rate64: z
      .object({ durationS: nonNeg, sentFrames: count, deliveredFrames: count, deliveredPerSecond: nonNeg })
      .strict(),
    /** ICMP echo ext -> guest, one every 20 ms: every round trip the guest kernel answered. */
    rttNs: z.array(nonNeg),
  })
  .strict();
export type VmRound = z.infer<typeof VmRound>;

/**
 * Who carries a VM's frames to the wire: QEMU's tap backend, tapyard's qemu port, or its vhost-user
 * port; qemu-tap-intx is QEMU's tap backend with the NIC's vectors=0, as a vhost-user NIC has (--paths only).
 */
export const VmBackend = z.enum(['qemu-tap', 'qemu-tap-intx', 'tapyard', 'tapyard-vhost']);
export type VmBackend = z.infer<typeof VmBackend>;
export const VmWire = z.enum(['macvtap', 'bridge']);

/**
 * A real QEMU VM on one path: QEMU's own tap backend (as libvirt wires it), or QEMU through
 * tapyard's qemu port or its vhost-user port, onto the macvtap or the bridged tap. Booted once; measured in rounds with
 * the other paths in alternating order. Under plain emulation (tcg) the guest's speed is not the
 * host's: VM rows compare with each other only, under one accelerator.
 */
export const VmRow = z
  .object({
    path: z.string().describe('"qemu-tap/macvtap", "tapyard/bridge", ...'),
    backend: VmBackend,
    wire: VmWire,
    accel: z.enum(['tcg', 'kvm']),
    rounds: z.array(VmRound),
    /** iperf3 ext -> guest and guest -> ext (-R), offloads as QEMU leaves them: medians over the rounds. */
    tcpExtToGuestBitsPerSecond: nonNeg,
    tcpGuestToExtBitsPerSecond: nonNeg,
    /** The rounds' 64-byte floods pooled. */
    rate64: z
      .object({ durationS: nonNeg, sentFrames: count, deliveredFrames: count, deliveredPerSecond: nonNeg })
      .strict(),
    /** The rounds' round trips pooled. */
    rtt: z.object({ sent: count, received: count, p50Ns: nonNeg, p99Ns: nonNeg, maxNs: nonNeg }).strict(),
    /** The seed experiment with a real idle VM, after the rounds: frames to a MAC nobody owns, at a fixed rate. */
    foreign: z
      .object({
        offeredPerSecond: nonNeg,
        durationS: nonNeg,
        offeredFrames: count,
        /** Frames the wire device handed toward its reader (tap: tx_packets; macvtap: rx_packets). */
        reachedReaderFrames: count,
        /** QEMU's CPU during the flood minus while idle just before it (schedstat), in cores. */
        qemuExtraCores: z.number(),
        tapyardExtraCores: z.number().nullable(),
        /** What the guest's eth0 received meanwhile (QEMU's virtio-net filter drops other MACs). */
        guestRxFrames: count,
      })
      .strict(),
    /** tapyard's ledger at the end; null on QEMU's own backend. */
    ledgerBalanced: z.boolean().nullable(),
  })
  .strict();
export type VmRow = z.infer<typeof VmRow>;

export const VmSection = z
  .object({
    status: z.enum(['ok', 'skipped', 'failed']),
    accel: z.enum(['tcg', 'kvm']).nullable(),
    /** Why it was skipped or what failed; what the rows are, when ok. */
    note: z.string(),
    rows: z.array(VmRow),
  })
  .strict();
export type VmSection = z.infer<typeof VmSection>;

/** One run of tapyard forward --queues N on the macvtap path (bench/queues/section.ts). */
export const QueuesRow = z
  .object({
    queues: count,
    durationS: nonNeg,
    sentFrames: count,
    deliveredFrames: count,
    sentPerSecond: nonNeg,
    deliveredPerSecond: nonNeg,
    lossFraction: nonNeg,
    /** Each queue's part of the frames tapyard read from the wire: how the kernel spread the flows. */
    queueShares: z.array(nonNeg),
    /** Every queue's ledger and the total balanced. */
    ledgerBalanced: z.boolean(),
  })
  .strict();
export type QueuesRow = z.infer<typeof QueuesRow>;

export const QueuesSection = z
  .object({
    status: z.enum(['ok', 'skipped', 'failed']),
    /** The cores of this machine: where they are fewer than the threads, the rows say so. */
    cores: count,
    flows: count,
    note: z.string(),
    rows: z.array(QueuesRow),
  })
  .strict();
export type QueuesSection = z.infer<typeof QueuesSection>;

/**
 * met / missed only when the whole 95 % interval of the paired ratio is on one side of the goal;
 * undecided when it straddles it; too-few-pairs below six pairs (no interval reaches 95 %).
 */
export const Verdict = z.enum(['met', 'missed', 'undecided', 'too-few-pairs', 'no-goal', 'not-measured']);
export type Verdict = z.infer<typeof Verdict>;

export const Ratio = z
  .object({
    metric: z.string(),
    unit: z.string(),
    path: z.string(),
    /** The figures shown for each forwarder: the same values the Results tables and the charts show. */
    tapyard: z.number().nullable(),
    c: z.number().nullable(),
    /** tapyard / c of the two figures above. */
    ratio: z.number().nullable(),
    /** Rounds that measured both, and in how many tapyard was better and worse. */
    pairs: count,
    /** Of those, the rounds added after the planned ones because the row was still undecided (follow-up.ts). */
    followUpPairs: count,
    wins: count,
    losses: count,
    /** Centre of the per-round ratios tapyard / C (Hodges-Lehmann); its 95 % signed-rank interval (none below 6). */
    pairedRatio: z.number().nullable(),
    ciLow: z.number().nullable(),
    ciHigh: z.number().nullable(),
    higherIsBetter: z.boolean(),
    goal: z.number().nullable(),
    verdict: Verdict,
    /**
     * The verdict on the planned rounds alone: what the row was before any follow-up round. A row
     * can get added rounds without having been undecided (another row of its block was), so this,
     * not followUpPairs, says which rows the follow-up was for.
     */
    plannedVerdict: Verdict,
  })
  .strict();
export type Ratio = z.infer<typeof Ratio>;

export const MicroResult = z.object({ name: z.string(), framesPerSecond: nonNeg, source: z.string() }).strict();
export type MicroResult = z.infer<typeof MicroResult>;

export const Machine = z
  .object({
    hostname: z.string(),
    cpus: count,
    cpuModel: z.string(),
    memoryBytes: nonNeg,
    kernel: z.string(),
    os: z.string(),
    node: z.string(),
    iperf3: z.string(),
    cc: z.string(),
    tapyardVersion: z.string(),
    gitCommit: z.string(),
    /** /proc/sys/net/bridge/bridge-nf-call-iptables: 1, 0, or null when br_netfilter is absent. Never changed. */
    bridgeNfCallIptables: z.number().nullable(),
    tcpCongestionControl: z.string(),
    loadAverageAtStart: z.array(nonNeg),
    hostBusyCoresAtStart: z.number(),
    otherLabNamespacesAtStart: count,
  })
  .strict();
export type Machine = z.infer<typeof Machine>;

export const BenchOptions = z
  .object({
    quick: z.boolean(),
    /** Rounds of paired trials: every forwarder path is measured once per round, in alternating order. */
    rounds: count,
    /** The kernel-only reference paths are measured in this many rounds only (they are compared with nothing). */
    referenceRounds: count,
    measurements: z.array(z.string()),
    paths: z.array(z.string()),
    tcpSeconds: nonNeg,
    rateSeconds: nonNeg,
    latencyCount: count,
    latencyIntervalUs: nonNeg,
    loadedLatencyCount: count,
    loadedLatencyIntervalUs: nonNeg,
    loadedLatencySubBlocks: count,
    loadFractions: z.array(nonNeg),
    ndrTrialSeconds: nonNeg,
    ndrMaxTrials: count,
    ndrResolutionFraction: nonNeg,
    ndrLossFraction: nonNeg,
    pdrLossFraction: nonNeg,
    ndrTimeBoundSeconds: nonNeg,
    /** The fixed-rate trial each rate session ends with (forwarder CPU per frame at FIXED_RATE_PER_SECOND). */
    fixedRateSeconds: nonNeg,
    /** Time at most for rounds added to goal rows the planned rounds left undecided (0: none; follow-up.ts). */
    followUpSeconds: nonNeg,
    foreignSeconds: nonNeg,
    /** The foreign traffic's compared rate runs in this many rounds (the other rates in the reference rounds). */
    foreignRounds: count,
    foreignRatesPerSecond: z.array(nonNeg),
    frameSizes: z.array(FrameSize),
    generatorCpu: count,
    forwarderCpu: count,
    /** The real-VM paths: the accelerator asked for (auto: KVM only when a bounded boot under it works). */
    vmAccel: z.enum(['tcg', 'kvm', 'auto']),
    vmPaths: z
      .array(z.object({ backend: VmBackend, wire: VmWire }).strict())
      .describe('the VM paths booted, in order (--quick leaves out the socket netdev path)'),
    vmRounds: count,
    vmTcpSeconds: nonNeg,
    vmRateSeconds: nonNeg,
    vmPings: count,
    vmForeignSeconds: nonNeg,
    queuesSeconds: nonNeg,
    outDir: z.string(),
  })
  .strict();
export type BenchOptions = z.infer<typeof BenchOptions>;

export const Report = z
  .object({
    schema: z.literal(REPORT_SCHEMA),
    startedAt: z.iso.datetime(),
    finishedAt: z.iso.datetime(),
    durationS: nonNeg,
    command: z.array(z.string()),
    options: BenchOptions,
    machine: Machine,
    /** false when the run was interrupted: what is here was measured, the rest was not. */
    complete: z.boolean(),
    /** The answer first: a recommendation in words, then sentences computed from the data below. */
    verdict: z.array(z.string()),
    labs: z.array(z.object({ kind: LabKind, id: z.string() }).strict()),
    paths: z.array(PathInfo),
    tcp: z.array(TcpResult),
    rate: z.array(RateResult),
    ndr: z.array(NdrResult),
    latency: z.array(LatencyResult),
    foreign: z.array(ForeignResult),
    vm: VmSection,
    queues: QueuesSection,
    ratios: z.array(Ratio),
    micro: z
      .object({ status: z.enum(['ok', 'absent', 'failed']), note: z.string(), results: z.array(MicroResult) })
      .strict(),
    warnings: z.array(z.string()),
    failures: z.array(z.string()),
  })
  .strict()
  .describe('tapyard bench report: every raw sample, summaries, tapyard/C ratios, the verdict');
export type Report = z.infer<typeof Report>;

/** Every way `value` differs from the report schema, as "path: problem" lines; empty when valid. */
export function validateReport(value: unknown): string[] {
  const result = Report.safeParse(value);
  if (result.success) return [];
  return result.error.issues.map((i) => `report${i.path.map((p) => `.${String(p)}`).join('')}: ${i.message}`);
}

/** The published JSON Schema, generated from the same definitions. */
export const reportJsonSchema = (): unknown => z.toJSONSchema(Report, { io: 'input', unrepresentable: 'any' });
