// TCP flags as a frame spec writes them: tcpdump's letters, the same ones frame/tcp.ts prints
// (`send ... tcp flags=S.`, a FrameSpec's `flags: 'SA'`). Text is read here, above the bytes.

import { TCP_FLAG_LETTERS } from '../frame/tcp.js';

/** The inverse of formatTcpFlags (`S`, `S.`, `none`); null when a letter is not a flag. */
export function parseTcpFlags(text: string): number | null {
  if (text === 'none') return 0;
  let flags = 0;
  for (const letter of text) {
    const entry = TCP_FLAG_LETTERS.find(([, l]) => l === letter);
    if (entry === undefined) return null;
    flags |= entry[0];
  }
  return flags;
}
