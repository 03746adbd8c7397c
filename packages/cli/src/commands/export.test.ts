import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
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
