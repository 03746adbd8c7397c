// The real LiteLLM proxy (inferstack-test/litellm:<pinned version>, built by images/litellm/build.sh)
// in config-file mode, with two vLLM stand-ins on a test network: the config we render routes
// chat completions to the right container, a re-render plus restart removes a model, a model added
// by hand in the config survives every render, and the admin client understands the real proxy
// (model info, readiness, 401 / wrong key, the no-DB error of /model/new).
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import {
  applyGatewaySyncApi,
  createLitellmClient,
  type DesiredDeployment,
  LitellmAuthError,
  LitellmNoDatabaseError,
  type LitellmClient,
  planGatewaySync,
  renderLitellmConfig,
  writeLitellmConfig,
} from '../src/index.js';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  containerLogs,
  docker,
  publishedPort,
  removeContainers,
  runStandin,
  sessionLabel,
  testSession,
  waitForHttp,
} from '../../../test/support/docker.js';

const repoRoot = fileURLToPath(new URL('../../..', import.meta.url));
const MASTER_KEY = `sk-test-${Math.random().toString(36).slice(2, 10)}`;
const VLLM_KEY_BETA = 'vllm-key-beta';

let session: string;
let network: string;
let image: string;
let dir: string;
let configFile: string;
let gateway: { id: string; name: string; baseUrl: string };
let client: LitellmClient;
let alpha: DesiredDeployment;
let beta: DesiredDeployment;
const containers: string[] = [];

/** The user's own config: a hand-made model and settings we must keep. */
function userConfig(betaContainer: string): string {
  return `# gateway config of a user (comments, settings and hand-made models must survive)
general_settings:
  master_key: os.environ/LITELLM_MASTER_KEY # never written into this file
litellm_settings:
  drop_params: true

model_list:
  # added by hand: another name for the beta container
  - model_name: hand-made
    litellm_params:
      model: hosted_vllm/beta
      api_base: http://${betaContainer}:8000/v1
      api_key: ${VLLM_KEY_BETA}
`;
}

async function startGateway(): Promise<void> {
  const name = `inferstack-test-${session}-gateway`;
  const { stdout } = await docker([
    'run', '-d', '--name', name, '--label', sessionLabel(session),
    '--network', network, '-p', '127.0.0.1::4000',
    '-e', `LITELLM_MASTER_KEY=${MASTER_KEY}`,
    '-v', `${configFile}:/app/config.yaml:ro`,
    image, '--config', '/app/config.yaml', '--port', '4000',
  ]);
  const id = stdout.trim();
  containers.push(id);
  gateway = { id, name, baseUrl: '' };
  await connect();
}

/** (Re)connect after start or restart: a random published port changes when Docker restarts it. */
async function connect(): Promise<void> {
  gateway.baseUrl = `http://127.0.0.1:${await publishedPort(gateway.id, 4000)}`;
  client = createLitellmClient({ baseUrl: gateway.baseUrl, masterKey: MASTER_KEY });
  await waitReady();
}

async function waitReady(): Promise<void> {
  try {
    await client.waitUntilReady({ timeoutMs: 120_000 });
  } catch (error) {
    throw new Error(`LiteLLM did not get ready: ${String(error)}\n${(await containerLogs(gateway.id)).slice(-4000)}`);
  }
}

/** `key: null` sends no Authorization header. */
async function chat(model: string, key: string | null = MASTER_KEY) {
  const response = await fetch(`${gateway.baseUrl}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}) },
    body: JSON.stringify({ model, messages: [{ role: 'user', content: 'ping' }], max_tokens: 16 }),
    signal: AbortSignal.timeout(60_000),
  });
  const body = (await response.json()) as { choices?: Array<{ message?: { content?: string } }>; error?: { message?: string } };
  return { status: response.status, content: body.choices?.[0]?.message?.content, error: body.error?.message };
}

beforeAll(async () => {
  session = testSession();
  // Cheap when current (source-hash label); builds the image when the globalSetup did not.
  const built = await promisify(execFile)('bash', [path.join(repoRoot, 'images/litellm/build.sh')], {
    maxBuffer: 16 * 1024 * 1024,
    timeout: 900_000,
  });
  image = built.stdout.trim().split('\n').pop() ?? '';
  expect(image).toMatch(/^inferstack-test\/litellm:\d+\.\d+\.\d+$/);

  network = `inferstack-test-${session}-litellm`;
  await docker(['network', 'create', '--label', sessionLabel(session), network]);

  const serve = (served: string) => ['Qwen/Qwen3-0.6B', '--port', '8000', '--host', '0.0.0.0', '--served-model-name', served];
  const [a, b] = await Promise.all([
    runStandin({ name: 'll-alpha', network, args: serve('alpha') }),
    runStandin({ name: 'll-beta', network, args: serve('beta'), env: { VLLM_API_KEY: VLLM_KEY_BETA } }),
  ]);
  containers.push(a.id, b.id);
  await Promise.all([waitForHttp(`${a.baseUrl}/health`), waitForHttp(`${b.baseUrl}/health`)]);
  alpha = { modelKey: 'alpha', name: a.name, apiBase: `http://${a.name}:8000/v1`, servedModelName: 'alpha' };
  beta = { modelKey: 'beta', name: b.name, apiBase: `http://${b.name}:8000/v1`, servedModelName: 'beta', apiKey: VLLM_KEY_BETA };

  dir = await mkdtemp(path.join(tmpdir(), 'inferstack-litellm-'));
  configFile = path.join(dir, 'config.yaml');
  await writeFile(configFile, userConfig(b.name), { mode: 0o600 });
  const written = await writeLitellmConfig(configFile, [alpha, beta]);
  expect(written.changed).toBe(true);

  await startGateway();
}, 600_000);

afterAll(async () => {
  await removeContainers(containers);
  if (network) await docker(['network', 'rm', network], { allowFail: true });
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('LiteLLM in config-file mode with a config rendered by litellm-sync', () => {
  it('is ready, without a database', async () => {
    const ready = await client.readiness();
    expect(ready).toMatchObject({ status: 'healthy', db: 'Not connected' });
  });

  it('routes a chat completion with the master key to the right stand-in (api_key forwarded)', async () => {
    const a = await chat('alpha');
    expect(a).toMatchObject({ status: 200 });
    expect(a.content).toMatch(/^Hello from alpha!/);
    const b = await chat('beta'); // beta's vLLM requires VLLM_KEY_BETA: LiteLLM must send it
    expect(b).toMatchObject({ status: 200 });
    expect(b.content).toMatch(/^Hello from beta!/);
    expect((await chat('hand-made')).content).toMatch(/^Hello from beta!/);
  });

  it('shows our entries in /model/info in a shape the client parses, keys removed, nothing to re-sync', async () => {
    const entries = await client.modelInfo();
    const ours = entries.filter((e) => e.model_info.managed_by === 'inferstack');
    expect(ours.map((e) => [e.model_name, e.model_info.id, e.model_info.db_model]).sort()).toEqual([
      ['alpha', `inferstack-${alpha.name}`, false],
      ['beta', `inferstack-${beta.name}`, false],
    ]);
    const betaEntry = ours.find((e) => e.model_name === 'beta');
    expect(betaEntry?.litellm_params).toMatchObject({ model: 'hosted_vllm/beta', api_base: `http://${beta.name}:8000/v1` });
    expect(betaEntry?.litellm_params).not.toHaveProperty('api_key');
    expect(entries.find((e) => e.model_name === 'hand-made')?.model_info.managed_by).toBeUndefined();
    // The digest stored in model_info round-trips through the real proxy: the plan is empty.
    expect(planGatewaySync([alpha, beta], entries)).toEqual([]);
    expect((await client.models()).map((m) => m.id).sort()).toEqual(['alpha', 'beta', 'hand-made']);
  });

  it('answers 401 without a key and a typed auth error for a wrong key', async () => {
    const anonymous = createLitellmClient({ baseUrl: gateway.baseUrl, retry: false });
    const missing = await anonymous.modelInfo().catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(LitellmAuthError);
    expect(missing).toMatchObject({ status: 401, type: 'auth_error' });
    expect((await chat('alpha', null)).status).toBe(401);

    const wrong = createLitellmClient({ baseUrl: gateway.baseUrl, masterKey: 'sk-wrong-key', retry: false });
    const error = await wrong.modelInfo().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LitellmAuthError);
    expect(error).toMatchObject({ status: 400, type: 'no_db_connection' });
    expect(String((error as Error).message)).not.toContain('sk-wrong-key');
  });

  it('gives the typed no-database error for /model/new and /model/delete, and API-mode sync refuses', async () => {
    const add = await client
      .addModel({ model_name: 'x', litellm_params: { model: 'hosted_vllm/x', api_base: 'http://x:8000/v1' }, model_info: { id: 'inferstack-x' } })
      .catch((e: unknown) => e);
    expect(add).toBeInstanceOf(LitellmNoDatabaseError);
    expect(add).toMatchObject({ status: 500, litellmMessage: expect.stringMatching(/^No DB Connected/) });
    await expect(client.deleteModel(`inferstack-${alpha.name}`)).rejects.toBeInstanceOf(LitellmNoDatabaseError);

    const changes = planGatewaySync([beta], await client.modelInfo());
    expect(changes).toHaveLength(1);
    await expect(applyGatewaySyncApi(changes, { client })).rejects.toBeInstanceOf(LitellmNoDatabaseError);
  });

  it('drops a model after a re-render and a restart, keeping the hand-made one', async () => {
    const rendered = await writeLitellmConfig(configFile, [beta]);
    expect(rendered.changed).toBe(true);
    expect((await writeLitellmConfig(configFile, [beta])).changed).toBe(false); // nothing to restart for

    const text = await readFile(configFile, 'utf8');
    expect(text).toContain('# added by hand: another name for the beta container');
    expect(text).toContain('master_key: os.environ/LITELLM_MASTER_KEY # never written into this file');
    expect(text).not.toContain(MASTER_KEY);
    const list = (parse(text) as { model_list: Array<{ model_name: string }> }).model_list;
    expect(list.map((m) => m.model_name)).toEqual(['hand-made', 'beta']);

    await docker(['restart', '-t', '5', gateway.id]);
    await connect();

    expect((await client.models()).map((m) => m.id).sort()).toEqual(['beta', 'hand-made']);
    const gone = await chat('alpha');
    expect(gone.status).toBeGreaterThanOrEqual(400);
    expect(gone.status).toBeLessThan(500);
    expect((await chat('beta')).content).toMatch(/^Hello from beta!/);
    expect((await chat('hand-made')).content).toMatch(/^Hello from beta!/);
    expect(planGatewaySync([beta], await client.modelInfo())).toEqual([]);
  });

  it('keeps the hand-made model through every render, also when everything managed goes away', () => {
    const base = userConfig(beta.name!);
    let text = base;
    for (const desired of [[alpha, beta], [beta], [], [alpha]]) {
      text = renderLitellmConfig(text, desired).text;
      const list = (parse(text) as { model_list: Array<{ model_name: string }> }).model_list;
      expect(list[0]?.model_name).toBe('hand-made');
      expect(list.map((m) => m.model_name).slice(1)).toEqual(desired.map((d) => d.servedModelName).sort());
    }
  });
});
