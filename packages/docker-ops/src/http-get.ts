import { request } from 'node:http';

/** The answer of {@link httpGet}. */
export interface HttpAnswer {
  status: number;
  body: string;
}

/**
 * A plain GET over node:http. Probes of model containers use it rather than `fetch`: it starts
 * without loading undici (a CLI that runs for 0.2 s notices), and a connection that is accepted
 * and closed at once (Docker's port proxy while vLLM loads) fails at once instead of hanging.
 * Rejects on connection errors and after `timeoutMs` (with `code: 'ETIMEDOUT'`).
 */
export function httpGet(url: string, options: { timeoutMs?: number; headers?: Record<string, string> } = {}): Promise<HttpAnswer> {
  return httpRequest(url, { ...options, method: 'GET' });
}

/** {@link httpGet} with any method (and a body): vLLM's POST routes. */
export function httpRequest(url: string, options: { method: string; body?: string; timeoutMs?: number; headers?: Record<string, string> }): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: options.method, headers: options.headers, timeout: options.timeoutMs ?? 2000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    // `code: 'ETIMEDOUT'`: a server that is there but too busy to answer, told apart from one that is not.
    req.on('timeout', () => req.destroy(Object.assign(new Error(`no answer from ${url} within ${options.timeoutMs ?? 2000} ms`), { code: 'ETIMEDOUT' })));
    req.on('error', reject);
    req.end(options.body);
  });
}
