// The fake LiteLLM of test/fake-litellm-api.mjs answers as the real proxy in DB mode does on the
// points API mode depends on (docs/upstream/litellm.md): several workers that each see the DB on
// their own schedule, a config entry's id taken over by /model/new, the status codes and bodies
// of what goes wrong. Loopback only: it runs in the unit project.
import { Agent, request } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { type FakeLitellm, type FakeLitellmOptions, startFakeLitellm } from '../test/fake-litellm-api.mjs';
import { createLitellmClient } from './client.js';
import { LitellmAuthError } from './errors.js';

const MASTER = 'sk-master-fake-1234';
const running: FakeLitellm[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((fake) => fake.close()));
});

async function start(options: FakeLitellmOptions = {}): Promise<FakeLitellm> {
  const fake = await startFakeLitellm({ masterKey: MASTER, ...options });
  running.push(fake);
  return fake;
}

/** One request on a connection of its own (`connection: close`): the next worker takes it. */
function call(fake: FakeLitellm, method: string, path: string, options: { body?: string; key?: string | null } = {}): Promise<{ status: number; json: any }> {
  const key = options.key === undefined ? MASTER : options.key;
  return new Promise((resolve, reject) => {
    const req = request(`${fake.url}${path}`, {
      method,
      headers: { connection: 'close', 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}) },
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(Buffer.concat(chunks).toString('utf8')) }));
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

const entry = (id: string) => ({ model_name: id, litellm_params: { model: `hosted_vllm/${id}`, api_base: `http://${id}:8000/v1` }, model_info: { id } });
const idsOf = (answer: { json: { data: Array<{ model_info: { id: string } }> } }) => answer.json.data.map((e) => e.model_info.id);

describe('the fake LiteLLM with several workers', () => {
  it('applies an admin call at once in the worker that served it, in the others at their next reload', async () => {
    const fake = await start({ workers: 2, reloadIntervalMs: 400 });
    const added = await call(fake, 'POST', '/model/new', { body: JSON.stringify(entry('a')) });
    expect(added.status).toBe(200);
    const first = fake.requests.at(-1)!.worker;
    // The next connection goes to the other worker: it does not route to it yet.
    const other = await call(fake, 'GET', '/model/info');
    expect(fake.requests.at(-1)!.worker).not.toBe(first);
    expect(idsOf(other)).toEqual([]);
    expect(fake.workers.map((w) => w.ids)).toEqual(expect.arrayContaining([['a'], []]));
    await new Promise((r) => setTimeout(r, 450));
    expect(fake.workers.map((w) => w.ids)).toEqual([['a'], ['a']]);

    // A deletion: the serving worker drops it, the other keeps routing to it until it reloads.
    expect((await call(fake, 'POST', '/model/delete', { body: '{"id":"a"}' })).status).toBe(200);
    expect(fake.workers.map((w) => w.ids).sort()).toEqual([[], ['a']]);
    fake.reloadAll();
    expect(fake.workers.map((w) => w.ids)).toEqual([[], []]);
  });

  it('keeps a connection with its worker (uvicorn), or spreads requests (balance: request)', async () => {
    const fake = await start({ workers: 2 });
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    for (let i = 0; i < 4; i++) {
      await new Promise((resolve) => request(`${fake.url}/health/readiness`, { agent }, (res) => res.resume().on('end', resolve)).end());
    }
    agent.destroy();
    expect(fake.requests.map((r) => r.worker)).toEqual([4100, 4100, 4100, 4100]);

    const spread = await start({ workers: 2, balance: 'request' });
    const other = createLitellmClient({ baseUrl: spread.url, masterKey: MASTER });
    for (let i = 0; i < 4; i++) await other.modelInfo();
    expect(spread.requests.map((r) => r.worker)).toEqual([4100, 4101, 4100, 4101]);
  });

  it("answers the plugin's state route per worker (master key only), and 404 without the plugin", async () => {
    const fake = await start({ workers: 2, reloadIntervalMs: 60_000, plugin: true });
    await call(fake, 'POST', '/model/new', { body: JSON.stringify(entry('a')) });
    const states = [await call(fake, 'GET', '/inferstack/state'), await call(fake, 'GET', '/inferstack/state')];
    expect(states.map((s) => s.json).sort((x, y) => x.pid - y.pid)).toEqual([
      { pid: 4100, routes: {}, models: ['a'] },
      { pid: 4101, routes: {}, models: [] },
    ]);
    expect((await call(fake, 'GET', '/inferstack/state', { key: null })).status).toBe(401);
    const without = await start({});
    expect((await call(without, 'GET', '/inferstack/state')).status).toBe(404);
  });
});

describe('the fake LiteLLM answers as the real proxy', () => {
  it("replaces a config-file entry when /model/new is given its id (200, db_model now true)", async () => {
    const fake = await start({ configModels: [{ model_name: 'gpt', litellm_params: { model: 'openai/gpt' }, model_info: { id: 'cfg' } }] });
    const answer = await call(fake, 'POST', '/model/new', { body: JSON.stringify(entry('cfg')) });
    expect(answer.status).toBe(200);
    const info = await call(fake, 'GET', '/model/info');
    expect(info.json.data).toEqual([expect.objectContaining({ model_name: 'cfg', model_info: expect.objectContaining({ id: 'cfg', db_model: true }) })]);
  });

  it('answers 400 for /model/info of an unknown id; the client reads that as no entry', async () => {
    const fake = await start({});
    const answer = await call(fake, 'GET', '/model/info?litellm_model_id=nope');
    expect(answer).toEqual({ status: 400, json: { detail: { error: 'Model id = nope not found on litellm proxy' } } });
    const client = createLitellmClient({ baseUrl: fake.url, masterKey: MASTER });
    expect(await client.modelInfo({ modelId: 'nope' })).toEqual([]);
    await client.addModel(entry('a'));
    expect((await client.modelInfo({ modelId: 'a' })).map((e) => e.model_info.id)).toEqual(['a']);
  });

  it('answers 422 in FastAPI\'s shape for a body that is not JSON (before auth) or lacks a field', async () => {
    const fake = await start({});
    for (const path of ['/model/new', '/model/delete']) {
      const answer = await call(fake, 'POST', path, { body: 'not json', key: null });
      expect(answer.status).toBe(422);
      expect(answer.json).toEqual({ detail: [{ type: 'json_invalid', loc: ['body', expect.any(Number)], msg: 'JSON decode error' }] });
    }
    const missing = await call(fake, 'POST', '/model/new', { body: '{"litellm_params": {"model": "x"}}' });
    expect(missing).toEqual({ status: 422, json: { detail: [{ type: 'missing', loc: ['body', 'model_name'], msg: 'Field required' }] } });
  });

  it('refuses a key that is not the master key: 401 token_not_found_in_db with a DB, 400 no_db_connection without', async () => {
    const fake = await start({});
    const wrong = await call(fake, 'GET', '/model/info', { key: 'sk-wrong-key-000' });
    expect(wrong.status).toBe(401);
    expect(wrong.json.error).toMatchObject({ type: 'token_not_found_in_db', param: 'key', code: '401' });
    const client = createLitellmClient({ baseUrl: fake.url, masterKey: 'sk-wrong-key-000', retry: false });
    await expect(client.modelInfo()).rejects.toBeInstanceOf(LitellmAuthError);
    const noDb = await start({ db: false });
    expect((await call(noDb, 'GET', '/model/info', { key: 'sk-wrong-key-000' })).json.error).toMatchObject({ type: 'no_db_connection', code: '400' });
  });
});
