// tapyard trace: follow one frame, or a sequence of frames, through a described topology, hop by
// hop, with the reason for every copy and every drop, like `ovs-appctl ofproto/trace`. The hops
// are the same decide() calls the forwarder makes, so the explanation and the datapath cannot
// disagree; in a sequence each frame meets what the earlier ones taught the switches.

import { readTraceConfig, traceHelp } from '../config/trace.js';
import { countDeliveries } from '../sim/network.js';
import { buildTraceLab, traceFrame } from '../sim/trace-lab.js';
import { render, toJson } from '../sim/trace-render.js';
import { traceForLab } from '../verify/model-frames.js';
import { type ModelFrame, type Verification, verifyFrames } from '../verify/verify.js';
import { modelCommand } from './model-command.js';
import { renderVerification } from './verify-render.js';

export function traceCommand(argv: string[]): Promise<number> {
  return modelCommand(() => run(argv));
}

async function run(argv: string[]): Promise<number> {
  const config = readTraceConfig(argv);
  if (config === null) {
    console.log(traceHelp());
    return 0;
  }
  const lab = buildTraceLab(config);
  const sends = [{ from: config.from, frame: config.frame, afterS: 0 }, ...config.then];
  // Every frame is built before any is sent: a bad one is refused before the trace starts.
  const frames = sends.map((s) => ({ ...traceFrame(lab, s.from, s.frame), afterS: s.afterS }));
  const traced = frames.map(({ from, bytes, afterS }) => {
    lab.advance(afterS);
    const journey = lab.send(from, bytes);
    return { from, bytes, afterS, journey, counts: countDeliveries(journey) };
  });
  const stations = lab.stations();
  let verify: Verification | undefined;
  let sent: ModelFrame[] = [];
  if (config.verify) {
    const forLab = traceForLab(config, lab.macs, traced);
    sent = forLab.frames;
    verify =
      forLab.topology === null
        ? { unavailable: 'the lab cannot build what the model was told', cannot: forLab.cannot, frames: [] }
        : await verifyFrames(forLab.topology, forLab.frames, forLab.cannot);
  }
  if (config.json) {
    const each = traced.map((t) => ({ afterS: t.afterS, json: toJson({ ...t, topology: lab.description, stations }) }));
    const out =
      each.length === 1
        ? each[0]?.json
        : { topology: lab.description, frames: each.map(({ afterS, json }) => ({ afterS, ...json })) };
    console.log(JSON.stringify(verify === undefined ? out : { ...out, verify }, null, 2));
  } else {
    const blocks = traced.map((t, i) => {
      const text = render({ ...t, topology: lab.description, stations }, lab.macs);
      if (traced.length === 1) return text;
      const after = i > 0 && t.afterS > 0 ? `, ${t.afterS} s later` : '';
      return `=== frame ${i + 1} of ${traced.length}${after} ===\n${text}`;
    });
    console.log(blocks.join('\n\n'));
    if (verify !== undefined) console.log(renderVerification(verify, sent).join('\n'));
  }
  return 0;
}
