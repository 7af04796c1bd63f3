// One round's no-drop search result for the bench's unit tests: NDR and PDR at `perSecond`.

import type { NdrSample } from '../../bench/datapath/report-schema.js';

export const ndrSample = (round: number, perSecond: number): NdrSample => ({
  round,
  ndrPerSecond: perSecond,
  pdrPerSecond: perSecond,
  ndrResolutionFraction: 0.02,
  pdrResolutionFraction: 0.02,
  ndrAtFullLoad: false,
  trialCount: 1,
  loads: [],
  forwarder: null,
});
