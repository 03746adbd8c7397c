import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { Watcher } from './watcher.js';

/** The port the watcher listens on (in its container, on the stack's network). */
export { WATCHER_PORT } from '@inferstack/config';

function readBody(req: IncomingMessage, limit = 64 * 1024): Promise<string> {
  return new Promise((resolve, reject) => {
    let size = 0;
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        reject(new Error('body too large'));
        req.destroy();
      } else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/**
 * The watcher's HTTP side, for the gateway's wake hook and for `status`:
 * - `POST /acquire` `{"model": "<served name>"}`: 200 once the model serves (woken or started
 *   if needed), 404 for a model the watcher does not look after, 503 when it cannot be woken in
 *   its wake timeout (the body says why);
 * - `GET /state`: the models it looks after, their phase and last request;
 * - `GET /metrics`: wake latency and phases, for Prometheus;
 * - `GET /health`.
 */
export function watcherServer(watcher: Watcher, stack: string): Server {
  return createServer((req, res) => {
    const send = (status: number, body: unknown, type = 'application/json') => {
      const text = type === 'application/json' ? JSON.stringify(body) : String(body);
      res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(text) });
      res.end(text);
    };
    const url = new URL(req.url ?? '/', 'http://watcher');
    if (req.method === 'POST' && url.pathname === '/acquire') {
      readBody(req)
        .then(async (text) => {
          let model: unknown;
          try {
            model = (JSON.parse(text) as { model?: unknown }).model;
          } catch {
            return send(400, { error: 'the body must be JSON: {"model": "<served model name>"}' });
          }
          if (typeof model !== 'string' || !model) return send(400, { error: 'the body must name the model: {"model": "<served model name>"}' });
          const result = await watcher.acquire(model);
          return send(result.ok ? 200 : result.status, result);
        })
        .catch((error: Error) => send(500, { error: error.message }));
      return;
    }
    if (req.method === 'GET' && url.pathname === '/state') return send(200, { stack, models: watcher.models() });
    if (req.method === 'GET' && url.pathname === '/metrics') return send(200, watcher.metrics(), 'text/plain; version=0.0.4');
    if (req.method === 'GET' && url.pathname === '/health') return send(200, { ok: true });
    return send(404, { error: `no route ${req.method} ${url.pathname}` });
  });
}
