import { describe, expect, test } from 'vitest';
import { type ConfigIssue, ConfigValidationError } from './errors.js';
import { type ParseConfigOptions, parseConfig, projectDirFor } from './parse-config.js';
import type { StackConfig } from './types.js';

const base: ParseConfigOptions = { file: 'models.yaml', cwd: '/proj', homeDir: '/home/u' };

function parse(text: string, options: ParseConfigOptions = {}): StackConfig {
  return parseConfig(text, { ...base, ...options });
}

function issuesOf(text: string | Uint8Array, options: ParseConfigOptions = {}): ConfigIssue[] {
  try {
    parseConfig(text, { ...base, ...options });
  } catch (error) {
    if (error instanceof ConfigValidationError) return error.issues;
    throw error;
  }
  throw new Error('expected a ConfigValidationError');
}

function model(options: string, extra = ''): StackConfig {
  const body = options
    .trim()
    .split('\n')
    .map((l) => `      ${l}`)
    .join('\n');
  return parse(`models:\n  - m:\n      model: org/m\n${body}\n${extra}`);
}

describe('models', () => {
  test('list form and map form give the same models', () => {
    const list = parse('models:\n  - a:\n      model: org/a\n      gpus: [0]\n  - b:\n      model: org/b\n      gpus: [1]\n');
    const map = parse('models:\n  a:\n    model: org/a\n    gpus: [0]\n  b: {model: org/b, gpus: [1]}\n');
    expect(map.models.map((m) => m.key)).toEqual(['a', 'b']);
    expect(map.models.map(({ source: _s, ...m }) => m)).toEqual(list.models.map(({ source: _s, ...m }) => m));
  });

  test('keeps file order, even for keys that look like numbers', () => {
    const c = parse('models:\n  zeta: {model: z, gpus: none}\n  "10": {model: t, gpus: none}\n  alpha: {model: a, gpus: none}\n');
    expect(c.models.map((m) => m.key)).toEqual(['zeta', '10', 'alpha']);
  });

  test('many models may share one anchor', () => {
    let text = 'x-common: &c\n  gpus: none\n  max-model-len: 1\nmodels:\n';
    for (let i = 0; i < 500; i++) text += `  m${i}:\n    <<: *c\n    model: x\n`;
    expect(parse(text).models).toHaveLength(500);
  });

  test('records where each model was defined', () => {
    const c = parse('models:\n  - first:\n      model: x\n      gpus: [0]\n  - second:\n      model: y\n      gpus: [1]\n');
    expect(c.models[1]?.source).toEqual({ file: 'models.yaml', line: 5, column: 5 });
  });

  test('names containers after keys, / as --', () => {
    const c = parse('models:\n  Qwen/Qwen2.5-7B: {model: Qwen/Qwen2.5-7B}\n');
    expect(c.models[0]?.containerName).toBe('inference-Qwen--Qwen2.5-7B');
  });

  test('applies YAML merge keys, as PyYAML did', () => {
    const text = [
      'x-common: &common',
      '  max-model-len: 4096',
      '  gpus: none',
      '  enforce-eager: true',
      'models:',
      '  a:',
      '    <<: *common',
      '    model: org/a',
      '    max-model-len: 8192',
      '  b:',
      '    <<: *common',
      '    model: org/b',
      '',
    ].join('\n');
    const c = parse(text);
    expect(c.models.map((m) => [m.gpus.kind, m.vllmArgs])).toEqual([
      ['none', ['--enforce-eager', '--max-model-len', '8192']],
      ['none', ['--max-model-len', '4096', '--enforce-eager']],
    ]);
  });
});

describe('vLLM flags', () => {
  test('turns every other key into a flag, in file order', () => {
    const c = model(`
tensor-parallel-size: 1
gpu-memory-utilization: 0.90
max_model_len: 16384
enable-prefix-caching: true
enforce-eager: false
limit-mm-per-prompt: '{"image": 1}'
hf-overrides: {rope_scaling: {type: yarn, factor: 4}}
allowed-local-media-path: /data
additional_flags: [--trust-remote-code, --enable-auto-tool-choice]
seed: 0
`);
    expect(c.models[0]?.vllmArgs).toEqual([
      '--tensor-parallel-size', '1',
      '--gpu-memory-utilization', '0.9',
      '--max-model-len', '16384',
      '--enable-prefix-caching',
      '--limit-mm-per-prompt', '{"image": 1}',
      '--hf-overrides', '{"rope_scaling":{"type":"yarn","factor":4}}',
      '--allowed-local-media-path', '/data',
      '--trust-remote-code', '--enable-auto-tool-choice',
      '--seed', '0',
    ]);
    expect(c.models[0]?.tensorParallelSize).toBe(1);
    expect(c.models[0]?.gpuMemoryUtilization).toBe(0.9);
  });

  test('passes lists as JSON', () => {
    expect(model('cuda-graph-sizes: [1, 2, 4]').models[0]?.vllmArgs).toEqual(['--cuda-graph-sizes', '[1,2,4]']);
  });

  test('served-model-name is a flag and the served name', () => {
    const one = model('served-model-name: short');
    expect(one.models[0]?.servedModelName).toBe('short');
    expect(one.models[0]?.vllmArgs).toEqual(['--served-model-name', 'short']);
    const many = model('served-model-name: [a, b]');
    expect(many.models[0]?.servedModelName).toBe('a');
    expect(many.models[0]?.vllmArgs).toEqual(['--served-model-name', 'a', 'b']);
    expect(model('max-model-len: 1').models[0]?.servedModelName).toBe('org/m');
  });

  test('keeps the API key out of argv', () => {
    const c = model('api-key: s3cret\nmax-model-len: 1');
    const m = c.models[0];
    expect(m?.vllmArgs).toEqual(['--max-model-len', '1']);
    expect(m?.apiKey).toBe('s3cret');
    expect(m?.secretEnv.VLLM_API_KEY).toBe('s3cret');
    expect(JSON.stringify(m?.env)).not.toContain('s3cret');
  });

  test('takes an API key from settings with ${NAME}', () => {
    const c = parse('models:\n  m: {model: x, api-key: "${MY_KEY}"}\n', { settings: { MY_KEY: 'from-env' } });
    expect(c.models[0]?.apiKey).toBe('from-env');
    const issues = issuesOf('models:\n  m: {model: x, api-key: "${MY_KEY}"}\n');
    expect(issues).toMatchObject([{ code: 'missing-setting', line: 2, column: 26 }]);
  });

  test('refuses flags inferstack sets and keys that are not flag names', () => {
    const issues = issuesOf('models:\n  m:\n    model: x\n    port: 9000\n    --max-model-len: 5\n    host: 0.0.0.0\n');
    expect(issues.map((i) => [i.code, i.line])).toEqual([
      ['reserved-flag', 4],
      ['invalid-flag-name', 5],
      ['reserved-flag', 6],
    ]);
    expect(issues[1]?.hint).toContain('max-model-len:');
  });

  test('catches typos of inferstack options instead of passing them to vLLM', () => {
    const issues = issuesOf('models:\n  m:\n    model: x\n    gpu: [0]\n    addtional_flags: [--x]\n');
    expect(issues.map((i) => [i.code, i.line, i.message.includes('"gpus"') || i.message.includes('"additional_flags"')])).toEqual([
      ['unknown-option', 4, true],
      ['unknown-option', 5, true],
    ]);
  });

  test('a flag and its --no- form are refused in either order, also across a key and additional_flags', () => {
    // vLLM keeps whichever comes last, and the spec hash sorts flags: the two orders would hash alike.
    for (const flags of ['[--enable-prefix-caching, --no-enable-prefix-caching]', '[--no-enable-prefix-caching, --enable-prefix-caching]']) {
      const issues = issuesOf(`models:\n  m:\n    model: x\n    additional_flags: ${flags}\n`);
      expect(issues).toMatchObject([{ code: 'conflicting-flags', line: 4 }]);
      expect(issues[0]?.column).toBeGreaterThan(flags.indexOf(',') + 20);
      expect(issues[0]?.hint).toMatch(/--enable-prefix-caching turns it on, --no-enable-prefix-caching off/);
    }
    const viaKey = issuesOf('models:\n  m:\n    model: x\n    enable-prefix-caching: true\n    additional_flags: [--no-enable-prefix-caching]\n');
    expect(viaKey).toMatchObject([{ code: 'conflicting-flags', line: 5, column: 24 }]);
    expect(viaKey[0]?.message).toContain('enable-prefix-caching: (line 4)');
    const underscores = issuesOf('models:\n  m:\n    model: x\n    no_enable_prefix_caching: true\n    additional_flags: [--enable_prefix_caching]\n');
    expect(underscores).toMatchObject([{ code: 'conflicting-flags', line: 5 }]);
  });

  test('a flag given twice is refused: key and additional_flags, twice in additional_flags, a short alias', () => {
    expect(issuesOf('models:\n  m:\n    model: x\n    max-model-len: 4096\n    additional_flags: [--max-model-len, 8192]\n')).toMatchObject([
      { code: 'duplicate-flag', line: 5, column: 24, message: expect.stringContaining('max-model-len: (line 4)') },
    ]);
    expect(issuesOf('models:\n  m:\n    model: x\n    additional_flags: [--trust-remote-code, --trust_remote_code]\n')).toMatchObject([
      { code: 'duplicate-flag', line: 4, column: 45 },
    ]);
    expect(issuesOf('models:\n  m:\n    model: x\n    additional_flags: [--seed=1, --seed=2]\n')).toMatchObject([{ code: 'duplicate-flag', line: 4 }]);
    expect(issuesOf('models:\n  m:\n    model: x\n    gpus: [0, 1]\n    tensor-parallel-size: 2\n    additional_flags: [-tp, 2]\n')).toMatchObject([
      { code: 'duplicate-flag', line: 6 },
    ]);
    // A key set to false is still a statement about the flag.
    expect(issuesOf('models:\n  m:\n    model: x\n    enforce-eager: false\n    additional_flags: [--enforce-eager]\n')).toMatchObject([
      { code: 'duplicate-flag', line: 5 },
    ]);
  });

  test('refuses --port, --host and --model in additional_flags: inferstack gives them', () => {
    const issues = issuesOf('models:\n  m:\n    model: x\n    additional_flags: [--port, 9000, --host=127.0.0.1, --model, y]\n');
    expect(issues.map((i) => [i.code, i.message.match(/--\w+/)?.[0]])).toEqual([
      ['reserved-flag', '--port'],
      ['reserved-flag', '--host'],
      ['reserved-flag', '--model'],
    ]);
  });

  test("repeats of vLLM's append flags (--middleware) stay allowed, and their order counts in the hash", () => {
    const ab = model('middleware: pkg.a\nadditional_flags: [--middleware, pkg.b]').models[0]!;
    const ba = model('middleware: pkg.b\nadditional_flags: [--middleware, pkg.a]').models[0]!;
    expect(ab.vllmArgs).toEqual(['--middleware', 'pkg.a', '--middleware', 'pkg.b']);
    expect(ab.specHash).not.toBe(ba.specHash);
  });

  test('the hash of a valid config is unchanged by these checks (no container is recreated)', () => {
    // Computed before the flag checks existed; a change here recreates every user's containers.
    const c = parse(
      'models:\n  m:\n    model: org/model\n    image: vllm/vllm-openai:v0.11.0\n    gpus: [0, 1]\n    tensor-parallel-size: 2\n    max-model-len: 4096\n' +
        '    enable-prefix-caching: true\n    api-key: vllm-key-value\n    middleware: a.b\n    additional_flags: [--trust-remote-code, --middleware, c.d]\n',
      { cwd: '/p', settings: { HF_TOKEN: 'hf_x' } },
    );
    expect(c.models[0]?.specHash).toBe('da4771f80c03f28e');
  });

  test('refuses secrets as flags, never repeating their value, and says where they belong', () => {
    const text = [
      'models:',
      '  m:',
      '    model: x',
      '    hf-token: hf_abcdefghijklmnop',
      '    db_password: hunter2hunter2',
      '    additional_flags: [--api-key, sk-0123456789abcdef, --api-key=sk-fedcba9876543210, --hf-token, hf_qrstuvwxyz, --client-secret, s3]',
      '',
    ].join('\n');
    const issues = issuesOf(text);
    expect(issues.map((i) => [i.code, i.line])).toEqual([
      ['secret-flag', 4],
      ['secret-flag', 5],
      ['secret-flag', 6],
      ['secret-flag', 6],
      ['secret-flag', 6],
      ['secret-flag', 6],
    ]);
    for (const secret of ['hf_abcdefghijklmnop', 'hunter2', 'sk-0123456789abcdef', 'sk-fedcba9876543210', 'hf_qrstuvwxyz']) {
      expect(JSON.stringify(issues)).not.toContain(secret);
    }
    expect(issues[0]?.hint).toContain('HF_TOKEN=hf_... in .env');
    expect(issues[1]?.hint).toContain('.env');
    expect(issues[2]?.hint).toContain('api-key: "${VLLM_API_KEY}"');
    expect(issues[3]?.hint).toContain('api-key:');
    expect(issues[4]?.hint).toContain('HF_TOKEN');
    expect(issues[5]?.hint).toContain('.env');
  });

  test('flags that only mention keys or tokens are not secrets', () => {
    const c = model('ssl-keyfile: /certs/key.pem\nssl-certfile: /certs/cert.pem\nmax-num-batched-tokens: 8192\nadditional_flags: [--tokenizer, org/tok, --long-prefill-token-threshold, "0"]');
    expect(c.models[0]?.vllmArgs).toContain('--ssl-keyfile');
    expect(c.models[0]?.vllmArgs).toContain('--tokenizer');
  });

  test('an option given twice with _ and - is a duplicate', () => {
    expect(issuesOf('models:\n  m:\n    model: x\n    max_model_len: 1\n    max-model-len: 2\n')).toMatchObject([
      { code: 'duplicate-option', line: 5, column: 5 },
    ]);
  });
});

describe('docker options', () => {
  test.each([
    [undefined, { kind: 'all' }],
    ['all', { kind: 'all' }],
    ['none', { kind: 'none' }],
    ['[]', { kind: 'none' }],
    ['false', { kind: 'none' }],
    ['2', { kind: 'devices', indices: [2] }],
    ['[1, 0]', { kind: 'devices', indices: [1, 0] }],
  ])('gpus: %s', (value, expected) => {
    const c = parse(`models:\n  m:\n    model: x\n${value === undefined ? '' : `    gpus: ${value}\n`}`);
    expect(c.models[0]?.gpus).toEqual(expected);
  });

  test.each([
    ['"0-3"', '0-3'],
    ['"0, 2,4"', '0,2,4'],
    ['[0, 1, 2]', '0,1,2'],
    ['5', '5'],
  ])('cpuset-cpus: %s', (value, expected) => {
    expect(model(`cpuset-cpus: ${value}`).models[0]?.cpusetCpus).toBe(expected);
  });

  test.each([
    ['8g', 8 * 1024 ** 3],
    ['8G', 8 * 1024 ** 3],
    ['512m', 512 * 1024 ** 2],
    ['1.5g', 1.5 * 1024 ** 3],
    ['64k', 64 * 1024],
    ['1gb', 1024 ** 3],
    ['2GiB', 2 * 1024 ** 3],
    ['100b', 100],
    ['"4096"', 4096],
    ['1048576', 1048576],
  ])('shm-size: %s', (value, bytes) => {
    expect(model(`shm-size: ${value}`).models[0]?.shmSizeBytes).toBe(bytes);
  });

  test('shm-size and cpuset errors', () => {
    expect(model('max-model-len: 1').models[0]?.shmSizeBytes).toBeUndefined();
    expect(issuesOf('models:\n  m:\n    model: x\n    shm-size: 0\n')[0]?.code).toBe('invalid-value');
    expect(issuesOf('models:\n  m:\n    model: x\n    cpuset-cpus: "3-1"\n')[0]?.message).toContain('backwards');
    expect(issuesOf('models:\n  m:\n    model: x\n    cpuset-cpus: [1, 1]\n')[0]?.message).toContain('twice');
  });
});

describe('image, environment, volumes', () => {
  test('image: the model, else defaults, else VLLM_IMAGE (a bare tag means vllm/vllm-openai), else the pinned default', () => {
    const text = 'defaults:\n  image: ghcr.io/me/vllm:1\nmodels:\n  a: {model: x, image: "v0.10.2", gpus: [0]}\n  b: {model: y, gpus: [1]}\n';
    const c = parse(text, { settings: { VLLM_IMAGE: 'v0.9.0', VLLM_PLATFORM: 'linux/arm64' } });
    expect(c.models.map((m) => m.image)).toEqual(['vllm/vllm-openai:v0.10.2', 'ghcr.io/me/vllm:1']);
    expect(c.models[0]?.platform).toBe('linux/arm64');
    expect(parse('models:\n  a: {model: x}\n', { settings: { VLLM_IMAGE: 'v0.9.0' } }).models[0]?.image).toBe('vllm/vllm-openai:v0.9.0');
    expect(parse('models:\n  a: {model: x}\n', { settings: { VLLM_IMAGE: 'registry:5000/vllm:dev' } }).models[0]?.image).toBe('registry:5000/vllm:dev');
    const plain = parse('models:\n  a: {model: x}\n');
    expect(plain.models[0]?.image).toBe('vllm/vllm-openai:v0.32.0-cu129');
    expect(plain.models[0]?.platform).toBeUndefined();
  });

  test('pull: the model, else defaults, else missing', () => {
    const c = parse('defaults:\n  pull: never\nmodels:\n  a: {model: x, pull: always, gpus: none}\n  b: {model: y, gpus: none}\n');
    expect(c.models.map((m) => m.pullPolicy)).toEqual(['always', 'never']);
    expect(parse('models:\n  a: {model: x}\n').models[0]?.pullPolicy).toBe('missing');
  });

  test('environment: defaults, then the model; secrets apart; HF_TOKEN secret', () => {
    const text = [
      'defaults:',
      '  env: {VLLM_LOGGING_LEVEL: INFO, SHARED: d, WANDB_API_KEY: k1}',
      'models:',
      '  a:',
      '    model: x',
      '    env: {SHARED: m, HF_HUB_OFFLINE: 1, DB_PASSWORD: pw, FLAG: true}',
      '',
    ].join('\n');
    const m = parse(text, { settings: { HF_TOKEN: 'hf_x' } }).models[0];
    expect(m?.env).toEqual({
      HF_HOME: '/root/.cache/huggingface',
      VLLM_NO_USAGE_STATS: '1',
      VLLM_LOGGING_LEVEL: 'INFO',
      SHARED: 'm',
      HF_HUB_OFFLINE: '1',
      FLAG: 'true',
    });
    expect(m?.secretEnv).toEqual({ HF_TOKEN: 'hf_x', WANDB_API_KEY: 'k1', DB_PASSWORD: 'pw' });
    expect(parse('models:\n  a: {model: x}\n').models[0]?.secretEnv).toEqual({});
  });

  test('never sets VLLM_PORT', () => {
    const issues = issuesOf('defaults:\n  env: {VLLM_PORT: 1}\nmodels:\n  a:\n    model: x\n    env:\n      VLLM_PORT: 8000\n');
    expect(issues.map((i) => [i.code, i.line])).toEqual([
      ['vllm-port', 2],
      ['vllm-port', 7],
    ]);
  });

  test('volumes: the HF cache first, then defaults, then the model; same target, the model wins', () => {
    const text = [
      'defaults:',
      '  volumes: ["./models:/models:ro", "vllm-cache:/root/.cache/vllm"]',
      'models:',
      '  a:',
      '    model: x',
      '    volumes: ["/srv/other:/models", "~/data:/data:rw"]',
      '',
    ].join('\n');
    const m = parse(text, { settings: { HUGGINGFACE_CACHE: './hf' } }).models[0];
    expect(m?.volumes).toEqual([
      { source: '/proj/hf', target: '/root/.cache/huggingface', readOnly: false },
      { source: '/srv/other', target: '/models', readOnly: false },
      { source: 'vllm-cache', target: '/root/.cache/vllm', readOnly: false },
      { source: '/home/u/data', target: '/data', readOnly: false },
    ]);
    expect(parse('models:\n  a: {model: x}\n').models[0]?.volumes).toEqual([
      { source: '/home/u/.cache/huggingface', target: '/root/.cache/huggingface', readOnly: false },
    ]);
  });

  test('volume errors', () => {
    const issues = issuesOf('models:\n  a:\n    model: x\n    volumes: ["bad name:/x", "/a:/b", "/c:/b", "/d:/e:rx"]\n');
    expect(issues.map((i) => [i.code, i.column])).toEqual([
      ['invalid-volume', 15],
      ['duplicate-volume', 39],
      ['invalid-value', 48],
    ]);
  });
});

describe('GPU checks', () => {
  test('models may share a GPU when their utilisation sums to at most 1', () => {
    const c = parse('models:\n  a: {model: x, gpus: [0], gpu-memory-utilization: 0.5}\n  b: {model: y, gpus: [0], gpu-memory-utilization: 0.5}\n');
    expect(c.models).toHaveLength(2);
  });

  test('the members of a swap group count as their largest one (they never hold the GPU together)', () => {
    expect(parse('models:\n  a: {model: x, gpus: [0], swap-group: g}\n  b: {model: y, gpus: [0], swap-group: g}\n').models).toHaveLength(2);
    const issues = issuesOf('models:\n  a: {model: x, gpus: [0], swap-group: g}\n  b: {model: y, gpus: [0], swap-group: g, gpu-memory-utilization: 0.5}\n  c: {model: z, gpus: [0], gpu-memory-utilization: 0.2}\n');
    expect(issues).toMatchObject([{ code: 'gpu-oversubscribed' }]);
  });

  test('the default 0.9 counts, and models on every GPU share each listed one', () => {
    const issues = issuesOf('models:\n  a: {model: x, gpus: [1]}\n  b: {model: y}\n');
    expect(issues).toMatchObject([{ code: 'gpu-oversubscribed', line: 3, column: 3 }]);
    expect(issues[0]?.message).toContain('GPU 1');
    expect(issues[0]?.message).toContain('(default)');
  });

  test('two models on every GPU oversubscribe; models without GPU do not count', () => {
    expect(issuesOf('models:\n  a: {model: x}\n  b: {model: y}\n')[0]?.message).toContain('every GPU');
    expect(parse('models:\n  a: {model: x, gpus: none}\n  b: {model: y, gpus: none}\n  c: {model: z}\n').models).toHaveLength(3);
  });

  test('tensor parallel must match the listed GPUs, counting pipeline parallel', () => {
    expect(parse('models:\n  a: {model: x, gpus: [0, 1, 2, 3], tensor-parallel-size: 2, pipeline-parallel-size: 2}\n').models).toHaveLength(1);
    expect(parse('models:\n  a: {model: x, tensor-parallel-size: 8}\n').models).toHaveLength(1);
    expect(issuesOf('models:\n  a: {model: x, gpus: none, tensor-parallel-size: 2}\n')).toMatchObject([{ code: 'tensor-parallel-without-gpu' }]);
  });
});

describe('sections', () => {
  test('container names of managed services can be changed (several stacks on one daemon)', () => {
    const c = parse('gateway: {container-name: gw-a}\nmonitoring: {prometheus: {container-name: prom-a}, grafana: {container-name: graf-a}}\nmodels:\n  a: {model: x}\n', { projectDir: '/p' });
    expect([c.gateway.containerName, c.monitoring.prometheusContainerName, c.monitoring.grafana.containerName]).toEqual(['gw-a', 'prom-a', 'graf-a']);
    expect(() => parse('gateway: {container-name: "bad name"}\nmodels:\n  a: {model: x}\n')).toThrow(/valid container name/);
  });

  test('defaults when the file has only models', () => {
    const c = parse('models:\n  a: {model: x}\n', { projectDir: '/p' });
    expect(c.network).toBe('inference_default');
    expect(c.gateway).toEqual({
      mode: 'managed',
      sync: 'config',
      url: 'http://127.0.0.1:8000',
      port: 8000,
      bindAddress: '127.0.0.1',
      image: 'ghcr.io/berriai/litellm:v1.108.14',
      containerName: 'litellm',
      configFile: '/p/litellm/config.yaml',
      database: { image: 'postgres:16-alpine' },
    });
    expect(c.monitoring).toEqual({
      mode: 'managed',
      prometheusUrl: 'http://127.0.0.1:9090',
      prometheusPort: 9090,
      prometheusImage: 'prom/prometheus:v3.13.5',
      prometheusContainerName: 'prometheus',
      targetsDir: '/p/prometheus/targets',
      grafana: { enabled: true, port: 3000, image: 'grafana/grafana:13.2.3', containerName: 'grafana' },
      nodeExporter: { enabled: true, image: 'quay.io/prometheus/node-exporter:v1.12.1', containerName: 'node-exporter' },
      dcgmExporter: { image: 'nvcr.io/nvidia/k8s/dcgm-exporter:4.5.3-4.8.2-ubuntu22.04', containerName: 'dcgm-exporter', devices: 'f', intervalMs: 30000 },
      extraScrapeConfigs: [],
    });
  });

  test('settings fill ports and secrets; the file wins over settings', () => {
    const settings = {
      GATEWAY_PORT: '8100',
      PROMETHEUS_PORT: '9191',
      GRAFANA_PORT: '3300',
      LITELLM_MASTER_KEY: 'sk-m',
      LITELLM_SALT_KEY: 'sk-s',
      GRAFANA_ADMIN_PASSWORD: 'pw',
    };
    const c = parse('models:\n  a: {model: x}\n', { settings });
    expect(c.gateway).toMatchObject({ port: 8100, url: 'http://127.0.0.1:8100', masterKey: 'sk-m', saltKey: 'sk-s' });
    expect(c.monitoring).toMatchObject({ prometheusPort: 9191, grafana: { port: 3300, adminPassword: 'pw' } });
    expect(c.settings).toEqual(settings);
    const fileWins = parse('gateway: {port: 4000, bind: 0.0.0.0}\nmodels:\n  a: {model: x}\n', { settings });
    expect(fileWins.gateway).toMatchObject({ port: 4000, bindAddress: '0.0.0.0', url: 'http://127.0.0.1:4000' });
  });

  test('every section option', () => {
    const text = `
network: my_net
gateway:
  mode: external
  sync: api
  url: http://gw.internal:4000/
  image: ghcr.io/berriai/litellm:v1.84.1
  config-file: conf/litellm.yaml
monitoring:
  mode: external
  prometheus:
    url: http://prom:9090
    port: 9091
    image: prom/prometheus:v3.5.0
    targets-dir: /srv/targets
  grafana:
    enabled: true
    port: 3001
    image: grafana/grafana:12.2.1
  scrape-configs:
    - job_name: dcgm
      static_configs: [{targets: ["dcgm:9400"]}]
models:
  a: {model: x}
`;
    const c = parse(text, { projectDir: '/p' });
    expect(c.network).toBe('my_net');
    expect(c.gateway).toMatchObject({ mode: 'external', sync: 'api', url: 'http://gw.internal:4000', configFile: '/p/conf/litellm.yaml' });
    expect(c.monitoring).toMatchObject({
      mode: 'external',
      prometheusUrl: 'http://prom:9090',
      prometheusPort: 9091,
      targetsDir: '/srv/targets',
      grafana: { enabled: true, port: 3001 },
      extraScrapeConfigs: [{ job_name: 'dcgm', static_configs: [{ targets: ['dcgm:9400'] }] }],
    });
  });

  test('mode none needs nothing and turns grafana off', () => {
    const c = parse('gateway: {mode: none}\nmonitoring: {mode: none}\nmodels:\n  a: {model: x}\n');
    expect(c.gateway.url).toBe('');
    expect(c.monitoring.prometheusUrl).toBe('');
    expect(c.monitoring.grafana.enabled).toBe(false);
  });

  test('managed services need distinct ports', () => {
    expect(issuesOf('gateway: {port: 9090}\nmodels:\n  a: {model: x}\n')).toMatchObject([{ code: 'port-conflict' }]);
  });

  test('bad settings are reported where they were set', () => {
    const issues = issuesOf('models:\n  a: {model: x}\n', {
      settings: { GATEWAY_PORT: 'eighty', LITELLM_NUM_WORKERS: '0', VLLM_IMAGE: 'not an image', VLLM_PLATFORM: 'amd64' },
      settingLocations: { GATEWAY_PORT: { file: '.env', line: 3, column: 1 } },
    });
    expect(issues.map((i) => [i.file, i.line, i.path[0]])).toEqual([
      ['.env', 3, 'GATEWAY_PORT'],
      ['environment', 0, 'LITELLM_NUM_WORKERS'],
      ['environment', 0, 'VLLM_IMAGE'],
      ['environment', 0, 'VLLM_PLATFORM'],
    ]);
  });
});

describe('select', () => {
  const text = 'models:\n  a: {model: x, gpus: [0]}\n  b: {model: y, gpus: [1]}\n  c: {model: z, gpus: [2]}\n';

  test('keeps the selected models in file order', () => {
    expect(parse(text, { select: ['c', 'a'] }).models.map((m) => m.key)).toEqual(['a', 'c']);
  });

  test('unknown names are errors with a suggestion', () => {
    const issues = issuesOf('models:\n  qwen-4b: {model: x}\n', { select: ['qwen-4', 'zzz'] });
    expect(issues.map((i) => [i.code, i.line, i.hint])).toEqual([
      ['unknown-model', 0, 'did you mean "qwen-4b"?'],
      ['unknown-model', 0, 'models in this file: qwen-4b'],
    ]);
  });

  test('every model is validated even when only some are selected', () => {
    expect(issuesOf('models:\n  a: {model: x}\n  b: {gpus: [0]}\n', { select: ['a'] })).toMatchObject([{ code: 'missing-model' }]);
  });
});

describe('errors', () => {
  test('reports every problem in one pass, sorted, each with a hint', () => {
    const text = [
      'modelz: 1',
      'models:',
      '  - bad key:',
      '      model: x',
      '  - ok:',
      '      gpus: "zero"',
      '      shm-size: lots',
      '  - ok:',
      '      model: y',
      'gateway: {port: 0}',
      '',
    ].join('\n');
    const issues = issuesOf(text);
    expect(issues.map((i) => `${i.line}:${i.column} ${i.code}`)).toEqual([
      '1:1 unknown-key',
      '3:5 invalid-model-key',
      '5:5 missing-model',
      '6:13 invalid-type',
      '7:17 invalid-value',
      '8:5 duplicate-model',
      '10:17 invalid-value',
    ]);
    for (const issue of issues) {
      expect(issue.hint).not.toBe('');
      expect(issue.file).toBe('models.yaml');
    }
  });

  test('format() gives one line per issue', () => {
    try {
      parse('models:\n  a:\n    model: x\n    gpus: [0, 0]\n', { file: 'model_config/models.yaml' });
      expect.unreachable();
    } catch (error) {
      expect((error as ConfigValidationError).format()).toBe(
        'model_config/models.yaml:4:15 error: model "a": GPU 0 is listed twice in gpus — list each GPU once, e.g. gpus: [0, 1]',
      );
    }
  });

  test('refuses huge files and non-UTF-8 bytes with an issue, not an exception', () => {
    expect(issuesOf(`models: {}\n#${'x'.repeat(5 * 1024 * 1024)}`)).toMatchObject([{ code: 'file-too-large' }]);
    const bytes = new Uint8Array([...Buffer.from('models:\n  a: {model: '), 0xff, ...Buffer.from('}\n')]);
    expect(issuesOf(bytes)).toMatchObject([{ code: 'not-utf8', line: 2, column: 14 }]);
  });

  test('stops wide alias expansion that yaml\'s own check lets through', () => {
    const wide = `x-a: &a [${Array.from({ length: 30000 }, () => '0').join(',')}]\n`;
    const text = `${wide}x-b: [*a, *a, *a, *a, *a]\nmodels:\n  m: {model: x}\n`;
    expect(issuesOf(text)).toMatchObject([{ code: 'yaml-alias-bomb', line: 2, column: 7 }]);
  });

  test('accepts a UTF-8 byte order mark', () => {
    expect(parse('\uFEFFmodels:\n  a: {model: x}\n').models).toHaveLength(1);
  });
});

describe('projectDirFor', () => {
  test('is the parent of model_config/, else the file directory', () => {
    expect(projectDirFor('/p/model_config/models.yaml')).toBe('/p');
    expect(projectDirFor('/p/conf/models.yaml')).toBe('/p/conf');
  });
});

describe('stack name and the gateway config directory', () => {
  test('name: names the stack; without it, the project directory does (made a valid name)', () => {
    const base = 'models:\n  - a: {model: m/a, gpus: none}\n';
    expect(parseConfig(`name: prod-1\n${base}`, { file: '/srv/My Project/model_config/models.yaml' }).name).toBe('prod-1');
    expect(parseConfig(base, { file: '/srv/My Project/model_config/models.yaml' }).name).toBe('my-project');
    expect(issuesOf(`name: Prod!\n${base}`).map((i) => i.path.join('.'))).toEqual(['name']);
  });

  test("a managed gateway's config file may not sit where .env or models.yaml live: its directory is mounted", () => {
    const base = 'models:\n  - a: {model: m/a, gpus: none}\n';
    const file = '/p/model_config/models.yaml';
    for (const configFile of ['config.yaml', 'model_config/litellm.yaml']) {
      const issues = issuesOf(`gateway: {config-file: ${configFile}}\n${base}`, { file });
      expect(issues).toEqual([expect.objectContaining({ code: 'config-file-dir', path: ['gateway', 'config-file'], line: 1 })]);
      expect(issues[0]?.hint).toContain('litellm/config.yaml');
    }
    expect(() => parseConfig(`gateway: {config-file: gw/config.yaml}\n${base}`, { file })).not.toThrow();
    // Not mounted at all when the gateway is not ours.
    expect(() => parseConfig(`gateway: {mode: external, url: "http://gw:4000", config-file: config.yaml}\n${base}`, { file })).not.toThrow();
  });
});

