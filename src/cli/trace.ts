// tapyard trace: follow one frame through a described topology, hop by hop, with the reason for
// every copy and every drop, like `ovs-appctl ofproto/trace`. The hops are the same decide()
// calls the forwarder makes, so the explanation and the datapath cannot disagree.

import { readTraceConfig, traceHelp } from '../config/trace.js';
import { countDeliveries } from '../sim/network.js';
import { buildTraceLab, traceFrame } from '../sim/trace-lab.js';
import { modelCommand } from './model-command.js';
import { render, toJson } from './trace-render.js';

export function traceCommand(argv: string[]): Promise<number> {
  return modelCommand(() => run(argv));
}

function run(argv: string[]): number {
  const config = readTraceConfig(argv);
  if (config === null) {
    console.log(traceHelp());
    return 0;
  }
  const lab = buildTraceLab(config);
  const { from, bytes } = traceFrame(lab, config.from, config.frame);
  const journey = lab.send(from, bytes);
  const counts = countDeliveries(journey);
  if (config.json) {
    console.log(JSON.stringify(toJson(bytes, from, lab.description, journey, counts, lab.stations()), null, 2));
  } else {
    console.log(render(bytes, from, lab.description, journey, counts, lab.stations(), lab.macs));
  }
  return 0;
}
