// The JSON that `tapyard forward --json` prints, per second (--stats) and at the end, as one zod
// schema: the tests validate real output against it, and docs/forward-output.schema.json is
// generated from it (a test fails when the committed file differs).

import { z } from 'zod';

const count = z.number().int().nonnegative();

const DropsSchema = z.record(z.string().regex(/^[a-z][a-z0-9-]*$|^tx-[A-Z0-9a-z-]+$/), count);
const LedgerSchema = z.strictObject({ rx: count, clones: count, tx: count, drops: count, queued: count });

export const PortReportSchema = z.strictObject({
  name: z.string(),
  device: z.string(),
  rxFrames: count,
  rxBytes: count,
  txFrames: count,
  txBytes: count,
  /** Of rxFrames, those written to the peer below JavaScript: a plain cross-connect's splice. */
  splicedFrames: count,
  /** Of txFrames, those with a source MAC that is not the port's own (a macvtap's spoof=count). */
  spoofedSource: count,
  kernel: z
    .strictObject({
      beforeRead: count,
      afterWrite: count,
      /** forward --kernel-reasons: the kernel's drops on the device by SKB_DROP_REASON and function. */
      reasons: z
        .array(z.strictObject({ reason: z.string().regex(/^[A-Z][A-Z0-9_]*$/), fn: z.string(), count }))
        .optional(),
    })
    .nullable(),
  guest: z
    .strictObject({
      arp: count,
      icmp: count,
      icmpv6: count,
      udp: count,
      tcp: count,
      other: count,
      answered: count,
      unanswered: count,
    })
    .optional(),
  qemu: z
    .strictObject({ connections: count, disconnects: count, refused: count, malformed: count, partialBytes: count })
    .optional(),
  vhostUser: z
    .strictObject({
      connections: count,
      disconnects: count,
      refused: count,
      refusedMessages: count,
      brokenRings: count,
      badRxBuffers: count,
    })
    .optional(),
  impair: z
    .strictObject({ seed: count, held: count, duplicated: count, corrupted: count, reordered: count })
    .optional(),
  drops: DropsSchema,
  rate: z.strictObject({
    rxPps: count,
    txPps: count,
    rxMbps: z.number().nonnegative(),
    txMbps: z.number().nonnegative(),
    dropPps: count,
  }),
});

export const ForwardOutputSchema = z
  .strictObject({
    type: z.enum(['interval', 'final']),
    time: z.iso.datetime(),
    seconds: z.number().nonnegative(),
    ports: z.array(PortReportSchema).min(2),
    ledger: LedgerSchema,
    balanced: z.boolean(),
    memory: z.strictObject({ rssBytes: count, heapUsedBytes: count, heapTotalBytes: count, externalBytes: count }),
    queues: z
      .array(
        z.strictObject({
          queue: count,
          ports: z.array(
            z.strictObject({
              name: z.string(),
              rxFrames: count,
              rxBytes: count,
              txFrames: count,
              txBytes: count,
              splicedFrames: count,
              spoofedSource: count,
              drops: DropsSchema,
            }),
          ),
          ledger: LedgerSchema,
          balanced: z.boolean(),
        }),
      )
      .min(2)
      .optional()
      .meta({ description: 'With --queues N: each queue on its own; ports and ledger above are their sums.' }),
    error: z.string().optional(),
  })
  .meta({
    title: 'tapyard forward --json',
    description:
      'One object per line: with --stats one per second (type interval, rates over the last second), and the ' +
      'final one (type final, rates over the whole run). Counters are cumulative. ' +
      'rx + clones = tx + drops + queued, per queue and in total.',
  });

/** With --inject: the answer to one injected frame (src/run/inject-channel.ts). */
export const InjectedSchema = z
  .strictObject({
    type: z.literal('injected'),
    id: z.union([z.string(), z.number()]).nullable(),
    port: z.string().nullable(),
    bytes: count,
    tx: z.array(z.string()),
    drops: z.array(z.strictObject({ port: z.string(), reason: z.string() })),
    queued: count,
    error: z.string().optional(),
  })
  .meta({ title: 'tapyard forward --inject --json: one injected frame' });

/** Every line `forward --json` prints: counters, or (with --inject) an injection's answer. */
export const ForwardLineSchema = z.union([ForwardOutputSchema, InjectedSchema]).meta({
  title: 'tapyard forward --json',
  description:
    'One object per line: counters (type interval or final, see the first schema) and, with --inject, one ' +
    'object of type injected per frame read from standard input.',
});

export function forwardOutputJsonSchema(): string {
  return `${JSON.stringify(z.toJSONSchema(ForwardLineSchema), null, 2)}\n`;
}
