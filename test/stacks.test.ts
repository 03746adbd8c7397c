// Two stacks (different names) on one daemon and one network, sharing one external LiteLLM
// gateway (API mode, the fake: the real proxy's DB mode cannot run here) and one external, real
// Prometheus: each comes up, changes and goes down without disturbing the other.
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeLitellm, type FakeLitellm } from '../packages/litellm-sync/test/fake-litellm-api.mjs';
import { createPrometheusClient, renderPrometheusConfig, type PrometheusClient } from '../packages/prometheus-sync/src/index.js';
import { openStack, type Stack } from '../packages/stack/src/index.js';
import { docker, publishedPort, sessionLabel, testSession, waitFor } from './support/docker.js';
import { PROMETHEUS_IMAGE, STANDIN_IMAGE } from './support/stack-project.js';

const MASTER_KEY = 'sk-two-stacks-0123456789abcdef0123';
const session = testSession();
const prefix = `st${session.slice(-6)}`;
const network = `inferstack-test-${prefix}-shared`;

describe('two stacks sharing a daemon, a network, a gateway and a Prometheus', () => {
  let root: string;
  let fake: FakeLitellm;
  let prometheus: PrometheusClient;
  let prometheusId = '';
  let targets: string;

  /** A project directory with its models.yaml and .env; the stack is named after `name:`. */
  async function open(name: string, models: string[]): Promise<Stack> {
    const dir = join(root, name);
    await mkdir(join(dir, 'model_config'), { recursive: true });
    await writeFile(join(dir, '.env'), `LITELLM_MASTER_KEY=${MASTER_KEY}\nHUGGINGFACE_CACHE=${join(root, 'hf')}\n`);
    await writeFile(
      join(dir, 'model_config', 'models.yaml'),
      [
        `name: ${prefix}-${name}`,
        `network: ${network}`,
        `gateway: {mode: external, sync: api, url: "${fake.url}"}`,
        `monitoring: {mode: external, prometheus: {url: "${prometheusUrl}", targets-dir: "${targets}"}}`,
        `defaults: {image: ${STANDIN_IMAGE}, pull: never, env: {STANDIN_LOAD_DELAY: "0"}}`,
        'models:',
        ...models.map((m) => `  - ${prefix}-${m}: {model: test/${m}, gpus: none}`),
        '',
      ].join('\n'),
    );
    return openStack({ cwd: dir, env: { ...process.env, INFERSTACK_LABELS: sessionLabel(), INFERSTACK_HASH_KEY: '', INFERSTACK_PROMETHEUS_CONFIRM_MS: '30000' } });
  }
  let prometheusUrl = '';

  const routed = () => fake.models.map((m) => `${m.model_info.inferstack_stack}:${m.model_info.inferstack_model_key}`).sort();
  const scraped = async () =>
    (await prometheus.targets()).activeTargets
      .filter((t) => t.scrapePool === 'vllm')
      .map((t) => t.labels.model)
      .sort();
  const running = async () => (await docker(['ps', '--filter', `name=inference-${prefix}-`, '--format', '{{.Names}}'])).stdout.split('\n').filter(Boolean).sort();

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'inferstack-stacks-'));
    targets = join(root, 'targets');
    await mkdir(targets, { mode: 0o755 });
    await chmod(root, 0o755);
    await writeFile(join(root, 'prometheus.yml'), renderPrometheusConfig({ modelTargetsFile: '/etc/prometheus/targets/inferstack-*.json', scrapeInterval: '1s' }), { mode: 0o644 });
    fake = await startFakeLitellm({ masterKey: MASTER_KEY, configModels: [{ model_name: 'hand-made', litellm_params: { model: 'openai/x' }, model_info: { id: 'by-hand' } }] });
    await docker(['network', 'create', '--label', sessionLabel(session), network]);
    prometheusId = (
      await docker([
        'run', '-d', '--label', sessionLabel(session), '--name', `${prefix}-prometheus`, '--network', network, '-p', '127.0.0.1::9090',
        '-v', `${root}/prometheus.yml:/etc/prometheus/prometheus.yml:ro`, '-v', `${targets}:/etc/prometheus/targets:ro`,
        PROMETHEUS_IMAGE, '--config.file=/etc/prometheus/prometheus.yml', '--web.enable-lifecycle',
      ])
    ).stdout.trim();
    prometheusUrl = `http://127.0.0.1:${await publishedPort(prometheusId, 9090)}`;
    prometheus = createPrometheusClient({ baseUrl: prometheusUrl });
    await prometheus.waitUntilReady({ timeoutMs: 30_000 });
  });
  afterAll(async () => {
    await docker(['rm', '-f', prometheusId], { allowFail: true });
    const left = (await docker(['ps', '-aq', '--filter', `name=${prefix}`])).stdout.split('\n').filter(Boolean);
    if (left.length > 0) await docker(['rm', '-f', ...left], { allowFail: true });
    await docker(['network', 'rm', network], { allowFail: true });
    await fake?.close();
    await rm(root, { recursive: true, force: true });
  });

  it('each comes up, changes and goes down; the other keeps its models, routes and targets', async () => {
    const alpha = await open('alpha', ['a1', 'a2']);
    const beta = await open('beta', ['b1']);

    expect((await alpha.up()).ok).toBe(true);
    expect((await beta.up()).ok).toBe(true);
    expect(routed()).toEqual([`${prefix}-alpha:${prefix}-a1`, `${prefix}-alpha:${prefix}-a2`, `${prefix}-beta:${prefix}-b1`, 'undefined:undefined']);
    await waitFor('Prometheus to scrape 3 model(s)', async () => (await scraped()).length === 3, { timeoutMs: 30_000 });
    expect(await scraped()).toEqual([`${prefix}-a1`, `${prefix}-a2`, `${prefix}-b1`]);
    // Neither sees the other's model as an orphan, on the same network.
    expect((await beta.plan()).changes.map((c) => `${c.action}:${c.key}`)).toEqual([`keep:${prefix}-b1`]);
    expect((await alpha.status()).models.map((m) => m.key)).toEqual([`${prefix}-a1`, `${prefix}-a2`]);

    // Alpha drops a2: only a2 goes.
    const alpha2 = await open('alpha', ['a1']);
    const changed = await alpha2.up();
    expect(changed.ok).toBe(true);
    expect(changed.models.map((m) => `${m.action}:${m.key}`)).toEqual([`keep:${prefix}-a1`, `remove:${prefix}-a2`]);
    expect(await running()).toEqual([`inference-${prefix}-a1`, `inference-${prefix}-b1`]);
    expect(routed()).toEqual([`${prefix}-alpha:${prefix}-a1`, `${prefix}-beta:${prefix}-b1`, 'undefined:undefined']);
    await waitFor('Prometheus to scrape 2 model(s)', async () => (await scraped()).length === 2, { timeoutMs: 30_000 });
    expect(await scraped()).toEqual([`${prefix}-a1`, `${prefix}-b1`]);

    // Alpha goes entirely: beta serves on, routed and scraped; the shared network stays.
    expect((await alpha2.down({ all: true })).ok).toBe(true);
    expect(await running()).toEqual([`inference-${prefix}-b1`]);
    expect(routed()).toEqual([`${prefix}-beta:${prefix}-b1`, 'undefined:undefined']);
    await waitFor('Prometheus to scrape 1 model(s)', async () => (await scraped()).length === 1, { timeoutMs: 30_000 });
    expect(await scraped()).toEqual([`${prefix}-b1`]);
    expect((await beta.status()).models.map((m) => [m.key, m.state, m.routed])).toEqual([[`${prefix}-b1`, 'running', true]]);
    expect((await docker(['network', 'inspect', network], { allowFail: true })).code).toBe(0);

    expect((await beta.down({ all: true })).ok).toBe(true);
    expect(routed()).toEqual(['undefined:undefined']);
  });
});
