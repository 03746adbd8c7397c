import { describe, expect, it } from 'vitest';
import { createLitellmClient, type LitellmClientOptions } from './client.js';
import {
  LitellmAuthError,
  LitellmHttpError,
  LitellmNoDatabaseError,
  LitellmResponseError,
  LitellmSyncError,
  LitellmTimeoutError,
  LitellmUnreachableError,
} from './errors.js';

const MASTER = 'sk-master-secret-1234';

type Handler = (request: Request, call: number) => Response | Promise<Response>;

/** A fetch that never opens a socket; records every request. */
function fakeFetch(handler: Handler) {
  const requests: Request[] = [];
  const bodies: string[] = [];
  const fetch = (async (input: string | URL | Request, init?: RequestInit) => {
    const request = input instanceof Request ? input : new Request(input, init);
    requests.push(request);
    bodies.push(await request.clone().text());
    return handler(request, requests.length);
  }) as typeof globalThis.fetch;
  return { fetch, requests, bodies };
}

/** A fake clock that `sleep` advances, so backoff is checked without waiting. */
function fakeTime() {
  let now = 1_000_000;
  const sleeps: number[] = [];
  return {
    sleeps,
    now: () => now,
    sleep: async (ms: number) => {
      sleeps.push(ms);
      now += ms;
    },
    advance: (ms: number) => {
      now += ms;
    },
  };
}

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
}

function connectionError(code: string): TypeError {
  return Object.assign(new TypeError('fetch failed'), {
    cause: Object.assign(new Error(`connect ${code} 127.0.0.1:4000`), { code }),
  });
}

function client(handler: Handler, options: Partial<LitellmClientOptions> = {}) {
  const fake = fakeFetch(handler);
  const time = fakeTime();
  const litellm = createLitellmClient({
    baseUrl: 'http://127.0.0.1:4000/',
    masterKey: MASTER,
    fetch: fake.fetch,
    sleep: time.sleep,
    now: time.now,
    ...options,
  });
  return { litellm, requests: fake.requests, bodies: fake.bodies, time };
}

const proxyError = (message: string, type: string, code: string, param: string | null = 'None') => ({
  error: { message, type, param, code },
});

describe('requests', () => {
  it('sends the master key only as a Bearer header', async () => {
    const { litellm, requests } = client(() => json(200, { data: [] }));
    await litellm.modelInfo({ modelId: 'inferstack-a' });
    const [request] = requests;
    expect(request?.headers.get('authorization')).toBe(`Bearer ${MASTER}`);
    expect(request?.url).toBe('http://127.0.0.1:4000/model/info?litellm_model_id=inferstack-a');
    expect(request?.url).not.toContain(MASTER);
  });

  it('sends no Authorization header without a master key', async () => {
    const { litellm, requests } = client(() => json(200, { data: [] }), { masterKey: undefined });
    await litellm.models();
    expect(requests[0]?.headers.has('authorization')).toBe(false);
  });

  it('posts /model/new and /model/delete bodies', async () => {
    const { litellm, requests, bodies } = client((request) =>
      request.url.endsWith('/model/delete') ? json(200, { message: 'Model: x deleted successfully' }) : json(200, {}),
    );
    const entry = { model_name: 'm', litellm_params: { model: 'hosted_vllm/m' }, model_info: { id: 'x' } };
    await litellm.addModel(entry);
    expect(await litellm.deleteModel('x')).toEqual({ message: 'Model: x deleted successfully' });
    expect(requests.map((r) => `${r.method} ${new URL(r.url).pathname}`)).toEqual(['POST /model/new', 'POST /model/delete']);
    expect(bodies.map((body) => JSON.parse(body) as unknown)).toEqual([entry, { id: 'x' }]);
  });

  it('parses /model/info and fills missing objects', async () => {
    const { litellm } = client(() =>
      json(200, { data: [{ model_name: 'a', litellm_params: { model: 'x' }, model_info: { id: '1', db_model: false } }, { model_name: 'b' }] }),
    );
    expect(await litellm.modelInfo()).toEqual([
      { model_name: 'a', litellm_params: { model: 'x' }, model_info: { id: '1', db_model: false } },
      { model_name: 'b', litellm_params: {}, model_info: {} },
    ]);
  });

  it('rejects a /model/info body that is not LiteLLM', async () => {
    const { litellm } = client(() => new Response('<html>hello</html>', { status: 200 }));
    await expect(litellm.modelInfo()).rejects.toBeInstanceOf(LitellmResponseError);
    const other = client(() => json(200, { models: [] })).litellm;
    await expect(other.modelInfo()).rejects.toThrow(/no "data" list/);
  });

  it('lists model groups from /v1/models', async () => {
    const { litellm } = client(() => json(200, { data: [{ id: 'a', object: 'model' }], object: 'list' }));
    expect(await litellm.models()).toEqual([{ id: 'a', object: 'model' }]);
  });
});

describe('error shapes', () => {
  it('keeps status, message, type and code of {"error": {...}}', async () => {
    const { litellm } = client(() =>
      json(400, proxyError("{'error': 'Model with id=x not found in db'}", 'auth_error', '400')),
    );
    const error = await litellm.deleteModel('x').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LitellmHttpError);
    expect(error).toMatchObject({
      status: 400,
      litellmMessage: 'Model with id=x not found in db',
      type: 'auth_error',
      code: '400',
      method: 'POST',
      path: '/model/delete',
    });
    expect((error as LitellmHttpError).param).toBeUndefined(); // LiteLLM's "None"
  });

  it('reads FastAPI {"detail": "..."} and validation lists', async () => {
    const notFound = client(() => json(404, { detail: 'Not Found' })).litellm;
    await expect(notFound.modelInfo()).rejects.toMatchObject({ status: 404, litellmMessage: 'Not Found' });

    const invalid = client(() =>
      json(422, { detail: [{ loc: ['body', 'model_name'], msg: 'Field required', type: 'missing' }] }),
    ).litellm;
    await expect(invalid.addModel({ model_name: '', litellm_params: { model: 'x' } })).rejects.toMatchObject({
      status: 422,
      litellmMessage: 'body.model_name: Field required',
    });

    const dictDetail = client(() => json(403, { detail: { error: 'not allowed' } })).litellm;
    await expect(dictDetail.models()).rejects.toMatchObject({ status: 403, litellmMessage: 'not allowed' });
  });

  it('keeps a non-JSON body as the message', async () => {
    const { litellm } = client(() => new Response('Internal Server Error', { status: 500 }));
    await expect(litellm.modelInfo()).rejects.toMatchObject({ status: 500, litellmMessage: 'Internal Server Error' });
  });

  it('maps 401 to LitellmAuthError', async () => {
    const { litellm } = client(() =>
      json(401, proxyError('Authentication Error, No api key passed in.', 'auth_error', '401')),
    );
    const error = await litellm.modelInfo().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LitellmAuthError);
    expect((error as LitellmAuthError).hint).toMatch(/master key/);
  });

  it('maps a wrong key on a proxy without DB (400 no_db_connection) to LitellmAuthError', async () => {
    const { litellm } = client(() => json(400, proxyError('No connected db.', 'no_db_connection', '400', null)));
    await expect(litellm.modelInfo()).rejects.toBeInstanceOf(LitellmAuthError);
  });

  it('maps 500 "No DB Connected" to LitellmNoDatabaseError advising config-file mode', async () => {
    const message = `{'error': "No DB Connected. Here's how to do it - https://docs.litellm.ai/docs/proxy/virtual_keys"}`;
    const { litellm } = client(() => json(500, proxyError(message, 'auth_error', '500')));
    const error = await litellm.addModel({ model_name: 'm', litellm_params: { model: 'x' } }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LitellmNoDatabaseError);
    expect(error).toMatchObject({ status: 500, litellmMessage: expect.stringMatching(/^No DB Connected\./) });
    expect((error as LitellmNoDatabaseError).hint).toMatch(/config/);
  });

  it('never puts the master key into an error message', async () => {
    const { litellm } = client(() =>
      json(401, proxyError(`Invalid proxy server token passed. Received API Key = ${MASTER}`, 'auth_error', '401')),
    );
    const error = (await litellm.modelInfo().catch((e: unknown) => e)) as Error;
    expect(error.message).not.toContain(MASTER);
    expect(JSON.stringify(error)).not.toContain(MASTER);
    expect(error.message).toContain('***');
  });

  it('all errors share the base class', async () => {
    const { litellm } = client(() => json(418, {}));
    await expect(litellm.models()).rejects.toBeInstanceOf(LitellmSyncError);
  });
});

describe('retries', () => {
  it('retries connection refused with exponential backoff until the proxy answers', async () => {
    const { litellm, requests, time } = client((_, call) => {
      if (call <= 3) throw connectionError('ECONNREFUSED');
      return json(200, { data: [] });
    });
    expect(await litellm.modelInfo()).toEqual([]);
    expect(requests).toHaveLength(4);
    expect(time.sleeps).toEqual([250, 500, 1000]);
  });

  it('retries connection reset and 502/503/504', async () => {
    const answers = [
      () => {
        throw connectionError('ECONNRESET');
      },
      () => json(502, {}),
      () => json(503, { detail: 'Service Unhealthy' }),
      () => new Response('gateway timeout', { status: 504 }),
      () => json(200, { data: [] }),
    ];
    const { litellm, requests } = client((_, call) => answers[call - 1]!());
    await litellm.modelInfo();
    expect(requests).toHaveLength(5);
  });

  it.each([
    [400, proxyError('bad', 'bad_request_error', '400')],
    [401, proxyError('Authentication Error, No api key passed in.', 'auth_error', '401')],
    [404, { detail: 'Not Found' }],
    [500, proxyError(`{'error': "No DB Connected. Here's how"}`, 'auth_error', '500')],
    [500, proxyError(`{'error': 'Failed to add model to db. Check your server logs for more details.'}`, 'auth_error', '500')],
  ])('never retries %i', async (status, body) => {
    const { litellm, requests, time } = client(() => json(status, body));
    await expect(litellm.addModel({ model_name: 'm', litellm_params: { model: 'x' } })).rejects.toBeInstanceOf(
      LitellmHttpError,
    );
    expect(requests).toHaveLength(1);
    expect(time.sleeps).toEqual([]);
  });

  it('does not retry an address that does not resolve', async () => {
    const { litellm, requests } = client(() => {
      throw connectionError('ENOTFOUND');
    });
    await expect(litellm.models()).rejects.toMatchObject({ code: 'ENOTFOUND', attempts: 1 });
    expect(requests).toHaveLength(1);
  });

  it('gives up after the configured attempts', async () => {
    const { litellm, requests, time } = client(
      () => {
        throw connectionError('ECONNREFUSED');
      },
      { retry: { attempts: 4, initialDelayMs: 100, factor: 3 } },
    );
    const error = await litellm.modelInfo().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LitellmUnreachableError);
    expect(error).toMatchObject({ attempts: 4, code: 'ECONNREFUSED', baseUrl: 'http://127.0.0.1:4000' });
    expect(requests).toHaveLength(4);
    expect(time.sleeps).toEqual([100, 300, 900]);
  });

  it('gives up when the total time budget would be exceeded, whatever the attempt count', async () => {
    const { litellm, requests, time } = client(() => json(503, {}), {
      retry: { attempts: 100, initialDelayMs: 1000, factor: 2, maxDelayMs: 4000, maxElapsedMs: 10_000 },
    });
    await expect(litellm.modelInfo()).rejects.toMatchObject({ status: 503 });
    // 1000 + 2000 + 4000 = 7000; one more 4000 would pass 10000
    expect(time.sleeps).toEqual([1000, 2000, 4000]);
    expect(requests).toHaveLength(4);
  });

  it('retry: false makes one attempt', async () => {
    const { litellm, requests } = client(() => json(503, {}), { retry: false });
    await expect(litellm.models()).rejects.toMatchObject({ status: 503 });
    expect(requests).toHaveLength(1);
  });

  it('times out a hanging request; repeats a GET but never a POST', async () => {
    const hang: Handler = (request) =>
      new Promise((_, reject) => request.signal.addEventListener('abort', () => reject(request.signal.reason)));
    const get = client(hang, { timeoutMs: 20, retry: { attempts: 2, initialDelayMs: 1 } });
    await expect(get.litellm.modelInfo()).rejects.toBeInstanceOf(LitellmTimeoutError);
    expect(get.requests).toHaveLength(2);

    const post = client(hang, { timeoutMs: 20, retry: { attempts: 2, initialDelayMs: 1 } });
    const error = await post.litellm.addModel({ model_name: 'm', litellm_params: { model: 'x' } }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LitellmTimeoutError);
    expect(error).toMatchObject({ operation: 'POST /model/new', timeoutMs: 20 });
    expect(post.requests).toHaveLength(1);
  });

  it('rejects invalid retry settings', () => {
    expect(() => createLitellmClient({ baseUrl: 'http://x', retry: { attempts: 0 } })).toThrow(RangeError);
    expect(() => createLitellmClient({ baseUrl: 'x:4000' })).toThrow(LitellmSyncError);
  });
});

describe('readiness', () => {
  it('returns status and db of /health/readiness without retrying', async () => {
    const { litellm } = client(() => json(200, { status: 'healthy', db: 'Not connected' }));
    expect(await litellm.readiness()).toEqual({
      status: 'healthy',
      db: 'Not connected',
      raw: { status: 'healthy', db: 'Not connected' },
    });
    const down = client(() => json(503, { status: 'shutting_down' }));
    await expect(down.litellm.readiness()).rejects.toMatchObject({ status: 503 });
    expect(down.requests).toHaveLength(1);
  });

  it('waitUntilReady polls through refused connections and 503 until healthy', async () => {
    const { litellm, requests, time } = client((_, call) => {
      if (call <= 2) throw connectionError('ECONNREFUSED');
      if (call === 3) return json(503, { status: 'shutting_down' });
      return json(200, { status: 'healthy', db: 'Not connected' });
    });
    expect(await litellm.waitUntilReady({ timeoutMs: 10_000, intervalMs: 200 })).toMatchObject({ status: 'healthy' });
    expect(requests).toHaveLength(4);
    expect(time.sleeps).toEqual([200, 200, 200]);
  });

  it('waitUntilReady times out with the last failure as cause', async () => {
    const { litellm, time } = client(() => {
      throw connectionError('ECONNREFUSED');
    });
    const error = await litellm.waitUntilReady({ timeoutMs: 2000, intervalMs: 500 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LitellmTimeoutError);
    expect((error as Error).cause).toBeInstanceOf(LitellmUnreachableError);
    expect(time.sleeps.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(2000);
  });

  it('waitUntilReady fails at once on an answer that is not "not ready yet"', async () => {
    const { litellm, requests } = client(() => json(404, { detail: 'Not Found' }));
    await expect(litellm.waitUntilReady({ timeoutMs: 10_000 })).rejects.toMatchObject({ status: 404 });
    expect(requests).toHaveLength(1);
  });

  it('waitUntilReady does not let one hanging probe outlast the wait', async () => {
    const hang: Handler = (request) =>
      new Promise((_, reject) => request.signal.addEventListener('abort', () => reject(request.signal.reason)));
    const { litellm } = client(hang, { timeoutMs: 30_000, sleep: undefined, now: undefined });
    const started = Date.now();
    await expect(litellm.waitUntilReady({ timeoutMs: 150, intervalMs: 20 })).rejects.toBeInstanceOf(LitellmTimeoutError);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('waitUntilReady stops when aborted', async () => {
    const controller = new AbortController();
    const { litellm } = client(
      () => {
        controller.abort(new Error('stop'));
        throw connectionError('ECONNREFUSED');
      },
      { sleep: undefined, now: undefined },
    );
    await expect(litellm.waitUntilReady({ timeoutMs: 10_000, signal: controller.signal })).rejects.toThrow('stop');
  });
});
