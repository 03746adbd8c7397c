// API mode with the managed gateway, against the fake LiteLLM of litellm-sync (DB mode, which
// cannot run here) with two workers that each reload from the DB on their own schedule, and
// inferstack's state route: a sync returns only once every worker routes as it should, added
// entries there and removed ones gone. Loopback only: it runs in the unit project.
import { parseConfig, type StackConfig } from '@inferstack/config';
import type { ModelContainer } from '@inferstack/docker-ops';
import { LitellmSyncError } from '@inferstack/litellm-sync';
import { afterEach, describe, expect, it } from 'vitest';
import { type FakeLitellm, type FakeLitellmOptions, startFakeLitellm } from '../../../litellm-sync/test/fake-litellm-api.mjs';
import { confirmOnEveryWorker, syncGateway } from './sync.js';

const MASTER = 'sk-api-mode-master-0123456789';
const running: FakeLitellm[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((fake) => fake.close()));
});

/** Docker is not needed for a sync of a gateway that runs: any use of it is a failure. */
const noDocker = () => Promise.reject(new Error('the sync asked for Docker'));

async function setup(options: FakeLitellmOptions = {}): Promise<{ fake: FakeLitellm; config: StackConfig }> {
  // The client's admin calls and read-backs all reach the first worker (a kept-alive connection
  // stays with its worker); the state route, asked on a connection of its own each time, each
  // worker in turn. The other worker reloads only when the test says so (reloadAll), unless a
  // test sets an interval.
  let turn = 0;
  const balance = ({ path }: { path: string }) => (path === '/inferstack/state' ? turn++ : 0);
  const fake = await startFakeLitellm({ masterKey: MASTER, workers: 2, reloadIntervalMs: 600_000, plugin: true, balance, ...options });
  running.push(fake);
  const parsed = parseConfig('name: apis\ngateway: {mode: managed, sync: api}\nmodels:\n  a: {model: m/a, gpus: none}\n  b: {model: m/b, gpus: none}\n', {
    file: '/p/model_config/models.yaml',
    projectDir: '/p',
    settings: { LITELLM_MASTER_KEY: MASTER, LITELLM_NUM_WORKERS: '2' },
  });
  return { fake, config: { ...parsed, gateway: { ...parsed.gateway, url: fake.url } } };
}

/** A serving model container, as docker-ops lists it. */
const serving = (key: string): ModelContainer =>
  ({ id: key, name: `inference-${key}`, key, addressName: `inference-${key}-g1`, image: 'vllm', state: 'running', health: 'healthy', status: 'Up', created: 0, labels: {}, addresses: {}, networks: [] }) as unknown as ModelContainer;

const idOf = (key: string) => `inferstack-inference-${key}-g1`;
const later = (ms: number, fn: () => void) => setTimeout(fn, ms);

describe('syncGateway, API mode, managed gateway with two workers', () => {
  it('returns only once the slower worker routes to the added entries too', async () => {
    const { fake, config } = await setup();
    const started = Date.now();
    later(600, () => fake.reloadAll());
    const result = await syncGateway(noDocker, config, [serving('a'), serving('b')], { applyTimeoutMs: 10_000 });
    expect(result).toMatchObject({ mode: 'api', added: 2, removed: 0, applied: true });
    expect(Date.now() - started).toBeGreaterThanOrEqual(550);
    expect(fake.workers.map((w) => w.ids.sort())).toEqual([[idOf('a'), idOf('b')], [idOf('a'), idOf('b')]]);
  });

  it('returns only once a removed entry is gone from every worker', async () => {
    const { fake, config } = await setup();
    later(300, () => fake.reloadAll());
    await syncGateway(noDocker, config, [serving('a'), serving('b')], { applyTimeoutMs: 10_000 });

    // The worker that serves the deletion drops b at once; the other routes to it until it reloads.
    const started = Date.now();
    later(600, () => fake.reloadAll());
    const result = await syncGateway(noDocker, config, [serving('a')], { applyTimeoutMs: 10_000 });
    expect(result).toMatchObject({ added: 0, removed: 1 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(550);
    expect(fake.workers.map((w) => w.ids)).toEqual([[idOf('a')], [idOf('a')]]);
  });

  it('waits for the workers\' own reloads (LiteLLM reloads from the DB on a timer)', async () => {
    const { fake, config } = await setup({ reloadIntervalMs: 800 });
    await syncGateway(noDocker, config, [serving('a')], { applyTimeoutMs: 10_000 });
    expect(fake.workers.map((w) => w.ids)).toEqual([[idOf('a')], [idOf('a')]]);
    await syncGateway(noDocker, config, [], { applyTimeoutMs: 10_000 });
    expect(fake.workers.map((w) => w.ids)).toEqual([[], []]);
  });

  it('fails, naming how many workers confirmed, when one never takes the change', async () => {
    const { config } = await setup();
    const error = await syncGateway(noDocker, config, [serving('a')], { applyTimeoutMs: 800 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LitellmSyncError);
    expect((error as Error).message).toMatch(/within 1 s on every worker \(1 of 2 confirmed/);
  });

  it("refuses an entry whose id the gateway's config file has, applies the rest on every worker, and says what to do", async () => {
    const clash = { model_name: 'theirs', litellm_params: { model: 'openai/theirs' }, model_info: { id: idOf('a') } };
    const { fake, config } = await setup({ configModels: [clash] });
    later(300, () => fake.reloadAll());
    const error = await syncGateway(noDocker, config, [serving('a'), serving('b')], { applyTimeoutMs: 10_000 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LitellmSyncError);
    expect((error as LitellmSyncError).message).toMatch(new RegExp(`${idOf('a')} .*config file`));
    expect((error as LitellmSyncError).hint).toMatch(/remove the entry .* from the gateway's config file.*or use config-file sync/);
    // b is routed by both workers; the config file's entry was not replaced.
    expect(fake.workers.map((w) => w.ids.sort())).toEqual([[idOf('a'), idOf('b')], [idOf('a'), idOf('b')]]);
    expect(fake.models.find((m) => m.id === idOf('a'))).toMatchObject({ model_name: 'theirs', db_model: false });
  });
});

describe('confirmOnEveryWorker', () => {
  it('needs every worker to have the wanted ids and none of the unwanted ones', async () => {
    const { fake, config } = await setup();
    await fetch(`${fake.url}/model/new`, {
      method: 'POST',
      headers: { authorization: `Bearer ${MASTER}`, 'content-type': 'application/json', connection: 'close' },
      body: JSON.stringify({ model_name: 'x', litellm_params: { model: 'openai/x' }, model_info: { id: 'old' } }),
    });
    fake.reloadAll();
    // Both workers route to "old": a confirmation that wants it gone waits.
    const waiting = confirmOnEveryWorker(config, { version: '', ids: [], absent: ['old'], idsOnly: true, timeoutMs: 10_000 });
    let settled = false;
    void waiting.then(() => (settled = true), () => (settled = true));
    await new Promise((r) => setTimeout(r, 400));
    expect(settled).toBe(false);
    await fetch(`${fake.url}/model/delete`, {
      method: 'POST',
      headers: { authorization: `Bearer ${MASTER}`, 'content-type': 'application/json', connection: 'close' },
      body: '{"id": "old"}',
    });
    fake.reloadAll();
    await expect(waiting).resolves.toBe('confirmed');
  });

  it("says no-plugin for a gateway without inferstack's state route", async () => {
    const { config } = await setup({ plugin: false });
    await expect(confirmOnEveryWorker(config, { version: '', ids: [], idsOnly: true, timeoutMs: 2000 })).resolves.toBe('no-plugin');
  });
});
