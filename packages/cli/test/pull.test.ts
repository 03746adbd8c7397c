// `serve pull` as a user runs it, against the real daemon: the Hugging Face Hub stand-in
// (images/hf-hub-standin) on the stack's network, the model's image without a Hugging Face
// client (the vLLM stand-in), so the pull runs with the stack's default vLLM image's client
// (VLLM_IMAGE: the real huggingface_hub 2.4.0 of images/hf-puller) into the project's cache.
// Progress shows as it goes; a second pull says nothing is left to fetch; a gated repo without a
// granted token fails with advice and never prints the token.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { docker as dockerCli, sessionLabel } from '../../../test/support/docker.js';
import { pullerImage, startHubStandin, type HubStandin } from '../../../test/support/hf-hub.js';
import { STANDIN, createProject, type Project } from './_harness.js';

const MB = 1_000_000;
const GRANTED = 'hf_test_granted_pull_0123456789';
const DESCRIPTION = {
  repos: {
    'org/model': {
      rate: 8 * MB,
      files: {
        'config.json': { json: { architectures: ['Qwen3ForCausalLM'], model_type: 'qwen3' } },
        'model.safetensors': 40 * MB,
        'tokenizer.json': 1 * MB,
        'tokenizer_config.json': { json: {} },
        'README.md': '# org/model\n',
        'pytorch_model.bin': 5 * MB,
      },
    },
    'org/gated': { gated: true, tokens: [GRANTED], files: { 'config.json': '{}', 'model.safetensors': 2 * MB } },
    'org/small': { files: { 'config.json': '{}', 'model.safetensors': 3 * MB, 'tokenizer.json': 100_000 } },
    'org/other': { files: { 'config.json': '{}', 'model.safetensors': 30 * MB } },
    'org/dl': { files: { 'config.json': '{}', 'model.safetensors': 4 * MB, 'tokenizer.json': 100_000, 'README.md': '# dl\n' } },
  },
};

describe('serve pull (real huggingface_hub against the Hub stand-in)', () => {
  let p: Project;
  let hub: HubStandin;
  const models = (keys: Array<'model' | 'gated' | 'small' | 'other'>) =>
    [
      `network: ${p.network}`,
      'gateway: {mode: none}',
      'monitoring: {mode: none}',
      'models:',
      ...keys.flatMap((k) => [
        `  - ${p.prefix}-${k}:`,
        `      model: org/${k}`,
        `      image: ${STANDIN}`,
        '      pull: missing',
        '      gpus: none',
        `      env: {HF_ENDPOINT: "${hub.endpoint}", STANDIN_LOAD_DELAY: "1"}`,
      ]),
    ].join('\n') + '\n';

  beforeAll(async () => {
    p = createProject('pull', { VLLM_IMAGE: pullerImage('2.4.0') });
    // The stack's network, made here with the Hub on it (serve up would make it otherwise).
    await dockerCli(['network', 'create', '--label', sessionLabel(), p.network]);
    hub = await startHubStandin({ network: p.network, description: DESCRIPTION });
  }, 120_000);
  afterAll(async () => {
    if (hub) await dockerCli(['rm', '-f', '-v', hub.id], { allowFail: true });
    await dockerCli(['network', 'rm', p.network], { allowFail: true });
    await p.cleanup();
  });

  it('fetches the files vLLM loads with progress, and a second pull has nothing left to fetch', async () => {
    p.writeModels(models(['model']));
    const first = await p.serve(['pull'], { timeoutMs: 180_000 });
    expect(first.code, first.stderr).toBe(0);
    // No model image has the client: the default vLLM image's does the work.
    expect(first.stderr).toMatch(/has no Hugging Face client .*pulling with inferstack-test\/hf-puller:2\.4\.0/);
    expect(first.stderr).toMatch(/weights: 4 file\(s\), 41\.\d MB, 41\.\d MB to fetch/);
    // Plain output (not a terminal): progress lines with bytes, rate and time left.
    expect(first.stderr).toMatch(/↓ .*-model +\d+(\.\d)? MB \/ 41\.\d MB \(\d+%\), [\d.]+ MB\/s, \d+s left, \d\/4 files/);
    expect(first.stderr).toMatch(/weights: 41\.\d MB fetched in/);
    const snapshots = join(p.dir, 'hf-cache', 'hub', 'models--org--model', 'snapshots');
    const [commit] = readdirSync(snapshots);
    expect(readdirSync(join(snapshots, commit!)).sort()).toEqual(['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json']);
    expect(existsSync(join(snapshots, commit!, 'pytorch_model.bin'))).toBe(false);

    const second = await p.serve(['pull', '--json'], { timeoutMs: 120_000 });
    expect(second.code, second.stderr).toBe(0);
    const json = JSON.parse(second.stdout) as { ok: boolean; models: Array<{ model: string; alreadyComplete: boolean; downloadedBytes: number; offline: { ready: boolean } }> };
    expect(json.models).toEqual([expect.objectContaining({ model: `${p.prefix}-model`, alreadyComplete: true, downloadedBytes: 0, offline: { ready: true } })]);
    const text = await p.serve(['pull', `${p.prefix}-model`], { timeoutMs: 120_000 });
    expect(text.stderr).toMatch(/nothing left to fetch/);
  });

  it('a gated repo without a granted token fails with advice, naming the model, and prints no token', async () => {
    p.writeModels(models(['model', 'gated']));
    const r = await p.serve(['pull', `${p.prefix}-gated`], { timeoutMs: 120_000 });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`${p.prefix}-gated: .*org/gated`));
    expect(r.stderr).toMatch(/HF_TOKEN/);
    expect(`${r.stdout}${r.stderr}`).not.toContain('hf_testtoken_do_not_print');
    // A name that is not a model: bad input, nothing pulled.
    const unknown = await p.serve(['pull', 'no-such-model']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/no-such-model/);
  });

  it('refuses a pull and an up that would fill the cache disk, with the numbers, before anything is fetched; doctor shows each size', async () => {
    // A 64 MB disk for the cache: org/model (41 MB) and org/other (30 MB) fit one at a time, not together.
    const cache = mkdtempSync(join(tmpdir(), 'inferstack-small-cache-'));
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64m', 'tmpfs', cache]);
    const q = createProject('pull-space', { VLLM_IMAGE: pullerImage('2.4.0'), HUGGINGFACE_CACHE: cache });
    const bytesIn = (dir: string): number =>
      readdirSync(dir, { withFileTypes: true }).reduce((n, e) => n + (e.isDirectory() ? bytesIn(join(dir, e.name)) : e.isFile() ? statSync(join(dir, e.name)).size : 0), 0);
    try {
      q.writeModels(models(['model', 'other']).replaceAll(`${p.prefix}-`, `${q.prefix}-`));
      const refused = await q.serve(['pull'], { timeoutMs: 120_000 });
      expect(refused.code, refused.stderr).toBe(1);
      expect(refused.stderr).toContain(`the Hugging Face cache (${cache}/hub) has`);
      expect(refused.stderr).toMatch(/has 6\d(\.\d)? MB free of 6\d(\.\d)? MB; the weights still to download need 7\d\.\d MB \(t\w+-model 41\.\d MB, t\w+-other 30\.\d MB\)/);
      expect(refused.stderr).toMatch(/move the cache to a larger one \(HUGGINGFACE_CACHE in \.env\)/);
      expect(bytesIn(cache)).toBeLessThan(1_000_000);

      const doctor = await q.serve(['doctor', '--json'], { timeoutMs: 120_000 });
      expect(doctor.code, doctor.stdout).toBe(1);
      const checks = (JSON.parse(doctor.stdout) as { checks: Array<{ id: string; status: string; message: string }> }).checks;
      expect(checks.find((c) => c.id === `weights-${q.prefix}-model`)?.message).toMatch(/41\.\d MB in 4 file\(s\), 0 B in the cache, 41\.\d MB to fetch; 6\d(\.\d)? MB free on its cache disk/);
      expect(checks.find((c) => c.id === `weights-${q.prefix}-other`)?.message).toMatch(/30\.\d MB in 2 file\(s\)/);
      expect(checks.find((c) => c.id === 'weights-disk@local')).toMatchObject({ status: 'fail' });

      const up = await q.serve(['up'], { timeoutMs: 120_000 });
      expect(up.code).not.toBe(0);
      expect(up.stderr).toMatch(/was not started: its weights could not be pulled: host local: the Hugging Face cache .* need 7\d\.\d MB/);
      expect((await dockerCli(['ps', '-aq', '--filter', `name=inference-${q.prefix}-`])).stdout.trim()).toBe('');
      expect(bytesIn(cache)).toBeLessThan(1_000_000);

      // One model alone fits.
      const one = await q.serve(['pull', `${q.prefix}-model`], { timeoutMs: 120_000 });
      expect(one.code, one.stderr).toBe(0);
      expect(bytesIn(cache)).toBeGreaterThan(40_000_000);
    } finally {
      await q.serve(['down', '--drain-timeout', '0'], { timeoutMs: 120_000 });
      await q.cleanup();
      execFileSync('umount', [cache]);
      rmSync(cache, { recursive: true, force: true });
    }
  });

  it('up pulls what is missing before it starts a model, and starts each offline (HF_HUB_OFFLINE=1, not in the spec: a second up changes nothing)', async () => {
    p.writeModels(models(['model', 'small']));
    try {
      const up = await p.serve(['up'], { timeoutMs: 180_000 });
      expect(up.code, up.stderr).toBe(0);
      // org/model is complete from the pulls above: read offline, not fetched again; org/small is fetched first.
      expect(up.stderr).toMatch(/-small +weights: [\d.]+ MB fetched in/);
      expect(up.stderr).not.toMatch(/-model +weights: .* fetched/);
      for (const k of ['model', 'small']) {
        const env = JSON.parse((await dockerCli(['inspect', `inference-${p.prefix}-${k}`])).stdout)[0].Config.Env as string[];
        expect(env, k).toContain('HF_HUB_OFFLINE=1');
      }
      // vLLM's loading phases, read from its log lines while it starts, with what each took.
      expect(up.stderr).toMatch(/-small +weights loaded in [\d.]+s \([\d.]+ GiB\)/);
      expect(up.stderr).toMatch(/-small +CUDA graphs captured in 3\.0s/);
      expect(up.stderr).toMatch(/-small +engine initialised in/);
      // status --weights reads each cache without the network: complete, and its size.
      const status = JSON.parse((await p.serve(['status', '--weights', '--json'])).stdout) as { models: Array<{ model: string; weights: { complete: boolean; bytes: number } }> };
      expect(status.models.map((m) => [m.model, m.weights.complete, m.weights.bytes > 3_000_000])).toEqual([
        [`${p.prefix}-model`, true, true],
        [`${p.prefix}-small`, true, true],
      ]);
      const again = await p.serve(['up'], { timeoutMs: 120_000 });
      expect(again.code, again.stderr).toBe(0);
      expect(again.stderr).toMatch(/nothing to do/);
    } finally {
      await p.serve(['down', '--drain-timeout', '0'], { timeoutMs: 120_000 });
    }
  });

  it('with pull: never the model downloads at start as vLLM does (the stand-in), into a cache the real client reads as complete', async () => {
    p.writeModels(
      [
        `network: ${p.network}`,
        'gateway: {mode: none}',
        'monitoring: {mode: none}',
        'models:',
        `  - ${p.prefix}-dl:`,
        '      model: org/dl',
        `      image: ${STANDIN}`,
        '      pull: never',
        '      gpus: none',
        `      env: {HF_ENDPOINT: "${hub.endpoint}", STANDIN_DOWNLOAD: "1", STANDIN_LOAD_DELAY: "1"}`,
      ].join('\n') + '\n',
    );
    try {
      const up = await p.serve(['up'], { timeoutMs: 180_000 });
      expect(up.code, up.stderr).toBe(0);
      // up did not pull (pull: never): the container did, and logged it as vLLM does.
      expect(up.stderr).not.toMatch(/-dl +weights: .* fetched/);
      const logs = await p.serve(['logs', `${p.prefix}-dl`]);
      expect(logs.stdout).toMatch(/Time spent downloading weights for org\/dl: [\d.]+ seconds|Starting to load model org\/dl/);
      const env = JSON.parse((await dockerCli(['inspect', `inference-${p.prefix}-dl`])).stdout)[0].Config.Env as string[];
      expect(env).not.toContain('HF_HUB_OFFLINE=1');
      // The real huggingface_hub (status --weights, offline) finds what the stand-in wrote complete.
      const status = JSON.parse((await p.serve(['status', '--weights', '--json'])).stdout) as { models: Array<{ model: string; weights: { complete: boolean } }> };
      expect(status.models.find((m) => m.model === `${p.prefix}-dl`)?.weights.complete).toBe(true);
    } finally {
      await p.serve(['down', '--drain-timeout', '0'], { timeoutMs: 120_000 });
    }
  });
});
