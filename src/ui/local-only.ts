// Who may talk to the ui: by default only this machine, by its peer address and by the Host it
// asked for (a page elsewhere that resolves its own name to 127.0.0.1 still sends its own Host,
// so checking the Host header closes DNS rebinding as well as remote peers).

import type { IncomingMessage } from 'node:http';

const LOOPBACK_PEER = /^(127\.\d+\.\d+\.\d+|::1|::ffff:127\.\d+\.\d+\.\d+)$/;
const LOOPBACK_HOST = /^(127\.\d+\.\d+\.\d+|localhost|\[::1\])(:\d+)?$/i;

/** Why a request is refused, or null when it comes from this machine and names it. */
export function notLocal(req: IncomingMessage): string | null {
  const peer = req.socket.remoteAddress ?? '';
  if (!LOOPBACK_PEER.test(peer)) return `the client ${peer} is not on this machine (start the ui with --allow-remote)`;
  const host = req.headers.host ?? '';
  if (!LOOPBACK_HOST.test(host)) return `the Host ${JSON.stringify(host)} is not this machine's loopback`;
  return null;
}
