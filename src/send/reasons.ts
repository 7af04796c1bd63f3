// What becomes of the frames `tapyard send` reads back from its port and of those it planned to
// send but did not: each is counted under one of these (beside the port's own truncated and
// tx-ERRNO), so that read = matched + counted and planned = sent + refused + unsent.

import { reasons } from '../reason.js';

export const SendReason = reasons({
  NOT_EXPECTED: [
    'not-expected',
    'tapyard send read it back from its port and it is not what --expect waits for (or nothing was expected)',
  ],
  UNSENT: ['unsent-at-stop', "tapyard send stopped (a signal, or its port failed) before this frame's turn came"],
});
