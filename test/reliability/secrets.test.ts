import { stackNameFor } from '../../packages/config/src/index.js';
// Secrets after a full run: a managed LiteLLM gateway (real image, config-file mode), a managed
// Prometheus (real image, Grafana off), two stand-in models (one behind a vLLM API key), and
// distinctive secrets in .env. Every command a user runs, a failing one and an export; then every
// place a secret could end up is searched: console output and error messages, labels of all we
// created, Prometheus' labels and loaded config, files in the project (0600 when they hold one),
// the argv of every container. Env may hold secrets: that is how Docker passes them.
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../packages/cli/test/_harness.js';
import { snapshotBin } from './_faults-support.js';
import { docker, sessionLabel, waitFor } from '../support/docker.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const LITELLM = process.env.INFERSTACK_TEST_LITELLM_IMAGE ?? 'inferstack-test/litellm:1.108.14';
import { PROMETHEUS_IMAGE as PROMETHEUS } from '../support/prometheus-image.js';
const NODE_EXPORTER = 'inferstack-test/node-exporter:1.5';
const STANDIN = 'inferstack-test/vllm-standin:latest';

/** One value per secret; `core` is its random part, searched for too (a cut or quoted leak still holds it). */
function secret(prefix: string): { value: string; core: string } {
  const core = randomBytes(12).toString('hex');
  return { value: `${prefix}${core}`, core };
}

const S = {
  HF_TOKEN: secret('hf_Rel'),
  LITELLM_MASTER_KEY: secret('sk-relmaster-'),
  LITELLM_SALT_KEY: secret('sk-relsalt-'),
  GRAFANA_ADMIN_PASSWORD: secret('relgrafana-'),
  MY_SERVICE_TOKEN: secret('relservice-'),
  MODEL_A_API_KEY: secret('relvllm-'),
};
type SecretName = keyof typeof S;

/** The secrets (by name) found in `text`: the whole value, or 12 characters of its random part. */
function secretsIn(text: string): SecretName[] {
  return (Object.keys(S) as SecretName[]).filter((k) => text.includes(S[k].value) || text.includes(S[k].core.slice(0, 12)) || text.includes(S[k].core.slice(-12)));
}

interface Run {
  args: string[];
  code: number;
  stdout: string;
  stderr: string;
}

const SETTING_LIKE = /^(INFERSTACK_|VLLM_|HF_|HUGGINGFACE_|GATEWAY_|LITELLM_|PROMETHEUS_|GRAFANA_|GF_|MY_SERVICE_TOKEN$|MODEL_A_API_KEY$)/;

// Each run may wait for another run's lock on this shared daemon: generous time per test.
describe('secrets after a full run with a managed gateway and Prometheus', { timeout: 900_000 }, () => {
  let cli = '';
  let dir = '';
  const runs: Run[] = [];
  const tag = randomBytes(3).toString('hex');
  const prefix = `rs${tag}`;
  const network = `inferstack-test-${prefix}`;
  const names = { gateway: `${prefix}-litellm`, prometheus: `${prefix}-prometheus`, nodeExporter: `${prefix}-node-exporter` };
  const keyA = `${prefix}-a`;
  const keyB = `${prefix}-b`;
  const keyFail = `${prefix}-gated`;
  let gatewayPort = 0;
  let prometheusPort = 0;

  const models = (withFailing: boolean) =>
    [
      `network: ${network}`,
      'gateway:',
      '  mode: managed',
      `  image: ${LITELLM}`,
      `  container-name: ${names.gateway}`,
      `  port: ${gatewayPort}`,
      'monitoring:',
      '  mode: managed',
      `  prometheus: {image: ${PROMETHEUS}, port: ${prometheusPort}, container-name: ${names.prometheus}}`,
      `  node-exporter: {image: ${NODE_EXPORTER}, container-name: ${names.nodeExporter}}`,
      '  grafana: {enabled: false}',
      'defaults:',
      `  image: ${STANDIN}`,
      '  pull: never',
      '  env: {STANDIN_LOAD_DELAY: "1"}',
      'models:',
      `  - ${keyA}:`,
      '      model: test/a',
      '      gpus: none',
      `      served-model-name: served-${keyA}`,
      '      api-key: ${MODEL_A_API_KEY}',
      `  - ${keyB}:`,
      '      model: test/b',
      '      gpus: none',
      `      served-model-name: served-${keyB}`,
      // A secret-named variable given in models.yaml itself: Env only, like HF_TOKEN.
      `      env: {MY_SERVICE_TOKEN: "${S.MY_SERVICE_TOKEN.value}"}`,
      ...(withFailing ? [`  - ${keyFail}:`, '      model: test/gated-model', '      gpus: none', '      env: {STANDIN_FAIL: gated}'] : []),
      '',
    ].join('\n');

  function serve(args: string[], options: { env?: Record<string, string>; timeoutMs?: number } = {}): Promise<Run> {
    const env: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !SETTING_LIKE.test(k)));
    Object.assign(env, { INFERSTACK_LABELS: sessionLabel(), INFERSTACK_HASH_KEY: 'reliability-hash-key', INFERSTACK_LOCK_WAIT_MS: '600000', NO_COLOR: '1', ...options.env });
    return new Promise((resolve) => {
      const child = spawn(process.execPath, [cli, ...args], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => (stdout += d));
      child.stderr.on('data', (d) => (stderr += d));
      const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 300_000);
      child.on('close', (code) => {
        clearTimeout(timer);
        const run = { args, code: code ?? -1, stdout, stderr };
        runs.push(run);
        resolve(run);
      });
    });
  }
  const shown = (r: Run) => `serve ${r.args.join(' ')} → ${r.code}\nstderr:\n${r.stderr}\nstdout:\n${r.stdout}`;

  async function inspect(ids: string[]): Promise<any[]> {
    return ids.length ? (JSON.parse((await docker(['inspect', ...ids])).stdout) as any[]) : [];
  }
  /** IDs (names for volumes) of what this file made: by session label, or by its name prefix. */
  async function ours(kind: 'ps -a' | 'network ls' | 'volume ls'): Promise<string[]> {
    const base = kind.split(' ');
    const list = async (args: string[]) => (await docker([...base, ...args])).stdout.split('\n').filter(Boolean);
    const format = kind === 'volume ls' ? '{{.Name}} {{.Name}}' : kind === 'ps -a' ? '{{.ID}} {{.Names}}' : '{{.ID}} {{.Name}}';
    const byLabel = (await list(['--filter', `label=${sessionLabel()}`, '--format', format])).map((l) => l.split(' ')[0]!);
    const byName = (await list(['--format', format])).filter((l) => l.split(' ')[1]?.includes(prefix)).map((l) => l.split(' ')[0]!);
    return [...new Set([...byLabel, ...byName])];
  }
  const prom = async (path: string) => {
    const r = await fetch(`http://127.0.0.1:${prometheusPort}${path}`, { signal: AbortSignal.timeout(10_000) });
    return { text: await r.text(), status: r.status };
  };

  /** A chat completion for model a through the gateway (which needs a's vLLM key to reach it). */
  const chat = async (key: string) =>
    fetch(`http://127.0.0.1:${gatewayPort}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: `served-${keyA}`, messages: [{ role: 'user', content: 'hi' }] }),
      signal: AbortSignal.timeout(60_000),
    });

  beforeAll(async () => {
    cli = (await snapshotBin()).bin;
    gatewayPort = await freePort();
    prometheusPort = await freePort();
    dir = mkdtempSync(join(tmpdir(), 'inferstack-secrets-'));
    mkdirSync(join(dir, 'model_config'));
    mkdirSync(join(dir, 'hf-cache'));
    writeFileSync(join(dir, 'model_config', 'models.yaml'), models(false));
    writeFileSync(
      join(dir, '.env'),
      [
        `HF_TOKEN=${S.HF_TOKEN.value}`,
        'HUGGINGFACE_CACHE=hf-cache',
        `LITELLM_MASTER_KEY=${S.LITELLM_MASTER_KEY.value}`,
        `LITELLM_SALT_KEY=${S.LITELLM_SALT_KEY.value}`,
        `GRAFANA_ADMIN_PASSWORD=${S.GRAFANA_ADMIN_PASSWORD.value}`,
        `MY_SERVICE_TOKEN=${S.MY_SERVICE_TOKEN.value}`,
        `MODEL_A_API_KEY=${S.MODEL_A_API_KEY.value}`,
        'PROMETHEUS_SCRAPE_INTERVAL=1s',
        '',
      ].join('\n'),
      { mode: 0o600 },
    );
  });

  afterAll(async () => {
    const containers = await ours('ps -a');
    if (containers.length) await docker(['rm', '-f', '-v', ...containers], { allowFail: true });
    for (const n of await ours('network ls')) await docker(['network', 'rm', n], { allowFail: true });
    for (const v of await ours('volume ls')) await docker(['volume', 'rm', '-f', v], { allowFail: true });
    if (dir) rmSync(dir, { recursive: true, force: true });
    if (cli) rmSync(dirname(dirname(cli)), { recursive: true, force: true });
  });

  it('serve up starts the gateway, Prometheus and both models', async () => {
    const r = await serve(['up'], { timeoutMs: 400_000 });
    expect(r.code, shown(r)).toBe(0);
    expect(r.stderr).toMatch(/2 model\(s\) routed/);
  });

  it('up --json and up --debug (nothing to change) succeed', async () => {
    const json = await serve(['up', '--json']);
    expect(json.code, shown(json)).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({ ok: true });
    const debug = await serve(['up', '--debug']);
    expect(debug.code, shown(debug)).toBe(0);
  });

  it('the secrets are in play: the gateway takes the master key and reaches the model behind its vLLM key', async () => {
    const ok = await chat(S.LITELLM_MASTER_KEY.value);
    expect(ok.status, await ok.clone().text()).toBe(200);
    expect(((await ok.json()) as { choices: Array<{ message: { content: string } }> }).choices[0]!.message.content).toContain(`served-${keyA}`);
    expect((await chat('sk-wrong')).status).toBeGreaterThanOrEqual(400);
    // The model itself refuses a caller without its key.
    const [a] = await inspect([`inference-${keyA}`]);
    const ip = a.NetworkSettings.Networks[network].IPAddress as string;
    expect((await fetch(`http://${ip}:8000/v1/models`, { signal: AbortSignal.timeout(10_000) })).status).toBe(401);
    expect((await fetch(`http://${ip}:8000/v1/models`, { headers: { authorization: `Bearer ${S.MODEL_A_API_KEY.value}` }, signal: AbortSignal.timeout(10_000) })).status).toBe(200);
  });

  it('status, status --json, plan --json, sync --json and logs succeed', async () => {
    for (const args of [['status'], ['status', '--json'], ['plan', '--json'], ['sync', '--json'], ['logs', keyA, '--tail', '200']]) {
      const r = await serve(args);
      expect(r.code, shown(r)).toBe(0);
      if (args.includes('--json')) expect(() => JSON.parse(r.stdout), shown(r)).not.toThrow();
    }
  });

  it('a failing up of one named model (a gated one) is exit 1 with its diagnosis, and leaves the gateway as it was', async () => {
    const gatewayBefore = (await inspect([names.gateway]))[0].Id as string;
    writeFileSync(join(dir, 'model_config', 'models.yaml'), models(true));
    const r = await serve(['up', keyFail], { timeoutMs: 300_000 });
    expect(r.code, shown(r)).toBe(1);
    expect(r.stderr).toMatch(/gated/i);
    const json = await serve(['up', '--json', keyFail], { timeoutMs: 300_000 });
    expect(json.code, shown(json)).toBe(1);
    expect(JSON.parse(json.stdout).models[0].error.message).toBeTruthy();
    writeFileSync(join(dir, 'model_config', 'models.yaml'), models(false));
    // "up <one model>" must not rebuild the gateway from that model alone: model a's key stays.
    expect((await inspect([names.gateway]))[0].Id, 'the gateway was recreated').toBe(gatewayBefore);
    expect((await chat(S.LITELLM_MASTER_KEY.value)).status).toBe(200);
  });

  // Another change adds `serve export`; decided from the source, not the build (a rebuild in progress must not skip it).
  const hasExport = existsSync(join(HERE, '../../packages/cli/src/commands/export.ts'));
  it.skipIf(!hasExport)('serve export compose, to stdout and to a file (skipped only when the command does not exist)', async () => {
    const out = await serve(['export', 'compose']);
    expect(out.code, shown(out)).toBe(0);
    expect(out.stdout).toMatch(/services:/);
    const file = await serve(['export', 'compose', '-o', 'compose.yml']);
    expect(file.code, shown(file)).toBe(0);
    // The secrets are there as references, to be filled from .env by compose.
    expect(readFileSync(join(dir, 'compose.yml'), 'utf8')).toMatch(/\$\{LITELLM_MASTER_KEY\}/);
  });

  it('an unreachable gateway makes sync fail with an error that names no secret', async () => {
    await docker(['stop', '-t', '1', names.gateway]);
    const r = await serve(['sync', '--json'], { env: { INFERSTACK_GATEWAY_TIMEOUT_MS: '2000' } });
    expect(r.code, shown(r)).toBe(1);
    expect(JSON.parse(r.stdout).gateway.ok).toBe(false);
    const text = await serve(['sync'], { env: { INFERSTACK_GATEWAY_TIMEOUT_MS: '2000' } });
    expect(text.code, shown(text)).toBe(1);
    expect(text.stderr).toMatch(/gateway sync failed/);
    await docker(['start', names.gateway]);
  });

  it('no console output of any run holds a secret (stdout and stderr, errors included)', () => {
    expect(runs.length).toBeGreaterThanOrEqual(14);
    for (const r of runs) {
      expect(secretsIn(r.stdout), `stdout of serve ${r.args.join(' ')}`).toEqual([]);
      expect(secretsIn(r.stderr), `stderr of serve ${r.args.join(' ')}`).toEqual([]);
    }
  });

  it('no label of any container, network or volume we made holds a secret', async () => {
    const containers = await inspect(await ours('ps -a'));
    // Everything: the three services and the two models (and the failed model, if it was kept).
    expect(containers.map((c) => c.Name.slice(1))).toEqual(
      expect.arrayContaining([names.gateway, names.prometheus, names.nodeExporter, `inference-${keyA}`, `inference-${keyB}`]),
    );
    for (const c of containers) {
      expect(c.Config.Labels[sessionLabel().split('=')[0]!], c.Name).toBe(sessionLabel().split('=')[1]);
      expect(secretsIn(JSON.stringify(c.Config.Labels)), `labels of ${c.Name}`).toEqual([]);
    }
    const networks = JSON.parse((await docker(['network', 'inspect', ...(await ours('network ls'))])).stdout) as Array<{ Name: string; Labels: Record<string, string> }>;
    expect(networks.map((n) => n.Name)).toContain(network);
    for (const n of networks) expect(secretsIn(JSON.stringify(n.Labels ?? {})), `labels of network ${n.Name}`).toEqual([]);
    const volumes = await ours('volume ls');
    expect(volumes).toContain(`${names.prometheus}-data`);
    for (const v of JSON.parse((await docker(['volume', 'inspect', ...volumes])).stdout) as Array<{ Name: string; Labels: Record<string, string> | null }>) {
      expect(secretsIn(JSON.stringify(v.Labels ?? {})), `labels of volume ${v.Name}`).toEqual([]);
    }
  });

  it('the argv of every container holds no secret; the secrets reach them only through Env', async () => {
    const containers = await inspect(await ours('ps -a'));
    for (const c of containers) {
      const argv = JSON.stringify({ Path: c.Path, Args: c.Args, Cmd: c.Config.Cmd, Entrypoint: c.Config.Entrypoint });
      expect(secretsIn(argv), `argv of ${c.Name}`).toEqual([]);
    }
    const env = (name: string) => (containers.find((c) => c.Name === `/${name}`)?.Config.Env ?? []) as string[];
    // Controls: the values are really there, where they belong (so the searches above can fail).
    expect(env(`inference-${keyA}`)).toEqual(expect.arrayContaining([`VLLM_API_KEY=${S.MODEL_A_API_KEY.value}`, `HF_TOKEN=${S.HF_TOKEN.value}`]));
    expect(env(`inference-${keyB}`)).toEqual(expect.arrayContaining([`HF_TOKEN=${S.HF_TOKEN.value}`, `MY_SERVICE_TOKEN=${S.MY_SERVICE_TOKEN.value}`]));
    expect(env(`inference-${keyB}`).join('\n')).not.toContain('VLLM_API_KEY');
    expect(env(names.gateway)).toEqual(expect.arrayContaining([`LITELLM_MASTER_KEY=${S.LITELLM_MASTER_KEY.value}`, `LITELLM_SALT_KEY=${S.LITELLM_SALT_KEY.value}`]));
    // The models' vLLM keys reach the gateway through the stack's keys file (0600, see below),
    // read by the plugin: not its Env, which would need a new container for each new key.
    expect(env(names.gateway).some((e) => e.endsWith(`=${S.MODEL_A_API_KEY.value}`))).toBe(false);
    // Prometheus and node-exporter get none.
    expect(secretsIn(env(names.prometheus).join('\n'))).toEqual([]);
    expect(secretsIn(env(names.nodeExporter).join('\n'))).toEqual([]);
  });

  it('Prometheus knows no secret: target labels, every label value, its loaded config', async () => {
    const targets = await waitFor(
      'both models and the gateway as targets',
      async () => {
        const t = JSON.parse((await prom('/api/v1/targets')).text) as { data: { activeTargets: Array<{ labels: Record<string, string>; scrapePool: string }> } };
        const models = t.data.activeTargets.filter((x) => x.labels.model === keyA || x.labels.model === keyB);
        return models.length === 2 ? t : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 500 },
    );
    expect(secretsIn(JSON.stringify(targets)), '/api/v1/targets').toEqual([]);
    const labelNames = JSON.parse((await prom('/api/v1/labels')).text).data as string[];
    expect(labelNames).toContain('__name__');
    for (const name of labelNames) {
      const values = await prom(`/api/v1/label/${encodeURIComponent(name)}/values`);
      expect(values.status).toBe(200);
      expect(secretsIn(values.text), `values of label ${name}`).toEqual([]);
    }
    const config = await prom('/api/v1/status/config');
    expect(config.status).toBe(200);
    expect(config.text).toMatch(/bearer_token_file|credentials_file/);
    expect(secretsIn(config.text), 'the configuration Prometheus loaded').toEqual([]);
  });

  it('every file the runs wrote in the project is 0600 when it holds a secret; the LiteLLM config holds none', () => {
    const files: string[] = [];
    const walk = (rel: string) => {
      for (const entry of readdirSync(join(dir, rel), { withFileTypes: true })) {
        const path = join(rel, entry.name);
        if (entry.isDirectory()) walk(path);
        else files.push(path);
      }
    };
    walk('');
    const inputs = ['.env', join('model_config', 'models.yaml')];
    const written = files.filter((f) => !inputs.includes(f)).sort();
    expect(written).toEqual(expect.arrayContaining([join('litellm', 'config.yaml'), join('prometheus', 'targets', `inferstack-${stackNameFor(dir)}.json`), join('.inferstack', 'prometheus', 'prometheus.yml')]));
    const withSecrets: string[] = [];
    for (const f of written) {
      const found = secretsIn(readFileSync(join(dir, f), 'latin1'));
      if (found.length === 0) continue;
      withSecrets.push(`${f} (${found.join(', ')})`);
      expect((statSync(join(dir, f)).mode & 0o777).toString(8), `${f} holds ${found.join(', ')}`).toBe('600');
    }
    // The files that have to hold a secret: the gateway key Prometheus scrapes /metrics with,
    // and the stack's keys file the gateway's plugin reads the models' vLLM keys from.
    expect(withSecrets, `files: ${written.join(', ')}`).toEqual([
      `${join('.inferstack', 'prometheus', 'litellm-key')} (LITELLM_MASTER_KEY)`,
      `${join('litellm', `inferstack_keys.${stackNameFor(dir)}.json`)} (MODEL_A_API_KEY)`,
    ]);
    const litellm = readFileSync(join(dir, 'litellm', 'config.yaml'), 'utf8');
    expect(litellm).toContain('os.environ/LITELLM_MASTER_KEY');
    expect(litellm).toMatch(/api_key: os\.environ\/\w+/);
    expect(litellm).not.toContain(S.LITELLM_MASTER_KEY.value);
    expect(litellm).not.toContain(S.MODEL_A_API_KEY.value);
  });

  it('the gateway and Prometheus are published on 127.0.0.1 only; the models not at all', async () => {
    const containers = await inspect(await ours('ps -a'));
    const bindings = (c: any) =>
      Object.entries((c.HostConfig.PortBindings ?? {}) as Record<string, Array<{ HostIp: string; HostPort: string }> | null>).flatMap(([port, list]) => (list ?? []).map((b) => ({ port, ...b })));
    const gateway = containers.find((c) => c.Name === `/${names.gateway}`);
    const prometheus = containers.find((c) => c.Name === `/${names.prometheus}`);
    expect(bindings(gateway)).toEqual([{ port: '4000/tcp', HostIp: '127.0.0.1', HostPort: String(gatewayPort) }]);
    expect(bindings(prometheus)).toEqual([{ port: '9090/tcp', HostIp: '127.0.0.1', HostPort: String(prometheusPort) }]);
    // What the daemon actually bound (the gateway is running again after the sync test).
    for (const c of await inspect([names.gateway, names.prometheus])) {
      const live = Object.values((c.NetworkSettings.Ports ?? {}) as Record<string, Array<{ HostIp: string }> | null>).flatMap((l) => l ?? []);
      expect(live.length, c.Name).toBeGreaterThan(0);
      for (const b of live) expect(b.HostIp, c.Name).toBe('127.0.0.1');
    }
    for (const c of containers.filter((x) => x.Name.startsWith('/inference-') || x.Name === `/${names.nodeExporter}`)) {
      expect(bindings(c), c.Name).toEqual([]);
    }
  });
});
