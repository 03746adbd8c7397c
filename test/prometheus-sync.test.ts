// @inferstack/prometheus-sync against the real thing: Prometheus 3 (PROMETHEUS_IMAGE, the major
// version the product deploys: support/prometheus-image.ts), two vLLM stand-ins, node-exporter
// and the real LiteLLM gateway, all on one test network. Targets reach Prometheus through a
// file_sd file in a host directory that is bind-mounted into its container, as the CLI deploys it.
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_PROMETHEUS_IMAGE } from '../packages/config/src/index.js';
import {
  createPrometheusClient,
  listDashboardQueries,
  PrometheusQueryError,
  type PrometheusClient,
  PrometheusUnreachableError,
  ReloadFailedError,
  ReloadUnavailableError,
  renderPrometheusConfig,
  type RunningModelTarget,
  syncPrometheusTargets,
} from '../packages/prometheus-sync/src/index.js';
import {
  containerLogs,
  docker,
  publishedPort,
  removeContainers,
  runStandin,
  type StartedContainer,
  sessionLabel,
  testSession,
  waitFor,
  waitForHttp,
} from './support/docker.js';
import { PROMETHEUS_IMAGE } from './support/prometheus-image.js';

const NODE_EXPORTER_IMAGE = 'inferstack-test/node-exporter:1.5';
const MASTER_KEY = 'sk-inferstack-test-prometheus-0123456789';
/** Where the host directory is mounted in the Prometheus containers. */
const MOUNT = '/etc/inferstack';

const session = testSession();
const prefix = `inferstack-test-${session}`;
const network = `${prefix}-prom-net`;
const containers: string[] = [];
const dirs: string[] = [];

async function run(args: string[]): Promise<string> {
  const id = (await docker(['run', '-d', '--label', sessionLabel(session), ...args])).stdout.trim();
  containers.push(id);
  return id;
}

/** A host directory Prometheus (user nobody) can read: mkdtemp makes 0700 ones. */
async function hostDir(name: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), `inferstack-${name}-`));
  dirs.push(dir);
  await chmod(dir, 0o755);
  await mkdir(join(dir, 'targets'), { mode: 0o755 });
  return dir;
}

/** A stack Prometheus with the generated config, its directory mounted read-only. */
async function startPrometheus(name: string, dir: string, lifecycle: boolean): Promise<{ id: string; client: PrometheusClient }> {
  const id = await run([
    '--name', `${prefix}-${name}`, '--network', network, '-p', '127.0.0.1::9090', '-v', `${dir}:${MOUNT}:ro`,
    PROMETHEUS_IMAGE,
    `--config.file=${MOUNT}/prometheus.yml`, '--storage.tsdb.path=/prometheus',
    ...(lifecycle ? ['--web.enable-lifecycle'] : []),
  ]);
  const port = await publishedPort(id, 9090);
  const client = createPrometheusClient({ baseUrl: `http://127.0.0.1:${port}` });
  await client.waitUntilReady({ timeoutMs: 30_000 }).catch(async (e: unknown) => {
    throw new Error(`Prometheus ${name} not ready: ${String(e)}\n${await containerLogs(id)}`);
  });
  return { id, client };
}

async function imageTag(repo: string): Promise<string> {
  const { stdout } = await docker(['image', 'ls', repo, '--format', '{{.Tag}}']);
  const tag = stdout.split('\n').find((t) => t && t !== '<none>' && t !== 'latest');
  if (!tag) throw new Error(`no ${repo} image: run 'bash images/build.sh'`);
  return `${repo}:${tag}`;
}

async function post(url: string, body: object, headers: Record<string, string> = {}): Promise<number> {
  const r = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(20_000),
  });
  await r.text();
  return r.status;
}

let dir: string;
let targetsFile: string;
let prometheus: { id: string; client: PrometheusClient };
let a: StartedContainer;
let b: StartedContainer;
let gatewayUrl: string;
let modelA: RunningModelTarget;
let modelB: RunningModelTarget;

beforeAll(async () => {
  await docker(['network', 'create', '--label', sessionLabel(session), network]);
  dir = await hostDir('prometheus');
  targetsFile = join(dir, 'targets', 'vllm.json');
  await mkdir(join(dir, 'secrets'), { mode: 0o755 });
  // Test-only key: readable by Prometheus' user nobody.
  await writeFile(join(dir, 'secrets', 'litellm-key'), `${MASTER_KEY}\n`, { mode: 0o644 });

  const names = { a: `${prefix}-prom-a`, b: `${prefix}-prom-b`, node: `${prefix}-node-exporter`, gateway: `${prefix}-litellm` };
  await writeFile(
    join(dir, 'prometheus.yml'),
    renderPrometheusConfig({
      gateway: { target: `${names.gateway}:4000`, bearerTokenFile: `${MOUNT}/secrets/litellm-key` },
      modelTargetsFile: `${MOUNT}/targets/vllm.json`,
      nodeExporter: `${names.node}:9100`,
      dcgm: `${prefix}-no-dcgm:9400`,
      extraScrapeConfigs: [{ job_name: 'user-extra', metrics_path: '/metrics', static_configs: [{ targets: [`${names.a}:8000`], labels: { source: 'models.yaml' } }] }],
      scrapeInterval: '1s',
    }),
    { mode: 0o644 },
  );
  await writeFile(
    join(dir, 'litellm.yaml'),
    [
      'model_list:',
      '  - model_name: Qwen/Qwen3-0.6B',
      `    litellm_params: { model: hosted_vllm/Qwen/Qwen3-0.6B, api_base: "http://${names.a}:8000/v1" }`,
      '  - model_name: meta-llama/Llama-3.2-1B-Instruct',
      `    litellm_params: { model: hosted_vllm/meta-llama/Llama-3.2-1B-Instruct, api_base: "http://${names.b}:8000/v1" }`,
      'litellm_settings:',
      '  callbacks: ["prometheus"]',
      '',
    ].join('\n'),
    { mode: 0o644 },
  );

  const litellmImage = await imageTag('inferstack-test/litellm');
  const standin = (name: string, model: string, env: Record<string, string> = {}) =>
    runStandin({ name, model, network, env: { STANDIN_LOAD_DELAY: '0', ...env } });
  let gatewayId = '';
  [a, b, , gatewayId, prometheus] = await Promise.all([
    standin('prom-a', 'Qwen/Qwen3-0.6B'),
    // The older metric names too, as vLLM < 0.12 exposes them.
    standin('prom-b', 'meta-llama/Llama-3.2-1B-Instruct', { STANDIN_OLD_METRICS: '1' }),
    run(['--name', names.node, '--network', network, NODE_EXPORTER_IMAGE]),
    run([
      '--name', names.gateway, '--network', network, '-p', '127.0.0.1::4000', '-e', `LITELLM_MASTER_KEY=${MASTER_KEY}`,
      '-v', `${join(dir, 'litellm.yaml')}:/app/config.yaml:ro`, litellmImage, '--config', '/app/config.yaml', '--port', '4000', '--host', '0.0.0.0',
    ]),
    startPrometheus('prometheus', dir, true),
  ]);
  containers.push(a.id, b.id);
  // A's target carries its replica, as inferstack writes them now; B's has none, as older versions wrote them.
  modelA = { key: 'qwen-small', address: `${a.name}:8000`, servedModelName: 'Qwen/Qwen3-0.6B', gpus: '0', replica: 0 };
  modelB = { key: 'meta/llama-small', address: `${b.name}:8000`, servedModelName: 'meta-llama/Llama-3.2-1B-Instruct', gpus: 'all' };
  gatewayUrl = `http://127.0.0.1:${await publishedPort(gatewayId, 4000)}`;
  await Promise.all([
    waitForHttp(`${a.baseUrl}/health`, { timeoutMs: 30_000 }),
    waitForHttp(`${b.baseUrl}/health`, { timeoutMs: 30_000 }),
    waitForHttp(`${gatewayUrl}/health/liveliness`, { timeoutMs: 120_000, intervalMs: 500 }).catch(async (e: unknown) => {
      throw new Error(`LiteLLM did not start: ${String(e)}\n${(await containerLogs(gatewayId)).slice(-3000)}`);
    }),
  ]);
});

afterAll(async () => {
  await removeContainers(containers);
  await docker(['network', 'rm', network], { allowFail: true });
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

describe('Prometheus synchronisation against the real Prometheus', () => {
  it.skipIf(Boolean(process.env.INFERSTACK_TEST_PROMETHEUS_IMAGE))('runs the major version of Prometheus the product deploys', async () => {
    const deployed = /:v?(\d+)\./.exec(DEFAULT_PROMETHEUS_IMAGE)?.[1];
    const r = await fetch(`http://127.0.0.1:${await publishedPort(prometheus.id, 9090)}/api/v1/status/buildinfo`);
    const { data } = (await r.json()) as { data: { version: string } };
    expect(deployed).toBeDefined();
    expect(data.version.split('.')[0]).toBe(deployed);
  });

  it('promtool in the image accepts the generated configuration', async () => {
    // promtool checks that file_sd files and credentials files exist, so the targets file comes first.
    await writeFile(targetsFile, '[]\n', { mode: 0o644 });
    const r = await docker(
      ['run', '--rm', '--label', sessionLabel(session), '--network', 'none', '-v', `${dir}:${MOUNT}:ro`, '--entrypoint', '/bin/promtool', PROMETHEUS_IMAGE, 'check', 'config', `${MOUNT}/prometheus.yml`],
      { allowFail: true },
    );
    expect(r.stdout + r.stderr).toContain('SUCCESS');
    expect(r.code).toBe(0);
  });

  it('sync: both stand-ins become targets with our labels, and are up within a few scrape intervals', async () => {
    const t0 = Date.now();
    const result = await syncPrometheusTargets({
      models: [modelB, modelA],
      targetsFile,
      client: prometheus.client,
      confirm: { until: 'up', timeoutMs: 30_000 },
    });
    const seconds = (Date.now() - t0) / 1000;
    expect(result.warnings).toEqual([]);
    expect(result).toMatchObject({ changed: true, reloaded: 'api', confirmed: true, stale: [] });
    expect(result.targets).toEqual(
      [modelA, modelB]
        .map((m) => ({ target: m.address, model: m.key, servedModelName: m.servedModelName, known: true, health: 'up', lastError: '' }))
        .sort((x, y) => (x.target < y.target ? -1 : 1)),
    );
    // Discovery reaches the scrape manager in <= 10 s (2.x and 3.x); the first scrape follows within 1 s.
    expect(seconds).toBeLessThan(15);

    const { activeTargets } = await prometheus.client.targets();
    const vllm = activeTargets.filter((t) => t.scrapePool === 'vllm');
    expect(vllm.map((t) => t.labels).sort((x, y) => ((x.container ?? '') < (y.container ?? '') ? -1 : 1))).toEqual([
      { container: a.name, gpus: '0', host: 'local', instance: `${a.name}:8000`, job: 'vllm', model: 'qwen-small', replica: '0', served_model_name: 'Qwen/Qwen3-0.6B' },
      { container: b.name, gpus: 'all', host: 'local', instance: `${b.name}:8000`, job: 'vllm', model: 'meta/llama-small', served_model_name: 'meta-llama/Llama-3.2-1B-Instruct' },
    ]);
    // The file Prometheus reads is world-readable JSON with nothing but targets and labels.
    expect(JSON.parse(await readFile(targetsFile, 'utf8'))).toEqual(result.groups);
  });

  it('the same models again: nothing written, no reload, still confirmed', async () => {
    const result = await syncPrometheusTargets({ models: [modelA, modelB], targetsFile, client: prometheus.client });
    expect(result).toMatchObject({ changed: false, reloaded: 'none', confirmed: true, warnings: [] });
    expect(result.timings.totalMs).toBeLessThan(2000);
  });

  it('every PromQL expression in the shipped dashboards runs; vLLM, gateway and host ones return series', async () => {
    const key = { authorization: `Bearer ${MASTER_KEY}` };
    const chat = (model: string, extra: object = {}) => ({ model, messages: [{ role: 'user', content: 'Hello there' }], max_tokens: 8, ...extra });
    for (let i = 0; i < 3; i++) {
      expect(await post(`${a.baseUrl}/v1/chat/completions`, chat('Qwen/Qwen3-0.6B'))).toBe(200);
      expect(await post(`${b.baseUrl}/v1/chat/completions`, chat('meta-llama/Llama-3.2-1B-Instruct'))).toBe(200);
      expect(await post(`${gatewayUrl}/v1/chat/completions`, chat(i % 2 ? 'Qwen/Qwen3-0.6B' : 'meta-llama/Llama-3.2-1B-Instruct'), key)).toBe(200);
    }
    expect(await post(`${gatewayUrl}/v1/chat/completions`, chat('Qwen/Qwen3-0.6B', { stream: true }), key)).toBe(200);
    // A failure, so the error panels have something to show.
    expect(await post(`${gatewayUrl}/v1/chat/completions`, chat('no-such-model'), key)).toBe(400);

    // Wait until Prometheus has scraped the traffic (and a few more samples for rate()).
    const has = async (expr: string) => {
      const r = await prometheus.client.query(expr);
      return r.resultType === 'vector' && r.result.length > 0;
    };
    await waitFor('requests in vLLM and gateway metrics', async () =>
      (await has('sum by (model_name) (vllm:e2e_request_latency_seconds_count) >= 3')) &&
      (await has('count(sum by (model_name) (vllm:e2e_request_latency_seconds_count) >= 3) == 2')) &&
      (await has('litellm_proxy_failed_requests_metric_total')) &&
      (await has('litellm_llm_api_time_to_first_token_metric_count')) &&
      (await has('up{job="node"} == 1')) && (await has('up{job="litellm"} == 1')), { timeoutMs: 60_000, intervalMs: 500 });
    await new Promise((r) => setTimeout(r, 3000));

    const queries = await listDashboardQueries();
    expect(queries.length).toBeGreaterThan(50);
    const failures: string[] = [];
    const empty: string[] = [];
    for (const q of queries) {
      const where = `${q.file} #${q.panelId} "${q.panelTitle}" ${q.refId}: ${q.query}`;
      try {
        const r = await prometheus.client.query(q.query);
        const series = r.resultType === 'vector' || r.resultType === 'matrix' ? r.result.length : 1;
        // No DCGM exporter without a GPU, no watcher without idle models: those must parse here,
        // nothing more (packages/cli/test/idle.test.ts runs the watcher's against a real one).
        if (series === 0 && !q.expr.includes('DCGM_') && !q.expr.includes('inferstack_')) empty.push(where);
      } catch (error) {
        failures.push(`${where}\n  ${error instanceof PrometheusQueryError ? error.prometheusMessage : String(error)}`);
      }
    }
    expect(failures).toEqual([]);
    expect(empty).toEqual([]);
    // Per replica on targets with and without the replica label (B's reads as replica 0); replicas serving per model.
    const vector = async (title: string) => {
      const r = await prometheus.client.query(queries.find((q) => q.dashboardUid === 'inferstack-vllm' && q.panelTitle === title)!.query);
      return (r.resultType === 'vector' ? r.result : []).map((s) => ({ ...s.metric, value: Number(s.value[1]) })).sort((x, y) => (JSON.stringify(x) < JSON.stringify(y) ? -1 : 1));
    };
    expect((await vector('Requests running')).map(({ value: _, ...labels }) => labels)).toEqual([
      { model_name: 'Qwen/Qwen3-0.6B', replica: '0' },
      { model_name: 'meta-llama/Llama-3.2-1B-Instruct', replica: '0' },
    ]);
    expect(await vector('Replicas serving')).toEqual([
      { model: 'meta/llama-small', value: 1 },
      { model: 'qwen-small', value: 1 },
    ]);
    // The user's extra job was kept and works.
    expect(await has('up{job="user-extra", source="models.yaml"} == 1')).toBe(true);
  });

  it('a removed model leaves /api/v1/targets after the next sync', async () => {
    await removeContainers([b.id]);
    const result = await syncPrometheusTargets({ models: [modelA], targetsFile, client: prometheus.client, confirm: { timeoutMs: 30_000 } });
    expect(result).toMatchObject({ changed: true, reloaded: 'api', confirmed: true, stale: [] });
    const { activeTargets } = await prometheus.client.targets();
    const addresses = activeTargets.map((t) => t.discoveredLabels.__address__);
    expect(addresses).toContain(`${a.name}:8000`);
    expect(addresses).not.toContain(`${b.name}:8000`);

    // And the last one too: an empty file_sd list must clear the job after a reload.
    const none = await syncPrometheusTargets({ models: [], targetsFile, client: prometheus.client, confirm: { timeoutMs: 30_000 } });
    expect(none).toMatchObject({ changed: true, confirmed: true, targets: [] });
    expect((await prometheus.client.targets()).activeTargets.filter((t) => t.scrapePool === 'vllm')).toEqual([]);
  });

  it('a configuration Prometheus cannot load is ReloadFailedError; the old one stays in force', async () => {
    const config = join(dir, 'prometheus.yml');
    const good = await readFile(config, 'utf8');
    await writeFile(config, `${good}  - job_name: [broken\n`);
    try {
      const error = await prometheus.client.reload().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ReloadFailedError);
      expect((error as ReloadFailedError).prometheusMessage).toMatch(/yaml|parsing/i);
      expect(await prometheus.client.ready()).toBe(true);
    } finally {
      await writeFile(config, good);
    }
    await prometheus.client.reload();
  });

  it('lifecycle API off: reload() is ReloadUnavailableError; sync falls back to the file watch, or to the given reload (SIGHUP)', async () => {
    const dir2 = await hostDir('prometheus-nolifecycle');
    const file2 = join(dir2, 'targets', 'vllm.json');
    await writeFile(join(dir2, 'prometheus.yml'), renderPrometheusConfig({ modelTargetsFile: `${MOUNT}/targets/vllm.json`, scrapeInterval: '1s' }), { mode: 0o644 });
    const off = await startPrometheus('prometheus-nolifecycle', dir2, false);

    const error = await off.client.reload().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ReloadUnavailableError);
    expect((error as ReloadUnavailableError).status).toBe(403);

    const watched = await syncPrometheusTargets({ models: [modelA], targetsFile: file2, client: off.client, confirm: { until: 'up', timeoutMs: 30_000 } });
    expect(watched).toMatchObject({ changed: true, reloaded: 'watch', confirmed: true });
    expect(watched.targets[0]).toMatchObject({ target: `${a.name}:8000`, health: 'up' });
    expect(watched.warnings).toEqual([
      "Prometheus' lifecycle API is off (no --web.enable-lifecycle): relying on its file watch to pick up the new targets",
    ]);

    let sighups = 0;
    const gone: RunningModelTarget = { key: 'gone', address: `${prefix}-never-started:8000`, servedModelName: 'gone', gpus: 'none' };
    const signalled = await syncPrometheusTargets({
      models: [modelA, gone],
      targetsFile: file2,
      client: off.client,
      reload: async () => {
        sighups++;
        await docker(['kill', '--signal', 'HUP', off.id]);
      },
      confirm: { until: 'scraped', timeoutMs: 30_000 },
    });
    expect(sighups).toBe(1);
    expect(signalled).toMatchObject({ changed: true, reloaded: 'fallback', confirmed: true });
    const goneStatus = signalled.targets.find((t) => t.model === 'gone');
    expect(goneStatus).toMatchObject({ known: true, health: 'down' });
    expect(goneStatus?.lastError).toMatch(/no such host|lookup/);
    expect(signalled.warnings).toEqual([`${gone.address} (gone) is down: ${goneStatus?.lastError}`]);
  });

  it('a Prometheus that does not answer is PrometheusUnreachableError, after the file is written', async () => {
    const dir3 = await hostDir('prometheus-unreachable');
    const file3 = join(dir3, 'targets', 'vllm.json');
    const client = createPrometheusClient({ baseUrl: 'http://127.0.0.1:9', timeoutMs: 2000 });
    const error = await syncPrometheusTargets({ models: [modelA], targetsFile: file3, client }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PrometheusUnreachableError);
    expect(JSON.parse(await readFile(file3, 'utf8'))).toHaveLength(1);
  });
});
