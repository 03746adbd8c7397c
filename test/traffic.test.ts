// The traffic tool of the availability benchmark (test/support/traffic.mjs): against the real vLLM
// stand-in under Docker it counts successes and latencies, and a stream cut by the container
// stopping as cut; against a small local server that fails on demand it counts every kind of
// failure, with times that fall between the marks around the outage.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { docker, removeContainers, runStandin, sessionLabel, testSession, waitFor, waitForHttp } from './support/docker.js';
import { freePort } from './support/stack-project.js';
import { longRequest, startTraffic } from './support/traffic.mjs';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type Mode = 'ok' | 'fail' | 'no-choices' | 'cut' | 'hang' | 'echo-auth' | 'wrong-model' | 'reset';

/**
 * A local OpenAI-ish server whose behaviour the test switches: the failures traffic must see.
 * It answers as the stand-in does ("Hello from <model>!") and counts the requests each
 * connection carried, and for which models.
 */
function flakyServer() {
  const state = { mode: 'ok' as Mode, cutAfter: 4 };
  const hung = new Set<http.ServerResponse>();
  /** Per connection: the models of the requests it carried, in order. */
  const connections = new Map<object, string[]>();
  const server = http.createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(parts).toString('utf8') || '{}') as { model?: string; stream?: boolean; max_tokens?: number };
      const carried = connections.get(req.socket) ?? [];
      connections.set(req.socket, [...carried, String(body.model)]);
      const json = (status: number, value: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(value));
      };
      const chunk = (content: string, finish: string | null = null) =>
        `data: ${JSON.stringify({ object: 'chat.completion.chunk', choices: [{ index: 0, delta: { content }, finish_reason: finish }] })}\n\n`;
      switch (state.mode) {
        case 'fail':
          return json(503, { error: { message: 'backend down for the test' } });
        case 'echo-auth':
          return json(401, { error: { message: `Invalid key: ${req.headers.authorization}` } });
        case 'no-choices':
          return json(200, { id: 'x', object: 'chat.completion' });
        case 'reset':
          // The connection goes away with the request unanswered, as a kept-alive connection
          // that a server closes while the client sends on it.
          return req.socket.destroy();
        case 'wrong-model':
          return json(200, { object: 'chat.completion', choices: [{ index: 0, message: { role: 'assistant', content: 'Hello from another-model! You said: ping' }, finish_reason: 'stop' }] });
        case 'hang':
          hung.add(res);
          res.on('close', () => hung.delete(res));
          return;
        case 'cut': {
          // A stream that stops mid-way: some chunks, then the connection is gone.
          res.writeHead(200, { 'content-type': 'text/event-stream' });
          let sent = 0;
          const timer = setInterval(() => {
            if (sent === state.cutAfter) {
              clearInterval(timer);
              res.socket?.destroy();
              return;
            }
            res.write(chunk(`t${sent++} `));
          }, 10);
          return;
        }
        case 'ok':
          if (!body.stream) return json(200, { object: 'chat.completion', choices: [{ index: 0, message: { role: 'assistant', content: `Hello from ${body.model}! You said: ping` }, finish_reason: 'stop' }] });
          res.writeHead(200, { 'content-type': 'text/event-stream' });
          for (let i = 0; i < (body.max_tokens ?? 3); i++) res.write(chunk(i === 0 ? 'Hello from ' : i === 1 ? `${body.model}! ` : `t${i} `, i === (body.max_tokens ?? 3) - 1 ? 'length' : null));
          return res.end('data: [DONE]\n\n');
      }
    });
  });
  return {
    state,
    connections,
    async start() {
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    },
    async close() {
      for (const res of hung) res.destroy();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

describe('traffic against a server that fails on demand', () => {
  const flaky = flakyServer();
  let url = '';
  beforeAll(async () => {
    url = await flaky.start();
  });
  afterAll(() => flaky.close());

  it('counts the failures of an outage with their times, all between the marks around it', async () => {
    flaky.state.mode = 'ok';
    const traffic = startTraffic({ url, key: 'sk-test-key', models: ['a', 'b'], concurrency: 2, pauseMs: 5, failurePauseMs: 20 });
    await sleep(400);
    const failStart = traffic.mark('fail-start');
    flaky.state.mode = 'fail';
    await sleep(400);
    flaky.state.mode = 'ok';
    const failEnd = traffic.mark('fail-end');
    await sleep(400);
    const report = await traffic.stop();

    for (const model of ['a', 'b']) {
      const m = report.models[model]!;
      expect(m.failures).toBeGreaterThan(0);
      // 2 clients, 400 ms, at least 20 ms after each failure: the pause bounds the count.
      expect(m.failures).toBeLessThanOrEqual(2 * (400 / 20 + 2));
      expect(m.requests).toBe(m.ok + m.failures);
      expect(report.failuresBetween(model, 'fail-start', 'fail-end')).toHaveLength(m.failures);
      expect(report.failuresOutside(model, 'fail-start', 'fail-end')).toHaveLength(0);
      // Successes before and after the outage.
      expect(report.requests.filter((r) => r.model === model && r.ok && r.end < failStart).length).toBeGreaterThan(0);
      expect(report.requests.filter((r) => r.model === model && r.ok && r.start > failEnd).length).toBeGreaterThan(0);
      expect(m.firstFailureAt).toBeLessThanOrEqual(m.lastFailureAt!);
      expect(m.latencyMs.p50).toBeLessThanOrEqual(m.latencyMs.p95!);
      expect(m.latencyMs.p95).toBeLessThanOrEqual(m.latencyMs.max!);
    }
    for (const f of report.failures) {
      expect(f.status).toBe(503);
      expect(f.error).toContain('backend down for the test');
      expect(f.end).toBeGreaterThanOrEqual(failStart);
      expect(f.start).toBeLessThanOrEqual(failEnd);
    }
    expect(report.failures).toHaveLength(report.models.a!.failures + report.models.b!.failures);
    // Open ends and times as numbers.
    expect(report.failuresBetween(null, failStart)).toHaveLength(report.failures.length);
    // Before the outage: only a request already in flight when it began (on a loaded machine
    // one can be), and it failed after the mark.
    for (const f of report.failuresBetween('a', undefined, failStart - 1)) {
      expect(f.start).toBeLessThan(failStart);
      expect(f.end).toBeGreaterThanOrEqual(failStart);
    }
    expect(report.failuresBetween('a', undefined, failStart - 1).length).toBeLessThanOrEqual(2);
    expect(() => report.failuresBetween('a', 'no-such-mark')).toThrow(/no mark named "no-such-mark"/);
    const summary = report.summary();
    expect(summary).toMatch(/^model +requests +failures/);
    expect(summary).toMatch(/marks: fail-start \+0\.\ds, fail-end \+0\.\ds/);
    expect(summary).toContain('503: HTTP 503');
  });

  it('counts a 200 without choices, a stream without [DONE], a hung request and a refused connection as failures', async () => {
    const run = async (mode: Mode, options: Partial<Parameters<typeof startTraffic>[0]> = {}, ms = 150) => {
      flaky.state.mode = mode;
      const t = startTraffic({ url, models: ['m'], pauseMs: 5, failurePauseMs: 5, ...options });
      await sleep(ms);
      return t.stop();
    };
    const noChoices = await run('no-choices');
    expect(noChoices.models.m!.ok).toBe(0);
    expect(noChoices.failures[0]).toMatchObject({ status: 200, error: expect.stringContaining('HTTP 200 without choices') });

    const cut = await run('cut', { stream: true });
    expect(cut.models.m!.ok).toBe(0);
    expect(cut.failures[0]).toMatchObject({ status: 200, chunks: 4, error: expect.stringMatching(/connection closed after HTTP 200|without data: \[DONE\]/) });

    // The same streams, complete, are successes (so the failure above is the cut, not the parsing).
    const complete = await run('ok', { stream: true, maxTokens: 3 });
    expect(complete.models.m!.failures).toBe(0);
    expect(complete.requests[0]).toMatchObject({ ok: true, chunks: 3 });

    const t0 = Date.now();
    const hung = await run('hang', { timeoutMs: 300 }, 50);
    expect(Date.now() - t0).toBeLessThan(2000); // stop() waited for the deadline, not for ever
    expect(hung.failures).toHaveLength(1);
    expect(hung.failures[0]).toMatchObject({ status: 0, error: 'timed out after 300 ms' });

    const closedPort = await freePort();
    const refused = startTraffic({ url: `http://127.0.0.1:${closedPort}`, models: ['m'], failurePauseMs: 50 });
    await sleep(200);
    const r = await refused.stop();
    expect(r.models.m!.failures).toBeGreaterThan(0);
    expect(r.models.m!.failures).toBeLessThanOrEqual(6);
    expect(r.failures[0]).toMatchObject({ status: 0, error: expect.stringContaining('ECONNREFUSED') });
  });

  it('never puts the key into an error text', async () => {
    const key = 'sk-0123456789abcdefSECRET';
    const r = await (async () => {
      flaky.state.mode = 'echo-auth';
      const t = startTraffic({ url, key, models: ['m'], failurePauseMs: 20 });
      await sleep(100);
      return t.stop();
    })();
    expect(r.failures.length).toBeGreaterThan(0);
    expect(r.failures[0]!.error).toContain('Invalid key: Bearer ***');
    expect(JSON.stringify(r.requests)).not.toContain('SECRET');
    expect(r.summary()).not.toContain('SECRET');
  });

  it('gives each own-connection client one kept-alive connection for all its requests, and records who answered', async () => {
    flaky.state.mode = 'ok';
    flaky.connections.clear();
    const traffic = startTraffic({ url, models: ['a', 'b'], concurrency: 2, ownConnection: true, pauseMs: 5 });
    await sleep(400);
    const report = await traffic.stop();
    expect(report.failures).toEqual([]);
    // Two clients per model, one connection each, and no connection carried both models.
    const carried = [...flaky.connections.values()];
    expect(carried).toHaveLength(4);
    for (const models of carried) expect(new Set(models).size).toBe(1);
    expect(carried.filter((m) => m[0] === 'a')).toHaveLength(2);
    expect(carried.flat()).toHaveLength(report.requests.length);
    for (const model of ['a', 'b']) {
      const m = report.models[model]!;
      expect(m.requests).toBeGreaterThan(8);
      expect(m.wrongModel).toBe(0);
      expect(m.unnamed).toBe(0);
    }
    for (const r of report.requests) expect(r.from).toBe(r.model);
    // Every request after a client's first went on its kept-alive connection.
    expect(report.requests.filter((r) => !r.reused)).toHaveLength(4);

    // Streaming: the name is read from the chunks as they come.
    const streamed = await (async () => {
      const t = startTraffic({ url, models: ['c'], stream: true, maxTokens: 4, ownConnection: true });
      await sleep(100);
      return t.stop();
    })();
    expect(streamed.requests.length).toBeGreaterThan(0);
    expect(streamed.requests.every((r) => r.ok && r.from === 'c')).toBe(true);
  });

  it('counts answers from another model, and answers that name none', async () => {
    flaky.state.mode = 'wrong-model';
    const wrong = startTraffic({ url, models: ['m'], pauseMs: 5 });
    await sleep(100);
    const w = await wrong.stop();
    expect(w.models.m!.requests).toBeGreaterThan(0);
    expect(w.models.m!.wrongModel).toBe(w.models.m!.requests);
    expect(w.requests[0]).toMatchObject({ ok: true, from: 'another-model' });
    // A stream cut after "Hello from " names nobody.
    flaky.state.mode = 'ok';
    const unnamed = startTraffic({ url, models: ['m'], stream: true, maxTokens: 1, pauseMs: 5 });
    await sleep(100);
    const u = await unnamed.stop();
    expect(u.models.m!.unnamed).toBe(u.models.m!.requests);
    expect(u.models.m!.wrongModel).toBe(0);
  });

  it('counts a kept-alive connection that goes away under a request as one failure, and never sends that request again', async () => {
    flaky.state.mode = 'ok';
    flaky.connections.clear();
    const traffic = startTraffic({ url, models: ['m'], ownConnection: true, pauseMs: 10, failurePauseMs: 50 });
    await sleep(150);
    flaky.state.mode = 'reset';
    await sleep(300);
    flaky.state.mode = 'ok';
    await sleep(150);
    const report = await traffic.stop();
    const m = report.models.m!;
    expect(m.failures).toBeGreaterThan(0);
    // What the server received is exactly what the client counted: nothing was sent twice.
    expect([...flaky.connections.values()].flat()).toHaveLength(m.requests);
    const first = report.failures[0]!;
    expect(first).toMatchObject({ status: 0, reused: true });
    expect(first.error).toMatch(/socket hang up|ECONNRESET/);
    // Afterwards the client opened a new connection and went on.
    expect(report.requests.filter((r) => r.ok && r.start > report.failures.at(-1)!.end).length).toBeGreaterThan(0);
  });

  it('reports a long stream the server closes mid-way as cut, with the chunks received', async () => {
    flaky.state.mode = 'cut';
    flaky.state.cutAfter = 7;
    const cut = await longRequest({ url, model: 'm', tokens: 50, timeoutMs: 5000 });
    expect(cut).toMatchObject({ complete: false, done: false, chunks: 7, status: 200 });
    expect(cut.error).toMatch(/connection closed after HTTP 200|without data: \[DONE\]/);
    flaky.state.mode = 'ok';
    const whole = await longRequest({ url, model: 'm', tokens: 50 });
    expect(whole).toMatchObject({ complete: true, done: true, chunks: 50, finishReason: 'length', error: '' });
  });
});

describe('traffic against the real vLLM stand-in', () => {
  let network = '';
  const started: string[] = [];
  beforeAll(async () => {
    network = `inferstack-test-${testSession()}-traffic`;
    await docker(['network', 'create', '--label', sessionLabel(), network]);
  });
  afterAll(async () => {
    await removeContainers(started);
    if (network) await docker(['network', 'rm', network], { allowFail: true });
  });
  const start = async (name: string, env: Record<string, string>) => {
    const c = await runStandin({ name: `traffic-${name}`, network, env: { STANDIN_LOAD_DELAY: '0', ...env }, args: ['org/m', '--port', '8000', '--host', '0.0.0.0', '--served-model-name', 'm'] });
    started.push(c.id);
    await waitForHttp(`${c.baseUrl}/health`, { timeoutMs: 30_000 });
    return c;
  };

  it('counts successes and their latency, plain and streaming, and 401s with a wrong key', async () => {
    const key = 'sk-traffic-test-key-123';
    const c = await start('serve', { STANDIN_TOKEN_DELAY_MS: '20', VLLM_API_KEY: key });
    const plain = startTraffic({ url: c.baseUrl, key, models: ['m'], concurrency: 2, maxTokens: 5 });
    const streaming = startTraffic({ url: c.baseUrl, key, models: ['m'], stream: true, maxTokens: 5 });
    await sleep(1500);
    const [p, s] = await Promise.all([plain.stop(), streaming.stop()]);
    for (const r of [p, s]) {
      expect(r.failures).toEqual([]);
      expect(r.models.m!.requests).toBeGreaterThanOrEqual(5);
      // 5 tokens, 20 ms between tokens: at least 80 ms each.
      expect(r.models.m!.latencyMs.p50).toBeGreaterThanOrEqual(80);
    }
    // The role chunk, then one chunk per token.
    expect(s.requests.every((r) => r.chunks === 6)).toBe(true);

    const wrong = startTraffic({ url: c.baseUrl, key: 'sk-wrong-key-456789', models: ['m'], failurePauseMs: 50 });
    await sleep(300);
    const w = await wrong.stop();
    expect(w.models.m!.ok).toBe(0);
    expect(w.models.m!.failures).toBeGreaterThan(0);
    expect(w.failures[0]).toMatchObject({ status: 401, error: 'HTTP 401: {"error":"Unauthorized"}' });

    const long = await longRequest({ url: c.baseUrl, key, model: 'm', tokens: 40 });
    expect(long).toMatchObject({ complete: true, done: true, chunks: 41, finishReason: 'length', status: 200 });
    expect(long.end - long.start).toBeGreaterThanOrEqual(39 * 20);
  });

  it('reports a long stream as cut when its container is stopped mid-way', async () => {
    const c = await start('stopped', { STANDIN_TOKEN_DELAY_MS: '20' });
    let chunks = 0;
    const pending = longRequest({ url: c.baseUrl, model: 'm', tokens: 500, timeoutMs: 30_000, onChunk: (n) => (chunks = n) });
    await waitFor('the stream under way', () => chunks >= 5, { timeoutMs: 10_000, intervalMs: 20 });
    // vLLM on SIGTERM sends no further token and waits for the client; docker stop's SIGKILL ends it.
    await docker(['stop', '-t', '1', c.id]);
    const r = await pending;
    expect(r.complete).toBe(false);
    expect(r.done).toBe(false);
    expect(r.status).toBe(200);
    expect(r.chunks).toBeGreaterThanOrEqual(5);
    expect(r.chunks).toBeLessThan(100);
    expect(r.error).toMatch(/connection closed after HTTP 200|without data: \[DONE\]/);
    expect(r.end - r.start).toBeLessThan(10_000);
  });
});
