import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ConfigFileError, ConfigValidationError } from './errors.js';
import { parseEnvFile } from './env-file.js';
import { loadConfig } from './load-config.js';
import { parseConfig } from './parse-config.js';

const fixture = fileURLToPath(new URL('../test-fixtures/reference', import.meta.url));
const packageDir = fileURLToPath(new URL('..', import.meta.url));
/** A reference-tool project whose .env sets every name the tool knew. */
const oldEnvFixture = fileURLToPath(new URL('../test-fixtures/reference-env', import.meta.url));

describe('the reference fixture', () => {
  test('loads unchanged, with the exact vLLM arguments', async () => {
    const config = await loadConfig({ cwd: fixture, env: {}, homeDir: '/home/u' });
    expect(config.file).toBe(join(fixture, 'model_config/models.yaml'));
    expect(config.projectDir).toBe(fixture);
    expect(config.models.map((m) => [m.key, m.containerName, m.model, m.servedModelName])).toEqual([
      ['qwen-vl-4b-instruct', 'inference-qwen-vl-4b-instruct', 'Qwen/Qwen3-VL-4B-Instruct', 'Qwen/Qwen3-VL-4B-Instruct'],
      ['llama-3.1-8b-instruct', 'inference-llama-3.1-8b-instruct', 'meta-llama/Llama-3.1-8B-Instruct', 'meta-llama/Llama-3.1-8B-Instruct'],
      ['Qwen/Qwen2.5-7B-Instruct', 'inference-Qwen--Qwen2.5-7B-Instruct', 'Qwen/Qwen2.5-7B-Instruct', 'qwen2.5-7b'],
    ]);
    expect(config.models.map((m) => m.vllmArgs)).toEqual([
      [
        '--tensor-parallel-size', '1',
        '--gpu-memory-utilization', '0.9',
        '--max-model-len', '16384',
        '--limit-mm-per-prompt', '{"image": 1}',
        '--tool-call-parser', 'hermes',
        '--trust-remote-code',
        '--enable-auto-tool-choice',
      ],
      [
        '--tensor-parallel-size', '2',
        '--gpu-memory-utilization', '0.85',
        '--max-model-len', '32768',
        '--enable-prefix-caching',
      ],
      ['--max-model-len', '8192', '--served-model-name', 'qwen2.5-7b'],
    ]);
    const [qwen, llama, qwen25] = config.models;
    expect(qwen).toMatchObject({
      image: 'vllm/vllm-openai:v0.11.0',
      pullPolicy: 'missing',
      gpus: { kind: 'devices', indices: [0] },
      cpusetCpus: '0-3',
      shmSizeBytes: 8 * 1024 ** 3,
      tensorParallelSize: 1,
      gpuMemoryUtilization: 0.9,
      env: { HF_HOME: '/root/.cache/huggingface', VLLM_NO_USAGE_STATS: '1' },
      secretEnv: { HF_TOKEN: 'hf_fixture_not_a_real_token' },
      volumes: [{ source: '/home/u/.cache/huggingface', target: '/root/.cache/huggingface', readOnly: false }],
      source: { file: 'model_config/models.yaml', line: 3, column: 5 },
    });
    expect(qwen?.apiKey).toBeUndefined();
    expect(llama).toMatchObject({ gpus: { kind: 'devices', indices: [1, 2] }, shmSizeBytes: 16 * 1024 ** 3 });
    expect(qwen25?.cpusetCpus).toBe('8,9,10,11');
    expect(qwen?.env).not.toHaveProperty('VLLM_PORT');
    expect(config.gateway).toMatchObject({
      mode: 'managed',
      port: 8000,
      url: 'http://127.0.0.1:8000',
      masterKey: 'sk-fixture-master-key',
      saltKey: 'sk-fixture-salt-key',
      configFile: join(fixture, 'litellm/config.yaml'),
    });
    expect(config.monitoring.grafana.adminPassword).toBe('fixture-admin-password');
    expect(config.settings.LITELLM_NUM_WORKERS).toBe('1');
    expect(config.network).toBe('inference_default');
  });

  test("a reference-tool .env with every name it knows fills every typed field", async () => {
    const config = await loadConfig({ cwd: oldEnvFixture, env: {}, homeDir: '/home/u' });
    expect(config.models[0]).toMatchObject({
      image: 'vllm/vllm-openai:v0.19.1',
      secretEnv: { HF_TOKEN: 'hf_fixture_not_a_real_token' },
      volumes: [{ source: '/srv/hf-cache', target: '/root/.cache/huggingface', readOnly: false }],
    });
    expect(config.gateway).toEqual({
      mode: 'managed',
      sync: 'config',
      url: 'http://127.0.0.1:8100',
      port: 8100,
      bindAddress: '127.0.0.1',
      image: 'ghcr.io/berriai/litellm:v1.84.1',
      containerName: 'litellm',
      configFile: join(oldEnvFixture, 'litellm/config.yaml'),
      masterKey: 'sk-fixture-master-key-0123456789',
      saltKey: 'sk-fixture-salt-key-0123456789',
      uiUsername: 'ops',
      uiPassword: 'fixture-ui-password-0123456789',
      database: { image: 'postgres:16.9-alpine', password: 'fixture-db-password-0123456789' },
    });
    expect(config.monitoring).toMatchObject({
      prometheusPort: 9191,
      prometheusImage: 'prom/prometheus:v3.4.2',
      nodeExporter: { image: 'quay.io/prometheus/node-exporter:v1.10.2' },
      dcgmExporter: {
        image: 'nvcr.io/nvidia/k8s/dcgm-exporter:4.2.3-4.3.0-ubuntu22.04',
        remoteHostengine: 'host.docker.internal:5555',
        devices: 'g:0-1',
        intervalMs: 15000,
      },
      grafana: { port: 3300, image: 'grafana/grafana:12.3.0', adminUser: 'grafana-ops', adminPassword: 'fixture-grafana-password-0123456789' },
    });
    expect(config.settings.LITELLM_NUM_WORKERS).toBe('2');
  });

  test('the same names work from the environment, and a value in models.yaml wins over both', async () => {
    const env = { ...parseEnvFile(await readFile(join(oldEnvFixture, '.env'), 'utf8'), '.env').values };
    const dir = await mkdtemp(join(tmpdir(), 'inferstack-oldenv-'));
    try {
      await writeFile(join(dir, 'models.yaml'), 'models:\n  - qwen: {model: Qwen/Qwen3-4B, gpus: [0]}\n');
      const fromEnv = await loadConfig({ cwd: dir, file: 'models.yaml', env, homeDir: '/home/u' });
      const fromFile = await loadConfig({ cwd: oldEnvFixture, env: {}, homeDir: '/home/u' });
      expect({ ...fromEnv.gateway, configFile: '' }).toEqual({ ...fromFile.gateway, configFile: '' });
      expect({ ...fromEnv.monitoring, targetsDir: '' }).toEqual({ ...fromFile.monitoring, targetsDir: '' });

      await writeFile(
        join(dir, 'models.yaml'),
        [
          'gateway:',
          '  image: ghcr.io/berriai/litellm:v1.108.14',
          '  ui-username: admin2',
          '  database: {image: postgres:16.10-alpine}',
          'monitoring:',
          '  prometheus: {image: prom/prometheus:v3.5.0}',
          '  grafana: {image: grafana/grafana:13.2.3, admin-user: boss}',
          '  node-exporter: {image: quay.io/prometheus/node-exporter:v1.12.1}',
          '  dcgm-exporter: {image: nvcr.io/nvidia/k8s/dcgm-exporter:4.5.3-4.8.2-ubuntu22.04, remote-hostengine: "10.0.0.5:5555", devices: f, interval: 5000}',
          'models:',
          '  - qwen: {model: Qwen/Qwen3-4B, gpus: [0]}',
          '',
        ].join('\n'),
      );
      const fileWins = await loadConfig({ cwd: dir, file: 'models.yaml', env, homeDir: '/home/u' });
      expect(fileWins.gateway).toMatchObject({
        image: 'ghcr.io/berriai/litellm:v1.108.14',
        uiUsername: 'admin2',
        uiPassword: 'fixture-ui-password-0123456789',
        database: { image: 'postgres:16.10-alpine', password: 'fixture-db-password-0123456789' },
      });
      expect(fileWins.monitoring).toMatchObject({
        prometheusImage: 'prom/prometheus:v3.5.0',
        grafana: { image: 'grafana/grafana:13.2.3', adminUser: 'boss' },
        nodeExporter: { image: 'quay.io/prometheus/node-exporter:v1.12.1' },
        dcgmExporter: { image: 'nvcr.io/nvidia/k8s/dcgm-exporter:4.5.3-4.8.2-ubuntu22.04', remoteHostengine: '10.0.0.5:5555', devices: 'f', intervalMs: 5000 },
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test("our own names for the gateway database work too, and may not disagree with the reference tool's", async () => {
    const models = 'models:\n  - qwen: {model: Qwen/Qwen3-4B, gpus: [0]}\n';
    const ours = parseConfig(models, { settings: { LITELLM_DB_PASSWORD: 'pw-ours-0123', LITELLM_DB_IMAGE: 'postgres:16.8-alpine' } });
    expect(ours.gateway.database).toEqual({ image: 'postgres:16.8-alpine', password: 'pw-ours-0123' });
    const same = parseConfig(models, { settings: { LITELLM_DB_PASSWORD: 'pw-0123', POSTGRES_PASSWORD: 'pw-0123' } });
    expect(same.gateway.database.password).toBe('pw-0123');
    let error: unknown;
    try {
      parseConfig(models, {
        settings: { LITELLM_DB_PASSWORD: 'pw-ours-0123', POSTGRES_PASSWORD: 'pw-theirs-0123', POSTGRES_IMAGE: 'postgres:16-alpine', LITELLM_DB_IMAGE: 'postgres:17-alpine' },
        settingLocations: { LITELLM_DB_PASSWORD: { file: '.env', line: 7, column: 1 } },
      });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigValidationError);
    const issues = (error as ConfigValidationError).issues;
    expect(issues.map((i) => [i.file, i.line, i.code, i.path[0]])).toEqual([
      ['.env', 7, 'invalid-setting', 'LITELLM_DB_PASSWORD'],
      ['environment', 0, 'invalid-setting', 'LITELLM_DB_IMAGE'],
    ]);
    expect(JSON.stringify(issues)).not.toMatch(/pw-(ours|theirs)/);
  });

  test('bad values of the reference names are reported where they were set', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'inferstack-oldenv-'));
    try {
      await writeFile(join(dir, 'models.yaml'), 'models:\n  - qwen: {model: Qwen/Qwen3-4B}\n');
      const lines = ['GRAFANA_IMAGE=grafana grafana', 'DCGM_REMOTE_HOSTENGINE_INFO=http://host:5555', 'DCGM_EXPORTER_DEVICES_STR=all', 'DCGM_EXPORTER_INTERVAL=30s', 'LITELLM_IMAGE=:latest'];
      await writeFile(join(dir, '.env'), `${lines.join('\n')}\n`);
      const error = await loadConfig({ cwd: dir, file: 'models.yaml', env: {} }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(ConfigValidationError);
      expect((error as ConfigValidationError).issues.map((i) => [i.file, i.line, i.path[0]]).sort((a, b) => Number(a[1]) - Number(b[1]))).toEqual([
        ['.env', 1, 'GRAFANA_IMAGE'],
        ['.env', 2, 'DCGM_REMOTE_HOSTENGINE_INFO'],
        ['.env', 3, 'DCGM_EXPORTER_DEVICES_STR'],
        ['.env', 4, 'DCGM_EXPORTER_INTERVAL'],
        ['.env', 5, 'LITELLM_IMAGE'],
      ]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('the environment overrides .env; unrelated variables stay out', async () => {
    const config = await loadConfig({
      cwd: fixture,
      env: { GATEWAY_PORT: '9000', HF_TOKEN: 'hf_from_env', PATH: '/usr/bin', INFERSTACK_FOO: 'x' },
    });
    expect(config.gateway.port).toBe(9000);
    expect(config.models[0]?.secretEnv.HF_TOKEN).toBe('hf_from_env');
    expect(config.settings).not.toHaveProperty('PATH');
    expect(config.settings.INFERSTACK_FOO).toBe('x');
  });

  test('finds the project directory from a file path given relative to another cwd', async () => {
    const config = await loadConfig({ cwd: packageDir, file: 'test-fixtures/reference/model_config/models.yaml', env: {} });
    expect(config.projectDir).toBe(fixture);
    expect(config.models[0]?.source.file).toBe('test-fixtures/reference/model_config/models.yaml');
    expect(config.gateway.masterKey).toBe('sk-fixture-master-key');
  });

  test('select keeps the named models in file order', async () => {
    const config = await loadConfig({ cwd: fixture, env: {}, select: ['Qwen/Qwen2.5-7B-Instruct', 'qwen-vl-4b-instruct'] });
    expect(config.models.map((m) => m.key)).toEqual(['qwen-vl-4b-instruct', 'Qwen/Qwen2.5-7B-Instruct']);
  });
});

describe('files', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'inferstack-config-'));
    await mkdir(join(dir, 'model_config'));
    await writeFile(join(dir, 'model_config/models.yaml'), 'models:\n  a:\n    model: x\n    gpus: [zero]\n');
    await writeFile(join(dir, '.env'), 'GATEWAY_PORT=8001\nnot a line\n');
    await writeFile(join(dir, 'ok.yaml'), 'models:\n  a: {model: x}\n');
    await writeFile(join(dir, 'other.env'), 'GATEWAY_PORT=8123\n');
    await writeFile(join(dir, 'huge.yaml'), `models: {}\n#${'x'.repeat(5 * 1024 * 1024)}\n`);
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('reports models.yaml and .env problems together', async () => {
    const error = await loadConfig({ cwd: dir, env: {} }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigValidationError);
    expect((error as ConfigValidationError).format().split('\n')).toEqual([
      expect.stringMatching(/^\.env:2:1 error: expected NAME=value/),
      'model_config/models.yaml:4:12 error: model "a": gpus[0] must be a GPU index (got "zero") — use a list of GPU indices like gpus: [0, 1], or all, auto (serve picks free GPUs), or none (no GPU)',
    ]);
  });

  test('the .env next to a file outside model_config/, or an explicit one', async () => {
    await expect(loadConfig({ cwd: dir, file: 'ok.yaml', env: {} })).rejects.toBeInstanceOf(ConfigValidationError);
    const explicit = await loadConfig({ cwd: dir, file: 'ok.yaml', envFile: 'other.env', env: {} });
    expect(explicit.gateway.port).toBe(8123);
    await expect(loadConfig({ cwd: dir, file: 'ok.yaml', envFile: 'missing.env', env: {} })).rejects.toBeInstanceOf(ConfigFileError);
  });

  test('a missing .env is fine', async () => {
    const config = await loadConfig({ cwd: fixture, file: join(dir, 'ok.yaml'), envFile: join(dir, 'other.env'), env: {} });
    expect(config.models).toHaveLength(1);
    const sub = join(dir, 'sub');
    await mkdir(sub, { recursive: true });
    await writeFile(join(sub, 'models.yaml'), 'models:\n  a: {model: x}\n');
    expect((await loadConfig({ cwd: sub, file: 'models.yaml', env: {} })).gateway.port).toBe(8000);
  });

  test('a missing models file or a directory is a ConfigFileError with a hint', async () => {
    const missing = await loadConfig({ cwd: join(dir, 'model_config') }).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(ConfigFileError);
    expect((missing as ConfigFileError).reason).toBe('not-found');
    expect((missing as ConfigFileError).hint).toContain('model_config/models.yaml');
    const directory = await loadConfig({ cwd: dir, file: 'model_config' }).catch((e: unknown) => e);
    expect((directory as ConfigFileError).reason).toBe('not-a-file');
  });

  test('refuses a huge file before parsing it', async () => {
    const error = await loadConfig({ cwd: dir, file: 'huge.yaml', envFile: 'other.env', env: {} }).catch((e: unknown) => e);
    expect((error as ConfigValidationError).issues).toMatchObject([{ code: 'file-too-large', file: 'huge.yaml' }]);
  });
});
