// The ui's HTTP side: the page, the topology, the forwarder's objects as server-sent events (each
// pushed once, as the forwarder prints it, the newest one again to a browser that just arrived),
// and the two forms' POSTs (trace a frame in the model, send one through the live forwarder),
// which need the run's token.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { TapyardError } from '../error.js';
import { notLocal } from './local-only.js';
import { PAGE } from './page.js';
import { type Inject, sendFrame } from './send.js';
import type { UiTopology } from './topology.js';
import { traceJson } from './trace.js';
import { whyJson } from './why.js';

/** A form's request is a handful of fields: anything larger is not one. */
const MAX_BODY = 16 * 1024;

export interface UiServer {
  server: Server;
  /** Hand one of the forwarder's JSON objects (one line) to every browser. */
  publish(line: string): void;
  close(): Promise<void>;
}

export function uiServer(topology: UiTopology, token: string, allowRemote: boolean, inject: Inject): UiServer {
  const browsers = new Set<ServerResponse>();
  let latest: string | null = null;

  const server = createServer((req, res) => {
    const refused = allowRemote ? null : notLocal(req);
    if (refused !== null) return send(res, 403, { error: refused });
    const path = new URL(req.url ?? '/', 'http://ui').pathname;
    if (req.method === 'GET' && path === '/') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', ...STRICT });
      return res.end(PAGE);
    }
    if (req.method === 'GET' && path === '/topology') return send(res, 200, topology);
    if (req.method === 'GET' && path === '/events') {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', ...STRICT });
      if (latest !== null) res.write(`data: ${latest}\n\n`);
      browsers.add(res);
      req.once('close', () => browsers.delete(res));
      return;
    }
    if (req.method === 'POST' && path === '/trace') return withFields(req, res, token, traceJson);
    if (req.method === 'POST' && path === '/why') return withFields(req, res, token, whyJson);
    if (req.method === 'POST' && path === '/send') {
      return withFields(req, res, token, (fields) => {
        const { port, frame } = sendFrame(fields, topology);
        return inject(port, frame);
      });
    }
    return send(res, 404, { error: `no ${req.method} ${path} here` });
  });

  return {
    server,
    publish(line) {
      latest = line;
      for (const b of browsers) b.write(`data: ${line}\n\n`);
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const b of browsers) b.end();
        browsers.clear();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** The page loads nothing from elsewhere, and nothing may frame it. */
const STRICT = {
  'content-security-policy': "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'",
  'x-frame-options': 'DENY',
};

/** A POST with the run's token and a JSON object body, answered with what HANDLE makes of it. */
function withFields(
  req: IncomingMessage,
  res: ServerResponse,
  token: string,
  handle: (fields: Record<string, unknown>) => unknown,
): void {
  // A form on another site cannot set this header, and cannot read the token from our page.
  if (req.headers['x-tapyard-token'] !== token) {
    refuse(req, res, 403, 'this POST needs the token the ui printed (X-Tapyard-Token)');
    return;
  }
  const tooLarge = `a request is at most ${MAX_BODY} bytes`;
  if (Number(req.headers['content-length'] ?? 0) > MAX_BODY) {
    refuse(req, res, 413, tooLarge);
    return;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  let refused = false;
  req.on('data', (chunk: Buffer) => {
    if (refused) return;
    size += chunk.length;
    if (size > MAX_BODY) {
      refused = true;
      refuse(req, res, 413, tooLarge);
      return;
    }
    chunks.push(chunk);
  });
  req.on('end', () => {
    if (refused) return;
    let fields: unknown;
    try {
      fields = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      return send(res, 400, { error: 'the body is not JSON' });
    }
    if (typeof fields !== 'object' || fields === null) return send(res, 400, { error: 'the body is not an object' });
    Promise.resolve()
      .then(() => handle(fields as Record<string, unknown>))
      .then(
        (answer) => send(res, 200, answer),
        (err: unknown) => {
          if (!(err instanceof TapyardError)) throw err;
          send(res, 400, { error: err.message });
        },
      );
  });
}

/**
 * Answer STATUS without reading the rest of the body: the connection closes once the answer is
 * out, so a body of any size costs nothing here.
 */
function refuse(req: IncomingMessage, res: ServerResponse, status: number, error: string): void {
  req.pause();
  res.setHeader('connection', 'close');
  send(res, status, { error });
  res.once('finish', () => req.socket.destroy());
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  res.end(JSON.stringify(body));
}
