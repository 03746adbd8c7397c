import { describe, expect, test } from 'vitest';
import { createPrometheusClient } from './client.js';
import { type ActiveTarget, reportTargets } from './target-report.js';
import {
  PrometheusApiError,
  PrometheusQueryError,
  PrometheusSyncError,
  PrometheusUnreachableError,
  ReloadFailedError,
  ReloadUnavailableError,
} from './errors.js';

type Handler = (request: Request) => Response | Promise<Response>;

/** A fetch that answers from `handler` and records every request. */
function fakeFetch(handler: Handler): { fetch: typeof globalThis.fetch; requests: Request[] } {
  const requests: Request[] = [];
  const fetch = (async (input: string | URL | Request, init?: RequestInit) => {
    const request = new Request(input, init);
    requests.push(request);
    return handler(request);
  }) as typeof globalThis.fetch;
  return { fetch, requests };
}

/** A fetch that never answers: it rejects only when its request is aborted, with the abort's reason. */
const hangingFetch = (): typeof globalThis.fetch =>
  ((input: string | URL | Request, init?: RequestInit) =>
    new Promise<Response>((_, reject) => {
      const signal = init?.signal ?? (input instanceof Request ? input.signal : undefined);
      signal?.addEventListener('abort', () => reject(signal.reason));
    })) as typeof globalThis.fetch;

const json = (body: unknown, status = 200): Response =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });

function active(address: string, health: ActiveTarget['health'], pool = 'vllm', lastError = ''): ActiveTarget {
  return {
    discoveredLabels: { __address__: address, job: pool },
    labels: { instance: address, job: pool, model: address.split(':')[0] ?? '' },
    scrapePool: pool,
    scrapeUrl: `http://${address}/metrics`,
    globalUrl: `http://${address}/metrics`,
    lastError,
    lastScrape: health === 'unknown' ? '0001-01-01T00:00:00Z' : '2026-01-01T00:00:00Z',
    lastScrapeDuration: 0.01,
    health,
  };
}

describe('createPrometheusClient', () => {
  test('refuses a base URL without scheme', () => {
    expect(() => createPrometheusClient({ baseUrl: 'localhost:9090' })).toThrow(PrometheusSyncError);
  });

  test('reload: POST /-/reload; 403 and 404 mean the lifecycle API is off; 500 a bad config', async () => {
    let status = 200;
    let body = '';
    const { fetch, requests } = fakeFetch(() => new Response(body, { status }));
    const client = createPrometheusClient({ baseUrl: 'http://prom:9090/prefix/', fetch });
    await client.reload();
    expect(requests[0]?.method).toBe('POST');
    expect(requests[0]?.url).toBe('http://prom:9090/prefix/-/reload');

    status = 403;
    body = 'Lifecycle API is not enabled.';
    const error = await client.reload().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ReloadUnavailableError);
    expect((error as ReloadUnavailableError).status).toBe(403);
    expect((error as ReloadUnavailableError).message).toContain('Lifecycle API is not enabled');
    expect((error as ReloadUnavailableError).hint).toContain('SIGHUP');

    status = 404;
    await expect(client.reload()).rejects.toBeInstanceOf(ReloadUnavailableError);

    status = 500;
    body = 'failed to reload config: couldn\'t load configuration (--config.file="/etc/prometheus/prometheus.yml"): parsing YAML file';
    const failed = await client.reload().catch((e: unknown) => e);
    expect(failed).toBeInstanceOf(ReloadFailedError);
    expect((failed as ReloadFailedError).prometheusMessage).toContain('parsing YAML file');

    status = 502;
    await expect(client.reload()).rejects.toBeInstanceOf(PrometheusApiError);
  });

  test('a refused connection is PrometheusUnreachableError with the code', async () => {
    const fetch = (async () => {
      throw new TypeError('fetch failed', { cause: Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED' }) });
    }) as typeof globalThis.fetch;
    const client = createPrometheusClient({ baseUrl: 'http://127.0.0.1:9', fetch });
    const error = await client.reload().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PrometheusUnreachableError);
    expect(error).toMatchObject({ code: 'ECONNREFUSED', operation: 'POST /-/reload', baseUrl: 'http://127.0.0.1:9' });
    await expect(client.targets()).rejects.toBeInstanceOf(PrometheusUnreachableError);
  });

  test('a request that never answers times out as unreachable (TIMEOUT)', async () => {
    const fetch = hangingFetch();
    const client = createPrometheusClient({ baseUrl: 'http://prom:9090', fetch, timeoutMs: 50 });
    await expect(client.ready()).rejects.toMatchObject({ name: 'PrometheusUnreachableError', code: 'TIMEOUT' });
  });

  test("the caller's abort stops a request in flight with the caller's reason, not as unreachable", async () => {
    const fetch = hangingFetch();
    const client = createPrometheusClient({ baseUrl: 'http://prom:9090', fetch, timeoutMs: 5_000 });
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('stop')), 20);
    await expect(client.ready({ signal: controller.signal })).rejects.toThrow('stop');
  });

  test('ready: 200 true, 503 false, anything else an API error', async () => {
    let status = 503;
    const { fetch } = fakeFetch(() => new Response('', { status }));
    const client = createPrometheusClient({ baseUrl: 'http://prom:9090', fetch });
    expect(await client.ready()).toBe(false);
    status = 200;
    expect(await client.ready()).toBe(true);
    status = 404;
    await expect(client.ready()).rejects.toBeInstanceOf(PrometheusApiError);
  });

  test('waitUntilReady polls through refused connections and 503', async () => {
    let calls = 0;
    const { fetch } = fakeFetch(() => {
      calls++;
      if (calls === 1) throw new TypeError('fetch failed', { cause: { code: 'ECONNREFUSED' } });
      return new Response('', { status: calls < 4 ? 503 : 200 });
    });
    const client = createPrometheusClient({ baseUrl: 'http://prom:9090', fetch, sleep: async () => undefined });
    await client.waitUntilReady();
    expect(calls).toBe(4);
  });

  test('waitUntilReady gives up with PrometheusUnreachableError', async () => {
    let clock = 0;
    const { fetch } = fakeFetch(() => new Response('', { status: 503 }));
    const client = createPrometheusClient({
      baseUrl: 'http://prom:9090',
      fetch,
      now: () => clock,
      sleep: async (ms) => {
        clock += ms;
      },
    });
    await expect(client.waitUntilReady({ timeoutMs: 1000, intervalMs: 100 })).rejects.toMatchObject({
      name: 'PrometheusUnreachableError',
      code: 'NOT_READY',
    });
    expect(clock).toBeGreaterThanOrEqual(900);
  });

  test('targets: typed active targets from /api/v1/targets?state=active', async () => {
    const { fetch, requests } = fakeFetch(() =>
      json({ status: 'success', data: { activeTargets: [{ ...active('a:8000', 'up'), extra: 1 }, { health: 'weird' }], droppedTargets: [] } }),
    );
    const client = createPrometheusClient({ baseUrl: 'http://prom:9090', fetch });
    const result = await client.targets();
    expect(new URL(requests[0]?.url ?? '').search).toBe('?state=active');
    expect(result.activeTargets[0]).toEqual(active('a:8000', 'up'));
    expect(result.activeTargets[1]?.health).toBe('unknown');
    expect(result.droppedTargets).toEqual([]);
  });

  test('query: the data; a parse error is PrometheusQueryError with the expression', async () => {
    const { fetch, requests } = fakeFetch((request) => {
      const expr = new URL(request.url).searchParams.get('query') ?? '';
      if (expr === 'up') return json({ status: 'success', data: { resultType: 'vector', result: [{ metric: { job: 'x' }, value: [1, '1'] }] } });
      return json({ status: 'error', errorType: 'bad_data', error: 'invalid parameter "query": 1:4: parse error: unexpected end of input' }, 400);
    });
    const client = createPrometheusClient({ baseUrl: 'http://prom:9090', fetch });
    const result = await client.query('up', { time: new Date(1_700_000_000_500) });
    expect(result).toEqual({ resultType: 'vector', result: [{ metric: { job: 'x' }, value: [1, '1'] }] });
    expect(new URL(requests[0]?.url ?? '').searchParams.get('time')).toBe('1700000000.5');
    const error = await client.query('sum(').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PrometheusQueryError);
    expect(error).toMatchObject({ status: 400, errorType: 'bad_data', expr: 'sum(' });
    expect((error as PrometheusQueryError).message).toContain('parse error');
  });

  test('an HTML page instead of JSON is an API error, not a crash', async () => {
    const { fetch } = fakeFetch(() => new Response('<html>proxy error</html>', { status: 502 }));
    const client = createPrometheusClient({ baseUrl: 'http://prom:9090', fetch });
    await expect(client.targets()).rejects.toMatchObject({ name: 'PrometheusApiError', status: 502, prometheusMessage: '<html>proxy error</html>' });
  });
});

describe('waitForTargets', () => {
  test('polls until the job lists exactly the expected targets, then reports each', async () => {
    const answers = [
      [active('old:8000', 'up')],
      [active('old:8000', 'up'), active('a:8000', 'unknown')],
      [active('a:8000', 'unknown'), active('b:8000', 'down', 'vllm', 'connection refused'), active('x:9100', 'up', 'node')],
    ];
    let i = 0;
    const { fetch } = fakeFetch(() => json({ status: 'success', data: { activeTargets: answers[Math.min(i++, answers.length - 1)], droppedTargets: [] } }));
    const client = createPrometheusClient({ baseUrl: 'http://prom:9090', fetch, sleep: async () => undefined });
    const report = await client.waitForTargets(['b:8000', 'a:8000'], { job: 'vllm' });
    expect(i).toBe(3);
    expect(report).toMatchObject({ settled: true, missing: [], unexpected: [] });
    expect(report.targets.map((t) => [t.target, t.known, t.health, t.lastError])).toEqual([
      ['b:8000', true, 'down', 'connection refused'],
      ['a:8000', true, 'unknown', ''],
    ]);
  });

  test('on timeout it resolves with settled false and what is missing or stale', async () => {
    let clock = 0;
    const { fetch } = fakeFetch(() => json({ status: 'success', data: { activeTargets: [active('old:8000', 'up')], droppedTargets: [] } }));
    const client = createPrometheusClient({
      baseUrl: 'http://prom:9090',
      fetch,
      now: () => clock,
      sleep: async (ms) => {
        clock += ms;
      },
    });
    const report = await client.waitForTargets(['a:8000'], { job: 'vllm', timeoutMs: 1000 });
    expect(report).toMatchObject({ settled: false, missing: ['a:8000'], unexpected: ['old:8000'] });
    expect(report.elapsedMs).toBeGreaterThanOrEqual(750);
  });

  test('a Prometheus that never answers is PrometheusUnreachableError', async () => {
    let clock = 0;
    const fetch = (async () => {
      throw new TypeError('fetch failed', { cause: { code: 'ECONNREFUSED' } });
    }) as typeof globalThis.fetch;
    const client = createPrometheusClient({ baseUrl: 'http://prom:9090', fetch, now: () => clock, sleep: async (ms) => void (clock += ms) });
    await expect(client.waitForTargets(['a:8000'], { timeoutMs: 500 })).rejects.toBeInstanceOf(PrometheusUnreachableError);
  });

  test('an aborted wait rejects with the abort reason', async () => {
    const { fetch } = fakeFetch(() => json({ status: 'success', data: { activeTargets: [], droppedTargets: [] } }));
    const client = createPrometheusClient({ baseUrl: 'http://prom:9090', fetch });
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('stop')), 30);
    await expect(client.waitForTargets(['a:8000'], { signal: controller.signal, intervalMs: 10 })).rejects.toThrow('stop');
  });
});

describe('reportTargets', () => {
  const list = [active('a:8000', 'up'), active('b:8000', 'unknown'), active('c:8000', 'down'), active('a:8000', 'up', 'other')];

  test('until known / scraped / up', () => {
    expect(reportTargets(['a:8000', 'b:8000'], list).settled).toBe(true);
    expect(reportTargets(['a:8000', 'b:8000'], list, { until: 'scraped' }).settled).toBe(false);
    expect(reportTargets(['a:8000', 'c:8000'], list, { until: 'scraped' }).settled).toBe(true);
    expect(reportTargets(['a:8000', 'c:8000'], list, { until: 'up' }).settled).toBe(false);
  });

  test('without a job, extra targets do not matter; with one, they are stale', () => {
    expect(reportTargets(['a:8000'], list).unexpected).toEqual([]);
    expect(reportTargets(['a:8000'], list, { job: 'vllm' })).toMatchObject({ settled: false, unexpected: ['b:8000', 'c:8000'] });
    expect(reportTargets(['a:8000'], list, { job: 'other' })).toMatchObject({ settled: true, unexpected: [] });
  });

  test('an empty expectation for a job settles once the job is empty', () => {
    expect(reportTargets([], list, { job: 'nothing' }).settled).toBe(true);
    expect(reportTargets([], list, { job: 'vllm' }).settled).toBe(false);
  });
});
