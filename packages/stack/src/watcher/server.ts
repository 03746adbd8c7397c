import { createServer, type IncomingMessage, type Server } from 'node:http';
import { bearerMatches } from './token.js';
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
 * The watcher's HTTP side, for the gateway's wake hook, for `serve` and for Prometheus. Every
 * route but `/health` needs `Authorization: Bearer <the stack's watcher token>` (401 without):
 * `/acquire` wakes and starts models and keeps them awake, so only the stack may call it.
 * - `POST /acquire` `{"model": "<served name>"}`: 200 once the model serves (woken or started
 *   if needed), 404 for a model the watcher does not look after, 503 when it cannot be woken in
 *   its wake timeout (the body says why);
 * - `POST /evict` `{"model": "<key>"}`: the other members of its swap group are put away (for
 *   `up`, which holds the stack's lock and is about to start it); 503 when one stays busy;
 * - `POST /reload`: read the stack's config again (`up` changed it); answers the models it
 *   looks after;
 * - `GET /state`: the models it looks after, their phase and last request;
 * - `GET /metrics`: wake latency and phases, for Prometheus;
 * - `GET /health`: open, for Docker's health check.
 */
export function watcherServer(watcher: Watcher, stack: string, options: { token: string; onReload?: () => void }): Server {
  return createServer((req, res) => {
    const send = (status: number, body: unknown, type = 'application/json') => {
      const text = type === 'application/json' ? JSON.stringify(body) : String(body);
      res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(text) });
      res.end(text);
    };
    const url = new URL(req.url ?? '/', 'http://watcher');
    if (req.method === 'GET' && url.pathname === '/health') return send(200, { ok: true });
    if (!bearerMatches(req.headers.authorization, options.token)) {
      // Drain what was sent, then refuse: nothing on the network but the stack may ask.
      req.resume();
      res.setHeader('www-authenticate', 'Bearer realm="inferstack-watcher"');
      return send(401, { error: "the watcher answers the stack's gateway and serve only: Authorization: Bearer <the stack's watcher token>" });
    }
    const modelOfBody = (text: string): string | undefined => {
      try {
        const model = (JSON.parse(text) as { model?: unknown }).model;
        return typeof model === 'string' && model ? model : undefined;
      } catch {
        return undefined;
      }
    };
    if (req.method === 'POST' && (url.pathname === '/acquire' || url.pathname === '/evict')) {
      readBody(req)
        .then(async (text) => {
          const model = modelOfBody(text);
          if (!model) return send(400, { error: `the body must be JSON naming the model: {"model": "<${url.pathname === '/acquire' ? 'served model name' : 'model key'}>"}` });
          const result = url.pathname === '/acquire' ? await watcher.acquire(model) : await watcher.evictPeersOf(model);
          return send(result.ok ? 200 : result.status, result);
        })
        .catch((error: Error) => send(500, { error: error.message }));
      return;
    }
    if (req.method === 'POST' && url.pathname === '/reload') {
      req.resume();
      watcher
        .reload()
        .then((changed) => {
          options.onReload?.();
          send(200, { stack, changed, models: watcher.models().map((m) => m.key) });
        })
        .catch((error: Error) => send(422, { error: `the config could not be read again; the watcher keeps the one it had: ${error.message}` }));
      return;
    }
    if (req.method === 'GET' && url.pathname === '/state') return send(200, { stack, models: watcher.models() });
    if (req.method === 'GET' && url.pathname === '/metrics') return send(200, watcher.metrics(), 'text/plain; version=0.0.4');
    return send(404, { error: `no route ${req.method} ${url.pathname}` });
  });
}
