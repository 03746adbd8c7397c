import { stackNameFor } from '@inferstack/config';
import { execFile, spawn } from 'node:child_process';
import { appendFileSync, cpSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { CLI, STANDIN, STANDIN_LEGACY, docker, removeByLabel, sessionId, freePort } from './_harness.js';

const NODE_IMAGE = 'inferstack-test/node:20';

interface Check {
  id: string;
  status: 'ok' | 'warn' | 'fail';
  message: string;
}

interface Compose {
  services: Record<string, { image?: string; command?: string[]; environment?: Record<string, string>; labels?: Record<string, string>; ports?: Array<{ host_ip: string; published: string }> }>;
}

/** Run the built bin in `dir`, as a user would. */
function serve(dir: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      cwd: dir,
      env: { ...process.env, INFERSTACK_LABELS: `inferstack.test=${sessionId()}`, INFERSTACK_HASH_KEY: 'test-hash-key', NO_COLOR: '1', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr });
    });
  });
}

/** Every file under `dir` with its mode, mtime and content. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else {
        const s = statSync(p);
        out[relative(dir, p)] = `${(s.mode & 0o777).toString(8)} ${s.mtimeMs} ${readFileSync(p, 'utf8')}`;
      }
    }
  };
  walk(dir);
  return out;
}

const mode = (p: string) => statSync(p).mode & 0o777;
const envValue = (dir: string, name: string) => new RegExp(`^${name}=(.*)$`, 'm').exec(readFileSync(join(dir, '.env'), 'utf8'))?.[1] ?? '';
const byId = (checks: Check[], id: string) => checks.find((c) => c.id === id);

describe('serve init / doctor / export against a real daemon', () => {
  let dir: string;
  let ports: NodeJS.ProcessEnv;
  const containerName = `inferstack-test-doctor-${process.pid}`;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'inferstack-init-'));
    // Ports no one else uses on this shared daemon, through the environment (it wins over .env).
    ports = { GATEWAY_PORT: String(await freePort()), PROMETHEUS_PORT: String(await freePort()), GRAFANA_PORT: String(await freePort()) };
  });
  afterAll(async () => {
    await removeByLabel(`inferstack.test=${sessionId()}`, (name) => name === containerName);
    rmSync(dir, { recursive: true, force: true });
  });

  it('init writes the project with the right modes into an empty directory, printing no key', async () => {
    const r = await serve(dir, ['init']);
    expect(r.code).toBe(0);
    expect(mode(join(dir, '.env'))).toBe(0o600);
    expect(mode(join(dir, 'litellm', 'config.yaml'))).toBe(0o600);
    expect(mode(join(dir, 'model_config', 'models.yaml'))).toBe(0o644);
    expect(mode(join(dir, 'prometheus', 'targets', `inferstack-${stackNameFor(dir)}.json`))).toBe(0o644);
    expect(envValue(dir, 'LITELLM_MASTER_KEY')).toMatch(/^sk-[0-9a-f]{48}$/);
    expect(envValue(dir, 'HF_TOKEN')).toBe('');
    for (const k of ['LITELLM_MASTER_KEY', 'LITELLM_SALT_KEY', 'GRAFANA_ADMIN_PASSWORD']) {
      expect(envValue(dir, k).length).toBeGreaterThanOrEqual(32);
      expect(r.stdout + r.stderr).not.toContain(envValue(dir, k));
    }
    expect(r.stdout).toContain('serve doctor');
  });

  it('serve plan accepts the generated config', async () => {
    const r = await serve(dir, ['plan', '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const plan = JSON.parse(r.stdout) as { plan: Array<{ model: string; action: string }> };
    expect(plan.plan).toContainEqual(expect.objectContaining({ model: 'qwen2.5-1.5b-instruct', action: 'create' }));
  });

  it('a second init exits 2 and changes nothing; --force overwrites with new keys', async () => {
    const before = snapshot(dir);
    const again = await serve(dir, ['init']);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('nothing was written');
    expect(again.stderr).toContain('model_config/models.yaml');
    expect(snapshot(dir)).toEqual(before);

    const oldKey = envValue(dir, 'LITELLM_MASTER_KEY');
    const forced = await serve(dir, ['init', '--force', '--json']);
    expect(forced.code).toBe(0);
    const report = JSON.parse(forced.stdout) as { files: Array<{ file: string; overwritten: boolean }> };
    expect(report.files.every((f) => f.overwritten)).toBe(true);
    expect(envValue(dir, 'LITELLM_MASTER_KEY')).not.toBe(oldKey);
    expect(mode(join(dir, '.env'))).toBe(0o600);
    expect(forced.stdout).not.toContain(envValue(dir, 'LITELLM_MASTER_KEY'));
  });

  it('doctor: the daemon and its API version, no NVIDIA runtime (a warning), exit 0 with warnings only', async () => {
    const r = await serve(dir, ['doctor', '--json'], ports);
    const report = JSON.parse(r.stdout) as { ok: boolean; exitCode: number; checks: Check[] };
    const version = await docker.version();
    expect(byId(report.checks, 'config')?.status).toBe('ok');
    expect(byId(report.checks, 'docker')).toMatchObject({ status: 'ok', message: expect.stringMatching(/daemon answers at (unix|tcp):\/\//) });
    expect(byId(report.checks, 'docker-api')).toMatchObject({ status: 'ok', message: expect.stringContaining(`API ${version.ApiVersion} (1.41 or newer needed)`) });
    expect(byId(report.checks, 'nvidia-runtime')).toMatchObject({ status: 'warn', message: expect.stringContaining('no NVIDIA runtime') });
    expect(byId(report.checks, 'gpus')?.status).toBe('warn');
    expect(byId(report.checks, 'port-gateway')).toMatchObject({ status: 'ok', message: expect.stringContaining(`127.0.0.1:${ports.GATEWAY_PORT} is free`) });
    expect(byId(report.checks, 'master-key')?.status).toBe('ok');
    expect(report.checks.filter((c) => c.status === 'fail')).toEqual([]);
    expect(r.code).toBe(0);
    expect(report.exitCode).toBe(0);
  });

  it('doctor: a port published by our own container is fine, by any other container it is not', async () => {
    const port = await freePort();
    const c = await docker.createContainer({
      name: containerName,
      Image: NODE_IMAGE,
      Cmd: ['node', '-e', 'setInterval(() => {}, 1e9)'],
      Labels: { 'inferstack.test': sessionId(), 'inferstack.service': 'gateway' },
      ExposedPorts: { '4000/tcp': {} },
      HostConfig: { PortBindings: { '4000/tcp': [{ HostIp: '127.0.0.1', HostPort: String(port) }] } },
    });
    await c.start();
    const ours = await serve(dir, ['doctor', '--json'], { ...ports, GATEWAY_PORT: String(port) });
    // container-name is not in the file yet: the gateway is "litellm", so this container is someone else's.
    expect(byId((JSON.parse(ours.stdout) as { checks: Check[] }).checks, 'port-gateway')).toMatchObject({ status: 'fail', message: expect.stringContaining(`container ${containerName} publishes port ${port}`) });
    expect(ours.code).toBe(1);
    const models = readFileSync(join(dir, 'model_config', 'models.yaml'), 'utf8');
    try {
      appendFileSync(join(dir, 'model_config', 'models.yaml'), `gateway:\n  container-name: ${containerName}\n`);
      const r = await serve(dir, ['doctor', '--json'], { ...ports, GATEWAY_PORT: String(port) });
      expect(byId((JSON.parse(r.stdout) as { checks: Check[] }).checks, 'port-gateway')).toMatchObject({ status: 'ok', message: expect.stringContaining(`in use by our ${containerName} container`) });
    } finally {
      writeFileSync(join(dir, 'model_config', 'models.yaml'), models);
      await c.remove({ force: true });
    }
  });

  it('doctor: the gateway on 0.0.0.0 with LITELLM_MASTER_KEY=sk-1234 is an error (exit 1), and the key is never printed', async () => {
    const models = readFileSync(join(dir, 'model_config', 'models.yaml'), 'utf8');
    const env = readFileSync(join(dir, '.env'), 'utf8');
    try {
      appendFileSync(join(dir, 'model_config', 'models.yaml'), 'gateway:\n  bind: 0.0.0.0\n');
      writeFileSync(join(dir, '.env'), env.replace(/^LITELLM_MASTER_KEY=.*$/m, 'LITELLM_MASTER_KEY=sk-1234'));
      const r = await serve(dir, ['doctor', '--json'], ports);
      expect(r.code).toBe(1);
      const report = JSON.parse(r.stdout) as { ok: boolean; checks: Check[] };
      expect(report.ok).toBe(false);
      expect(byId(report.checks, 'gateway-bind')).toMatchObject({ status: 'warn', message: expect.stringContaining(`all interfaces (0.0.0.0:${ports.GATEWAY_PORT})`) });
      expect(byId(report.checks, 'master-key')).toMatchObject({ status: 'fail', message: expect.stringContaining('well-known default') });
      expect(r.stdout + r.stderr).not.toContain('sk-1234');
      const text = await serve(dir, ['doctor'], ports);
      expect(text.code).toBe(1);
      expect(text.stdout).toMatch(/✖ master key +LITELLM_MASTER_KEY is a well-known default, and the gateway is published on 0\.0\.0\.0/);
      expect(text.stdout).toMatch(/→ replace it in \.env/);
      expect(text.stdout + text.stderr).not.toContain('sk-1234');
    } finally {
      writeFileSync(join(dir, 'model_config', 'models.yaml'), models);
      writeFileSync(join(dir, '.env'), env);
    }
  });

  it('export compose: no secret from .env in the file, which parses and matches the config', async () => {
    const env = readFileSync(join(dir, '.env'), 'utf8');
    writeFileSync(join(dir, '.env'), env.replace(/^HF_TOKEN=.*$/m, 'HF_TOKEN=hf_integration_secret_0123456789'));
    const secrets = ['LITELLM_MASTER_KEY', 'LITELLM_SALT_KEY', 'GRAFANA_ADMIN_PASSWORD', 'HF_TOKEN'].map((k) => envValue(dir, k));
    const r = await serve(dir, ['export', 'compose', '-o', 'compose.yml']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('');
    const file = join(dir, 'compose.yml');
    expect(mode(file)).toBe(0o644);
    const text = readFileSync(file, 'utf8');
    for (const s of secrets) {
      expect(s.length).toBeGreaterThan(10);
      expect(text).not.toContain(s);
      expect(r.stderr).not.toContain(s);
    }
    const compose = parseYaml(text) as Compose;
    expect(Object.keys(compose.services)).toEqual(expect.arrayContaining(['litellm', 'prometheus', 'grafana', 'node-exporter', 'inference-qwen2.5-1.5b-instruct']));
    expect(compose.services['inference-qwen2.5-1.5b-instruct']!.environment!.HF_TOKEN).toBe('${HF_TOKEN}');
    expect(compose.services.litellm!.environment!.LITELLM_MASTER_KEY).toBe('${LITELLM_MASTER_KEY}');
    expect(compose.services.grafana!.environment!.GF_SECURITY_ADMIN_PASSWORD).toBe('${GRAFANA_ADMIN_PASSWORD}');
    expect(compose.services['inference-qwen2.5-1.5b-instruct']!.labels!['inference.managed']).toBe('true');
    // vLLM's image cannot be pulled here: not on the daemon, its command uses --model, as serve up would.
    expect(compose.services['inference-qwen2.5-1.5b-instruct']!.command!.slice(0, 2)).toEqual(['--model', 'Qwen/Qwen2.5-1.5B-Instruct']);
    // The mounted files exist, as after serve up.
    expect(statSync(join(dir, '.inferstack', 'prometheus', 'prometheus.yml')).isFile()).toBe(true);
    expect(statSync(join(dir, '.inferstack', 'grafana', 'provisioning', 'datasources', 'prometheus.yaml')).isFile()).toBe(true);
    const stdout = await serve(dir, ['export', 'compose']);
    expect(stdout.stdout).toBe(text);

    const compose2 = await promisify(execFile)('docker', ['compose', 'version']).then(
      () => true,
      () => false,
    );
    if (compose2) {
      // The compose v2 client is here: let it check the file (secrets come from .env).
      const check = await promisify(execFile)('docker', ['compose', '-f', file, '--env-file', join(dir, '.env'), 'config', '-q']);
      expect(check.stderr).toBe('');
    } else {
      console.log('docker compose (v2 plugin) is not installed here: the file was checked by structure only');
    }
  });

  it('export compose takes the argv style from the image entrypoint when the daemon has the image', async () => {
    const models = readFileSync(join(dir, 'model_config', 'models.yaml'), 'utf8');
    try {
      writeFileSync(
        join(dir, 'model_config', 'models.yaml'),
        `monitoring: {mode: none}\nmodels:\n  - new: {model: m/new, image: ${STANDIN}, gpus: none}\n  - old: {model: m/old, image: ${STANDIN_LEGACY}, gpus: none}\n`,
      );
      const r = await serve(dir, ['export', 'compose']);
      expect(r.code).toBe(0);
      const compose = parseYaml(r.stdout) as Compose;
      expect(compose.services['inference-new']!.command!.slice(0, 2)).toEqual(['m/new', '--port']);
      expect(compose.services['inference-old']!.command!.slice(0, 2)).toEqual(['--model', 'm/old']);
    } finally {
      writeFileSync(join(dir, 'model_config', 'models.yaml'), models);
    }
  });

  it("a reference-tool project whose .env sets every name it knew plans, and exports with the images and ports it names", async () => {
    const old = mkdtempSync(join(tmpdir(), 'inferstack-old-env-'));
    try {
      const fixture = join(import.meta.dirname, '..', '..', 'config', 'test-fixtures', 'reference-env');
      cpSync(fixture, old, { recursive: true });
      const plan = await serve(old, ['plan', '--json', '-p', `old-env-${sessionId().slice(0, 8)}`]);
      expect(plan.code, plan.stderr).toBe(0);
      const changes = JSON.parse(plan.stdout) as { plan: Array<{ model: string; action: string; image?: string }> };
      expect(changes.plan.map((c) => [c.model, c.action])).toEqual([['qwen', 'create']]);
      const r = await serve(old, ['export', 'compose', '-o', 'compose.yml', '-p', `old-env-${sessionId().slice(0, 8)}`]);
      expect(r.code, r.stderr).toBe(0);
      const text = readFileSync(join(old, 'compose.yml'), 'utf8');
      const compose = parseYaml(text) as Compose;
      const image = (name: string) => compose.services[name]?.image;
      expect(image('inference-qwen')).toBe('vllm/vllm-openai:v0.19.1');
      expect(image('litellm')).toBe('ghcr.io/berriai/litellm:v1.84.1');
      expect(image('prometheus')).toBe('prom/prometheus:v3.4.2');
      expect(image('node-exporter')).toBe('quay.io/prometheus/node-exporter:v1.10.2');
      expect(image('grafana')).toBe('grafana/grafana:12.3.0');
      expect(JSON.stringify(compose.services.litellm?.ports)).toContain('8100');
      expect(JSON.stringify(compose.services.prometheus?.ports)).toContain('9191');
      expect(JSON.stringify(compose.services.grafana?.ports)).toContain('3300');
      // Its secrets stay in .env.
      for (const line of readFileSync(join(old, '.env'), 'utf8').split('\n')) {
        const [k, v] = line.split('=');
        if (v && /KEY|TOKEN|PASSWORD/.test(k!)) expect(text).not.toContain(v);
      }
    } finally {
      rmSync(old, { recursive: true, force: true });
    }
  });
});
