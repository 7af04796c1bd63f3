// docs/drop-reasons.md, drawn from the declared reasons: every key a counter or a trace can show,
// with its sentence. A test fails when the committed file differs, so the list cannot go stale.

import './filter/rx-filter.js';
import './impair/reason.js';
import './port/drop.js';
import './port/virtqueue.js';
import './send/reasons.js';
import './switch/cross-connect.js';
import './switch/hub.js';
import './switch/learning-bridge.js';
import './switch/macvlan.js';
import './switch/pairs.js';
import './vlan/reason.js';
import { KERNEL_COUNTERPARTS } from './kernel/counterparts.js';
import { allReasons } from './reason.js';

export function dropReasonsDoc(): string {
  const kernel = (key: string) => {
    const c = KERNEL_COUNTERPARTS[key];
    return c === undefined ? '' : `\`${c.reason}\` in \`${c.fn}\``;
  };
  const rows = [...allReasons()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([key, text]) => `| \`${key}\` | ${text} | ${kernel(key)} |`);
  return `# Drop and decision reasons

Every frame tapyard reads is written, or counted under one of these keys on the port where it was
lost (\`tapyard forward\` prints them; \`--json\` has them under \`drops\`). The same keys are the reasons
\`tapyard trace\` and \`tapyard why\` show for each copy and each drop, with the sentence beside them.
A frame the kernel refused on write is counted as \`tx-\` and the errno's name (\`tx-EINVAL\`).

Beside these, each macvtap and tap port reports what the kernel itself dropped on the device since
tapyard opened it (\`kernel\` in \`--json\`): \`beforeRead\` (its queue overflowed before tapyard read) and
\`afterWrite\` (it took tapyard's write, then dropped the frame: a link that is down, a full qdisc).
With \`--kernel-reasons\` the kernel also says why, in its own words (\`reasons\` in \`--json\`): each drop on
the device by \`SKB_DROP_REASON\` and the function that freed it, e.g. \`FULL_RING\` in \`tun_net_xmit\` for a
tap whose ring tapyard did not empty in time.

The last column is the kernel's own name for the same drop where it frees the frame at all: the
\`SKB_DROP_REASON_*\` and the function that the \`skb:kfree_skb\` tracepoint reports
(src/kernel/counterparts.ts). Each was found on the lab and is checked there by
test/conformance/verify.test.ts; \`tapyard why --verify\` and \`tapyard trace --verify\` show them beside the
model's reasons. An empty cell means the kernel frees nothing there (it never makes the copy it does not
send: a bridge's flood skips the ingress port without a drop) or no case of the lab reaches it yet.

This file is generated (\`npm run schemas\`) from the declarations in the code.

| key | what happened | the kernel's drop |
|---|---|---|
${rows.join('\n')}
`;
}
