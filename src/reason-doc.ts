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
import { allReasons } from './reason.js';

export function dropReasonsDoc(): string {
  const rows = [...allReasons()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([key, text]) => `| \`${key}\` | ${text} |`);
  return `# Drop and decision reasons

Every frame tapyard reads is written, or counted under one of these keys on the port where it was
lost (\`tapyard forward\` prints them; \`--json\` has them under \`drops\`). The same keys are the reasons
\`tapyard trace\` and \`tapyard why\` show for each copy and each drop, with the sentence beside them.
A frame the kernel refused on write is counted as \`tx-\` and the errno's name (\`tx-EINVAL\`).

Beside these, each macvtap and tap port reports what the kernel itself dropped on the device since
tapyard opened it (\`kernel\` in \`--json\`): \`beforeRead\` (its queue overflowed before tapyard read) and
\`afterWrite\` (it took tapyard's write, then dropped the frame: a link that is down, a full qdisc).

This file is generated (\`npm run schemas\`) from the declarations in the code.

| key | what happened |
|---|---|
${rows.join('\n')}
`;
}
