// The ui's HTTP side: the page, the topology, the forwarder's objects as server-sent events (each
// pushed once, as the forwarder prints it, the newest one again to a browser that just arrived),
// and the trace form's POST, which needs the run's token.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { TapyardError } from '../error.js';
import { notLocal } from './local-only.js';
import { PAGE } from './page.js';
import type { UiTopology } from './topology.js';
import { traceJson } from './trace.js';

/** A trace request is a handful of fields: anything larger is not one. */
const MAX_BODY = 16 * 1024;

export interface UiServer {
  server: Server;
  /** Hand one of the forwarder's JSON objects (one line) to every browser. */
  publish(line: string): void;
  close(): Promise<void>;
}

export function uiServer(topology: UiTopology, token: string, allowRemote: boolean): UiServer {
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
    if (req.method === 'POST' && path === '/trace') return trace(req, res, token);
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

function trace(req: IncomingMessage, res: ServerResponse, token: string): void {
  // A form on another site cannot set this header, and cannot read the token from our page.
  if (req.headers['x-tapyard-token'] !== token) {
    req.resume();
    send(res, 403, { error: 'this POST needs the token the ui printed (X-Tapyard-Token)' });
    return;
  }
  let body = '';
  let tooLarge = false;
  req.setEncoding('utf8');
  req.on('data', (chunk: string) => {
    body += chunk;
    if (body.length > MAX_BODY) tooLarge = true;
  });
  req.on('end', () => {
    if (tooLarge) return send(res, 413, { error: `a trace request is at most ${MAX_BODY} bytes` });
    let fields: unknown;
    try {
      fields = JSON.parse(body);
    } catch {
      return send(res, 400, { error: 'the body is not JSON' });
    }
    if (typeof fields !== 'object' || fields === null) return send(res, 400, { error: 'the body is not an object' });
    try {
      send(res, 200, traceJson(fields));
    } catch (err) {
      if (!(err instanceof TapyardError)) throw err;
      send(res, 400, { error: err.message });
    }
  });
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  res.end(JSON.stringify(body));
}
