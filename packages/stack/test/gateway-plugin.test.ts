// inferstack's plugin in the real LiteLLM (two uvicorn workers): the routes a stack writes take
// effect in the running proxy within a second, in every worker, with no reload or restart; the
// user's own entries stay; a model's key comes from the stack's keys file; the state route needs
// the master key.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig, type StackConfig } from '@inferstack/config';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { starterConfig, writeGatewayRoutes, withPluginCallback } from '../src/gateway/files.js';
import { confirmOnEveryWorker } from '../src/gateway/sync.js';
import { docker } from '../../../test/support/docker-cli.js';
import { sessionLabel } from '../../../test/support/docker.js';
import { freePort, LITELLM_IMAGE, STANDIN_IMAGE } from '../../../test/support/stack-project.js';

const MASTER = 'sk-plugin-test-master-0123456789';
const KEY_B = 'vllm-key-of-b-0123456789';
const tag = Math.random().toString(16).slice(2, 8);
const net = `inferstack-test-plugin-${tag}`;
const containers: string[] = [];

async function run(args: string[]): Promise<string> {
  const { stdout } = await docker(['run', '-d', '--label', sessionLabel(), '--network', net, ...args]);
  const id = stdout.trim();
  containers.push(id);
  return id;
}

async function until<T>(fn: () => Promise<T | undefined>, timeoutMs: number, what: string): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe("inferstack's plugin in the real LiteLLM", () => {
  let dir: string;
  let config: StackConfig;
  let url: string;
  const auth = { authorization: `Bearer ${MASTER}` };
  const deployment = (k: string, apiKey?: string) => ({ name: `m-${tag}-${k}`, servedModelName: `served-${k}`, apiBase: `http://m-${tag}-${k}:8000/v1`, modelKey: k, ...(apiKey ? { apiKey } : {}) });
  const chat = async (model: string) => {
    const r = await fetch(`${url}/v1/chat/completions`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json', connection: 'close' },
      body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }], max_tokens: 16 }),
      signal: AbortSignal.timeout(20_000),
    });
    return { status: r.status, text: await r.text() };
  };
  const models = async () => ((await (await fetch(`${url}/v1/models`, { headers: { ...auth, connection: 'close' } })).json()) as { data: Array<{ id: string }> }).data.map((m) => m.id).sort();

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'inferstack-plugin-'));
    mkdirSync(join(dir, 'litellm'));
    config = parseConfig(`name: plug${tag}\nmodels:\n  a: {model: x, gpus: none}\n`, { file: join(dir, 'model_config/models.yaml'), projectDir: dir, settings: { LITELLM_MASTER_KEY: MASTER, LITELLM_NUM_WORKERS: '2' } });
    await docker(['network', 'create', '--label', sessionLabel(), net]);
    for (const k of ['a', 'b', 'mine']) {
      await run(['--name', `m-${tag}-${k}`, '-e', 'STANDIN_LOAD_DELAY=0', ...(k === 'b' ? ['-e', `VLLM_API_KEY=${KEY_B}`] : []), STANDIN_IMAGE, `test/${k}`, '--served-model-name', `served-${k}`, ...(k === 'b' ? ['--api-key', KEY_B] : [])]);
    }
    // The user's config: an entry of their own, and the plugin named (as up writes it).
    const own = `${starterConfig(config)}`.replace('model_list: []', `model_list:\n  - model_name: served-mine\n    litellm_params: {model: hosted_vllm/served-mine, api_base: "http://m-${tag}-mine:8000/v1"}`);
    writeFileSync(config.gateway.configFile, await withPluginCallback(own), { mode: 0o600 });
    // What a cold start reads: a routes write before the gateway exists.
    await writeGatewayRoutes(config, [deployment('a')], { stack: config.name, keys: {} });
    const port = await freePort();
    await run([
      '--name', `gw-${tag}`, '-p', `127.0.0.1:${port}:4000`, '-v', `${join(dir, 'litellm')}:/etc/litellm:ro`,
      '-e', `LITELLM_MASTER_KEY=${MASTER}`, '-e', 'LITELLM_LOCAL_MODEL_COST_MAP=True', '-e', 'AIOHTTP_TTL_DNS_CACHE=1',
      LITELLM_IMAGE, '--config', '/etc/litellm/config.yaml', '--port', '4000', '--host', '0.0.0.0', '--num_workers', '2',
    ]);
    url = `http://127.0.0.1:${port}`;
    config = { ...config, gateway: { ...config.gateway, url } };
    await until(async () => ((await fetch(`${url}/health/readiness`, { signal: AbortSignal.timeout(3000) })).status === 200 ? true : undefined), 150_000, 'LiteLLM ready').catch(async (error: Error) => {
      throw new Error(`${error.message}\n${(await docker(['logs', '--tail', '40', `gw-${tag}`], { allowFail: true })).stderr}`);
    });
  }, 200_000);
  afterAll(async () => {
    if (containers.length) await docker(['rm', '-f', ...containers], { allowFail: true });
    await docker(['network', 'rm', net], { allowFail: true });
    rmSync(dir, { recursive: true, force: true });
  });

  it('starts from the config file (the routes there are taken as applied), with the user\'s entry', async () => {
    expect(await models()).toEqual(['served-a', 'served-mine']);
    expect((await chat('served-a')).status).toBe(200);
    expect((await chat('served-mine')).status).toBe(200);
    const routes = JSON.parse(readFileSync(join(dir, 'litellm', `inferstack_routes.${config.name}.json`), 'utf8')) as { version: string };
    await confirmOnEveryWorker(config, { version: routes.version, ids: [`inferstack-m-${tag}-a`], timeoutMs: 15_000 });
  });

  it('answers its state only with the master key', async () => {
    expect((await fetch(`${url}/inferstack/state`)).status).toBe(401);
    const state = (await (await fetch(`${url}/inferstack/state`, { headers: auth })).json()) as { pid: number; routes: Record<string, string> };
    expect(state.pid).toBeGreaterThan(0);
    expect(Object.keys(state.routes)).toEqual([config.name]);
  });

  it('takes a new route within a second in every worker, a model key from the keys file, and keeps the user\'s entry', async () => {
    const started = (await docker(['inspect', '-f', '{{.State.StartedAt}}', `gw-${tag}`])).stdout.trim();
    const t0 = Date.now();
    const written = await writeGatewayRoutes(config, [deployment('a'), deployment('b', 'os.environ/INFERSTACK_VLLM_KEY_B')], { stack: config.name, keys: { INFERSTACK_VLLM_KEY_B: KEY_B } });
    await confirmOnEveryWorker(config, { version: written.version, ids: [`inferstack-m-${tag}-a`, `inferstack-m-${tag}-b`], timeoutMs: 15_000 });
    const applied = Date.now() - t0;
    expect(applied).toBeLessThan(1500);
    expect(await models()).toEqual(['served-a', 'served-b', 'served-mine']);
    // The model behind its api-key answers: the key reached the gateway without a new container.
    const b = await chat('served-b');
    expect(b.status, b.text).toBe(200);
    expect(b.text).toContain('Hello from served-b');

    const gone = await writeGatewayRoutes(config, [deployment('b', 'os.environ/INFERSTACK_VLLM_KEY_B')], { stack: config.name, keys: { INFERSTACK_VLLM_KEY_B: KEY_B } });
    await confirmOnEveryWorker(config, { version: gone.version, ids: [`inferstack-m-${tag}-b`], timeoutMs: 15_000 });
    expect(await models()).toEqual(['served-b', 'served-mine']);
    expect((await chat('served-a')).status).toBe(400);
    expect((await docker(['inspect', '-f', '{{.State.StartedAt}}', `gw-${tag}`])).stdout.trim()).toBe(started);
    console.log(`a new route was taken by both workers ${applied} ms after it was written`);
  });

});
