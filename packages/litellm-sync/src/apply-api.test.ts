// API mode against the fake LiteLLM of test/fake-litellm-api.mjs (DB mode as LiteLLM's source
// has it; summarised in docs/upstream/litellm.md). Loopback only, ~1 s: it runs in the unit project.
import { afterEach, describe, expect, it } from 'vitest';
import { type FakeLitellm, type FakeLitellmOptions, startFakeLitellm } from '../test/fake-litellm-api.mjs';
import { applyGatewaySyncApi } from './apply-api.js';
import { createLitellmClient, type LitellmClient } from './client.js';
import { LitellmAuthError, LitellmNoDatabaseError, type LitellmSyncError } from './errors.js';
import { planGatewaySync } from './plan.js';
import type { DesiredDeployment } from './types.js';

const MASTER = 'sk-master-fake-1234';
const running: FakeLitellm[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((fake) => fake.close()));
});

/** `clientKey: null` = a client without any key. */
async function setup(options: FakeLitellmOptions = {}, clientKey: string | null = MASTER) {
  const fake = await startFakeLitellm({ masterKey: MASTER, ...options });
  running.push(fake);
  const client = createLitellmClient({
    baseUrl: fake.url,
    ...(clientKey ? { masterKey: clientKey } : {}),
    retry: { initialDelayMs: 5 },
  });
  return { fake, client };
}

/** One sync as the CLI does it: read, plan, apply. */
const DIGEST_KEY = 'test-digest-secret-0123456789';

async function sync(client: LitellmClient, desired: DesiredDeployment[], verify = { timeoutMs: 2000, intervalMs: 20 }) {
  // Keyed as inferstack's stack keys it: a changed api_key is seen through the digest.
  const changes = planGatewaySync(desired, await client.modelInfo(), { digestKey: DIGEST_KEY });
  const report = await applyGatewaySyncApi(changes, { client, verify });
  return { changes, report };
}

const d = (key: string, served = key, apiKey?: string): DesiredDeployment => ({
  modelKey: key,
  name: `inference-${key}`, apiBase: `http://inference-${key}:8000/v1`,
  servedModelName: served,
  ...(apiKey ? { apiKey } : {}),
});

const handConfig = {
  model_name: 'gpt-4o',
  litellm_params: { model: 'openai/gpt-4o', api_key: 'sk-openai' },
  model_info: { id: 'config-gpt' },
};

describe('applyGatewaySyncApi against a LiteLLM with a database', () => {
  it('adds the running models, leaves hand-made entries alone, and converges', async () => {
    const { fake, client } = await setup({ configModels: [handConfig] });
    await client.addModel({ model_name: 'by-hand', litellm_params: { model: 'openai/x' }, model_info: { id: 'db-hand' } });

    const { changes, report } = await sync(client, [d('a'), d('b', 'shared'), d('c', 'shared', 'vllm-key')]);
    expect(changes.map((c) => c.kind)).toEqual(['add', 'add', 'add']);
    expect(report).toMatchObject({ ok: true, verified: true, failed: [], removed: [], replaced: [] });
    expect(report.added.sort()).toEqual(['inferstack-inference-a', 'inferstack-inference-b', 'inferstack-inference-c']);

    expect((await client.models()).map((m) => m.id).sort()).toEqual(['a', 'by-hand', 'gpt-4o', 'shared']);
    const stored = fake.models.find((m) => m.id === 'inferstack-inference-c');
    expect(stored?.litellm_params).toEqual({
      model: 'hosted_vllm/shared',
      api_base: 'http://inference-c:8000/v1',
      api_key: 'vllm-key',
    });
    // /model/info hides the key, yet the next plan is empty: the digest in model_info carries it.
    const info = await client.modelInfo({ modelId: 'inferstack-inference-c' });
    expect(info[0]?.litellm_params).not.toHaveProperty('api_key');
    expect(info[0]?.litellm_params).toHaveProperty('use_in_pass_through', false);
    expect(planGatewaySync([d('a'), d('b', 'shared'), d('c', 'shared', 'vllm-key')], await client.modelInfo(), { digestKey: DIGEST_KEY })).toEqual([]);
  });

  it('removes stopped models and replaces one whose api_key changed', async () => {
    const { fake, client } = await setup({ configModels: [handConfig] });
    await sync(client, [d('a'), d('b', 'b', 'key-1')]);

    const { changes, report } = await sync(client, [d('b', 'b', 'key-2')]);
    expect(changes.map((c) => `${c.kind}`)).toEqual(['replace', 'remove']);
    expect(report).toMatchObject({ ok: true, removed: ['inferstack-inference-a'], replaced: ['inferstack-inference-b'] });
    expect(fake.models.map((m) => [m.id, m.litellm_params['api_key']])).toEqual([
      ['config-gpt', 'sk-openai'],
      ['inferstack-inference-b', 'key-2'],
    ]);
    expect(planGatewaySync([d('b', 'b', 'key-2')], await client.modelInfo(), { digestKey: DIGEST_KEY })).toEqual([]);
  });

  it('moves a route to another backend without a gap: the new entry is added before the old one is deleted', async () => {
    const { fake, client } = await setup();
    await sync(client, [d('a')]);
    // The model's container is replaced by one of another name (a rolling replacement).
    const next: DesiredDeployment = { modelKey: 'a', name: 'inference-a-next', apiBase: 'http://inference-a-next:8000/v1', servedModelName: 'a' };
    const { report } = await sync(client, [next]);
    expect(report.ok).toBe(true);
    const calls = fake.requests.filter((r) => r.path === '/model/new' || r.path === '/model/delete').map((r) => r.path);
    expect(calls.slice(-2)).toEqual(['/model/new', '/model/delete']);
    expect(fake.models.map((m) => m.id)).toEqual(['inferstack-inference-a-next']);
  });

  it("migrates the reference tool's organization-marked entries", async () => {
    const { fake, client } = await setup();
    for (const [id, key] of [
      ['model-0', 'a'],
      ['model-1', 'gone'],
    ] as const) {
      await client.addModel({
        model_name: key,
        litellm_params: {
          model: `hosted_vllm/${key}`,
          api_base: `http://inference-${key}:8000/v1`,
          organization: 'inference-vllm',
        },
        model_info: { id },
      });
    }
    const before = fake.requests.length;
    const { changes, report } = await sync(client, [d('a')]);
    expect(changes.map((c) => c.kind)).toEqual(['replace', 'remove']);
    expect(report.ok).toBe(true);
    expect(fake.models.map((m) => m.id)).toEqual(['inferstack-inference-a']);
    expect(fake.models[0]?.litellm_params).not.toHaveProperty('organization');
    // ours is added before the old entry goes: the model never disappears
    const writes = fake.requests
      .slice(before)
      .filter((r) => r.method === 'POST' && !r.body.includes('model-1'))
      .map((r) => `${r.path} ${r.body}`);
    expect(writes[0]).toMatch(/^\/model\/new .*inferstack-inference-a/);
    expect(writes[1]).toBe('/model/delete {"id":"model-0"}');
  });

  it("reports a reference-tool entry from the proxy's config file as not deletable through the API", async () => {
    const { fake, client } = await setup({
      configModels: [
        {
          model_name: 'old',
          litellm_params: { model: 'hosted_vllm/old', api_base: 'http://inference-old:8000/v1', organization: 'inference-vllm' },
          model_info: { id: 'cfg-old' },
        },
      ],
    });
    const { report } = await sync(client, [], { timeoutMs: 100, intervalMs: 20 });
    expect(report).toMatchObject({ ok: false, removed: [] });
    expect(report.failed[0]?.error.message).toMatch(/cfg-old comes from the gateway's config file/);
    expect(fake.models.map((m) => m.id)).toEqual(['cfg-old']);
  });

  it("never writes over an entry of the gateway's config file: reported as failed, the rest applied", async () => {
    // The user's config file has an entry with the id a deployment of ours would get.
    const clash = { model_name: 'theirs', litellm_params: { model: 'openai/theirs' }, model_info: { id: 'inferstack-inference-a' } };
    const { fake, client } = await setup({ configModels: [clash, handConfig] });
    const { report } = await sync(client, [d('a'), d('b')]);
    expect(report).toMatchObject({ ok: false, verified: true, added: ['inferstack-inference-b'], removed: [], replaced: [] });
    expect(report.failed).toHaveLength(1);
    const error = report.failed[0]!.error as LitellmSyncError;
    expect(error.message).toMatch(/inferstack-inference-a .*config file/);
    expect(error.hint).toMatch(/remove .*inferstack-inference-a.* from the gateway's config file.*or use config-file sync/);
    // Nothing was sent for it, and the user's entry still routes where it did.
    expect(fake.requests.filter((r) => r.path === '/model/new').map((r) => JSON.parse(r.body).model_info.id)).toEqual(['inferstack-inference-b']);
    const theirs = await client.modelInfo({ modelId: 'inferstack-inference-a' });
    expect(theirs[0]).toMatchObject({ model_name: 'theirs', model_info: { db_model: false } });
  });

  // Writes served by one worker, reads by the other, which sees the DB only when it reloads.
  const writesToFirst = ({ method }: { method: string }) => (method === 'POST' ? 0 : 1);

  it('waits for /model/info to show the change (the worker that answers reloads from the DB later)', async () => {
    const { fake, client } = await setup({ workers: 2, reloadIntervalMs: 300, balance: writesToFirst });
    const { report } = await sync(client, [d('a'), d('b')]);
    expect(report).toMatchObject({ ok: true, verified: true });
    const readBack = fake.requests.filter((r) => r.path === '/model/info').slice(1);
    expect(readBack.length).toBeGreaterThanOrEqual(2);
  });

  it('reports what did not show up in time instead of claiming success', async () => {
    const { client } = await setup({ workers: 2, reloadIntervalMs: 60_000, balance: writesToFirst });
    const { report } = await sync(client, [d('a')], { timeoutMs: 200, intervalMs: 50 });
    expect(report).toMatchObject({ ok: false, verified: false, pending: ['inferstack-inference-a'], added: ['inferstack-inference-a'] });
  });

  it('reads nothing back with verify: false (a caller that asks every worker itself)', async () => {
    const { fake, client } = await setup({ workers: 2, reloadIntervalMs: 60_000, balance: writesToFirst });
    const changes = planGatewaySync([d('a')], await client.modelInfo());
    const before = fake.requests.length;
    const report = await applyGatewaySyncApi(changes, { client, verify: false });
    expect(report).toMatchObject({ ok: true, verified: false, pending: [], added: ['inferstack-inference-a'] });
    expect(fake.requests.slice(before).map((r) => r.path)).toEqual(['/model/new']);
  });

  it('retries a proxy that answers 503 for a moment', async () => {
    const { fake, client } = await setup();
    fake.failNext(2, 503);
    const { report } = await sync(client, [d('a')]);
    expect(report.ok).toBe(true);
    expect(fake.requests.filter((r) => r.path === '/model/info' && r.method === 'GET').length).toBeGreaterThanOrEqual(2);
  });

  it('treats a model another run already deleted as deleted', async () => {
    const { client } = await setup();
    await sync(client, [d('a')]);
    const changes = planGatewaySync([], await client.modelInfo());
    await client.deleteModel('inferstack-inference-a');
    const report = await applyGatewaySyncApi(changes, { client, verify: { timeoutMs: 500, intervalMs: 20 } });
    expect(report).toMatchObject({ ok: true, removed: ['inferstack-inference-a'] });
  });

  it('reports a change that fails and still applies the others', async () => {
    const { client } = await setup();
    // Someone added an entry by hand under the id we would use, without our mark.
    await client.addModel({ model_name: 'x', litellm_params: { model: 'openai/x' }, model_info: { id: 'inferstack-inference-a' } });
    const { report } = await sync(client, [d('a'), d('b')]);
    expect(report.ok).toBe(false);
    expect(report.added).toEqual(['inferstack-inference-b']);
    expect(report.failed).toHaveLength(1);
    expect(report.failed[0]?.error.message).toMatch(/500: Failed to add model to db/);
    expect(report.verified).toBe(true); // the rest is there
  });

  it('throws LitellmNoDatabaseError on a proxy without database, before changing anything else', async () => {
    const { fake, client } = await setup({ db: false });
    const changes = planGatewaySync([d('a'), d('b'), d('c')], await client.modelInfo());
    const error = await applyGatewaySyncApi(changes, { client, concurrency: 1 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LitellmNoDatabaseError);
    expect((error as LitellmNoDatabaseError).hint).toMatch(/config/);
    expect(fake.requests.filter((r) => r.path === '/model/new')).toHaveLength(1);
  });

  it('throws LitellmAuthError for a missing key (401) and a wrong one (401 with DB, 400 without)', async () => {
    const none = await setup({}, null);
    await expect(none.client.modelInfo()).rejects.toMatchObject({ status: 401, constructor: LitellmAuthError });
    const wrong = await setup({}, 'sk-wrong-key-000');
    await expect(wrong.client.modelInfo()).rejects.toMatchObject({ status: 401 });
    const wrongNoDb = await setup({ db: false }, 'sk-wrong-key-000');
    const error = await wrongNoDb.client.modelInfo().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LitellmAuthError);
    expect(error).toMatchObject({ status: 400, type: 'no_db_connection' });
    // the key never travels in the URL
    expect(wrong.fake.requests.every((r) => !`${r.path}${r.search}`.includes('sk-'))).toBe(true);
  });

  it('readiness needs no key', async () => {
    const { client } = await setup({}, null);
    expect(await client.waitUntilReady({ timeoutMs: 1000 })).toMatchObject({ status: 'healthy', db: 'connected' });
  });
});
