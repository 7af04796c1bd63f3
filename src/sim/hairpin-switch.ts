// The physical switch a macvlan lower is cabled to. It is an ordinary learning bridge; with
// hairpin on its port toward the lower (802.1Qbg reflective relay, `bridge link set dev X
// hairpin on` on Linux) a frame may leave by the port it came in on, which is the only way
// VEPA and private endpoints reach each other or the host stack on their own lower.

import { LearningBridge } from '../switch/learning-bridge.js';

/** The name of the switch port cabled to the macvlan lower. */
export const TOWARD_LOWER = 'lower';

export interface HairpinSwitchOptions {
  hairpin: boolean;
  /** The other ports, each with a station behind it (e.g. 'ext'). */
  stations: readonly string[];
  ageingMs?: number;
  now?: () => number;
}

export class HairpinSwitch extends LearningBridge {
  readonly hairpin: boolean;

  constructor(options: HairpinSwitchOptions) {
    super({
      ...(options.ageingMs === undefined ? {} : { ageingMs: options.ageingMs }),
      ...(options.now === undefined ? {} : { now: options.now }),
    });
    this.hairpin = options.hairpin;
    this.configure({
      ports: [{ name: TOWARD_LOWER, hairpin: options.hairpin }, ...options.stations.map((name) => ({ name }))],
    });
  }
}
