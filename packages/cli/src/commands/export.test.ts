import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { runCli } from '../main.js';
import type { ComposeFile } from '@inferstack/stack';

const MASTER = `sk-${'ab'.repeat(24)}`;
const HF = 'hf_export_test_token_0123456789';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function project(models: string, env: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'inferstack-export-'));
  dirs.push(dir);
  mkdirSync(join(dir, 'model_config'));
  writeFileSync(join(dir, 'model_config', 'models.yaml'), models);
  writeFileSync(join(dir, '.env'), env);
  return dir;
}

async function run(cwd: string, argv: string[]) {
  let out = '';
  let err = '';
  const streams = { out: new Writable({ write: (c, _e, cb) => ((out += c), cb()) }), err: new Writable({ write: (c, _e, cb) => ((err += c), cb()) }) };
  // No daemon: model commands fall back to --model, as serve up does for an image it cannot inspect.
  const code = await runCli(argv, { streams, cwd, env: { DOCKER_HOST: 'tcp://127.0.0.1:1', HOME: cwd, INFERSTACK_HASH_KEY: 'k' } });
  return { code, out, err };
}

const MODELS = `monitoring:
  grafana: {enabled: false}
  dcgm-exporter: {enabled: false}
models:
  - a:
      model: Qwen/Qwen3-4B
      gpus: [0]
      api-key: literal-vllm-key-0123456789
`;

describe('serve export compose', () => {
  it('prints the compose file on stdout, with references instead of secrets', async () => {
    const dir = project(MODELS, `LITELLM_MASTER_KEY=${MASTER}\nHF_TOKEN=${HF}\n`);
    const r = await run(dir, ['export', 'compose']);
    expect(r.code).toBe(0);
    const compose = parseYaml(r.out) as ComposeFile;
    expect(Object.keys(compose.services)).toEqual(['litellm', 'node-exporter', 'prometheus', 'inference-a']);
    expect(compose.services['inference-a']!.command!.slice(0, 2)).toEqual(['--model', 'Qwen/Qwen3-4B']);
    for (const secret of [MASTER, HF, 'literal-vllm-key-0123456789']) expect(r.out + r.err).not.toContain(secret);
    // The key is written in models.yaml, not .env: compose could not fill it in.
    expect(r.err).toMatch(/! \$\{INFERSTACK_VLLM_KEY_A\} \(for litellm, inference-a\) is not set in \.env/);
    // Prometheus mounts its generated config: it is there, as after serve up.
    expect(statSync(join(dir, '.inferstack', 'prometheus', 'prometheus.yml')).isFile()).toBe(true);
  });

  it('-o writes the file 0644 and prints nothing on stdout', async () => {
    const dir = project(MODELS.replace('literal-vllm-key-0123456789', '"${A_KEY}"'), `LITELLM_MASTER_KEY=${MASTER}\nA_KEY=from-env-0123456789\n`);
    const r = await run(dir, ['export', 'compose', '-o', 'out/compose.yml']);
    expect(r.code).toBe(0);
    expect(r.out).toBe('');
    const file = join(dir, 'out', 'compose.yml');
    expect(statSync(file).mode & 0o777).toBe(0o644);
    const text = readFileSync(file, 'utf8');
    expect(text).not.toContain('from-env-0123456789');
    expect(text).not.toContain(MASTER);
    expect((parseYaml(text) as ComposeFile).services['inference-a']!.environment!.VLLM_API_KEY).toBe('${A_KEY}');
    expect(r.err).toContain('wrote out/compose.yml');
    expect(r.err).not.toContain('is not set');
  });

  it('exits 2 for an unknown format, a missing one, and a managed gateway without a master key', async () => {
    const dir = project(MODELS, `LITELLM_MASTER_KEY=${MASTER}\n`);
    const bad = await run(dir, ['export', 'kube']);
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('cannot export "kube"');
    expect((await run(dir, ['export'])).code).toBe(2);
    const nokey = project(MODELS, '');
    const r = await run(nokey, ['export', 'compose']);
    expect(r.code).toBe(2);
    expect(r.err).toContain('LITELLM_MASTER_KEY');
    expect(r.out).toBe('');
  });
});

describe('serve export kubernetes', () => {
  it('writes the Kustomize directory (k8s by default) without secrets, lists the Secret to create, and a second run is up to date', async () => {
    const dir = project(MODELS, `LITELLM_MASTER_KEY=${MASTER}\nHF_TOKEN=${HF}\n`);
    const r = await run(dir, ['export', 'kubernetes']);
    expect(r.code).toBe(0);
    expect(r.out).toBe('');
    const kustomization = parseYaml(readFileSync(join(dir, 'k8s', 'kustomization.yaml'), 'utf8')) as { namespace: string; resources: string[] };
    expect(kustomization.resources).toEqual(['namespace.yaml', 'gateway.yaml', 'models/inference-a.yaml', 'prometheus.yaml']);
    const model = readFileSync(join(dir, 'k8s', 'models', 'inference-a.yaml'), 'utf8');
    expect(model).toContain('nvidia.com/gpu: "1"');
    for (const secret of [MASTER, HF, 'literal-vllm-key-0123456789']) expect(r.out + r.err + model).not.toContain(secret);
    expect(r.err).toContain(`wrote k8s/ (namespace ${kustomization.namespace};`);
    expect(r.err).toContain(`create secret generic inferstack-secrets --from-literal=HF_TOKEN=... --from-literal=INFERSTACK_VLLM_KEY_A=... --from-literal=LITELLM_MASTER_KEY=...`);
    expect(r.err).toContain('kubectl apply -k k8s');

    const again = await run(dir, ['export', 'kubernetes']);
    expect(again.code).toBe(0);
    expect(again.err).toContain('k8s/ is up to date');
    const plan = await run(dir, ['plan', '--target', 'kubernetes', '--exit-code']);
    expect(plan.code).toBe(0);
    expect(plan.out).toContain('no file would change');
  });

  it('--with-secrets writes secret.yaml 0600 with the values, and says to keep it private', async () => {
    const dir = project(MODELS, `LITELLM_MASTER_KEY=${MASTER}\nHF_TOKEN=${HF}\n`);
    const r = await run(dir, ['export', 'kubernetes', '--out', 'deploy', '--with-secrets']);
    expect(r.code).toBe(0);
    const file = join(dir, 'deploy', 'secret.yaml');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readFileSync(file, 'utf8')).toContain(HF);
    expect(r.err).toMatch(/deploy\/secret\.yaml holds the secret values .*mode 0600.*keep it out of version control/);
    expect(r.err + r.out).not.toContain(HF);
  });

  it('plan --target kubernetes shows a changed model per object and exits 3 with --exit-code; export then applies it', async () => {
    const dir = project(MODELS, `LITELLM_MASTER_KEY=${MASTER}\n`);
    expect((await run(dir, ['export', 'kubernetes', '-o', 'k8s'])).code).toBe(0);
    writeFileSync(join(dir, 'model_config', 'models.yaml'), `${MODELS}  - b:\n      model: Qwen/Qwen3-0.6B\n      gpus: [1]\n`);
    const plan = await run(dir, ['plan', '--target', 'kubernetes', '--out', 'k8s', '--exit-code']);
    expect(plan.code).toBe(3);
    expect(plan.out).toMatch(/\+\s+models\/inference-b\.yaml\s+Deployment\/inference-b, Service\/inference-b, PersistentVolumeClaim\/inference-b-hf-cache/);
    expect(plan.out).toMatch(/~\s+files\/litellm\/config\.yaml\s+ConfigMap\/litellm-config changed/);
    expect(plan.out).toMatch(/~\s+kustomization\.yaml\s+changed/);
    const json = await run(dir, ['plan', '--target', 'kubernetes', '--json']);
    const parsed = JSON.parse(json.out) as { changes: boolean; files: Array<{ path: string; action: string }> };
    expect(parsed.changes).toBe(true);
    expect(parsed.files.filter((f) => f.action !== 'keep').map((f) => f.path)).toEqual(['files/litellm/config.yaml', 'kustomization.yaml', 'models/inference-b.yaml']);

    writeFileSync(join(dir, 'model_config', 'models.yaml'), MODELS.replace('  - a:', '  - c:'));
    const r = await run(dir, ['export', 'kubernetes']);
    expect(r.code).toBe(0);
    expect(readdirSync(join(dir, 'k8s', 'models'))).toEqual(['inference-c.yaml']);
  });

  it('refuses a directory that holds something else, bad options, and Kubernetes options elsewhere (exit 2)', async () => {
    const dir = project(MODELS, `LITELLM_MASTER_KEY=${MASTER}\n`);
    mkdirSync(join(dir, 'other'));
    writeFileSync(join(dir, 'other', 'notes.txt'), 'mine\n');
    const foreign = await run(dir, ['export', 'kubernetes', '--out', 'other']);
    expect(foreign.code).toBe(2);
    expect(foreign.err).toContain('holds no earlier "serve export kubernetes"');
    expect(readFileSync(join(dir, 'other', 'notes.txt'), 'utf8')).toBe('mine\n');
    const bad = await run(dir, ['export', 'kubernetes', '--hf-cache', 'nfs']);
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('--hf-cache takes pvc or host-path');
    const size = await run(dir, ['export', 'kubernetes', '--hf-cache-size', 'big']);
    expect(size.code).toBe(2);
    expect(size.err).toContain('hf-cache-size "big"');
    expect((await run(dir, ['export', 'compose', '--with-secrets'])).err).toContain('--with-secrets is an option of "serve export kubernetes"');
    expect((await run(dir, ['plan', '--out', 'k8s'])).err).toContain('--out needs --target kubernetes');
    expect((await run(dir, ['plan', '--target', 'swarm'])).code).toBe(2);
  });
});
