import { describe, expect, test } from 'vitest';
import { FALLBACK_HASH_KEY } from './defaults.js';
import { canonicalJson, type HashedModelFields, hashModelSpec, specHashInput } from './hash-model-spec.js';
import { parseConfig } from './parse-config.js';

const SECRET = 'hf_very_secret_token_value';

function specOf(yaml: string, settings: Record<string, string> = { HF_TOKEN: SECRET }, hashKey?: string) {
  const config = parseConfig(yaml, { file: 'models.yaml', cwd: '/p', homeDir: '/home/u', settings, ...(hashKey ? { hashKey } : {}) });
  const spec = config.models[0];
  if (!spec) throw new Error('no model');
  return spec;
}

const BASE = `models:
  m:
    model: org/model
    gpus: [0, 1]
    cpuset-cpus: "0-3"
    shm-size: 8g
    tensor-parallel-size: 2
    max-model-len: 4096
    env: {A: "1", B: "2"}
    volumes: ["/a:/a", "/b:/b:ro"]
    api-key: vllm-key-value
    additional_flags: [--trust-remote-code]
`;

describe('hashModelSpec', () => {
  test('is 16 hex characters and equal for equal specs', () => {
    const a = specOf(BASE);
    const b = specOf(BASE);
    expect(a.specHash).toMatch(/^[0-9a-f]{16}$/);
    expect(b.specHash).toBe(a.specHash);
    expect(hashModelSpec(a)).toBe(a.specHash);
  });

  test('does not depend on the model key or on key order in the YAML', () => {
    const reordered = `models:
  other-key:
    additional_flags: [--trust-remote-code]
    api-key: vllm-key-value
    volumes: ["/b:/b:ro", "/a:/a"]
    env: {B: "2", A: "1"}
    max_model_len: 4096
    tensor-parallel-size: 2
    shm-size: 8192m
    cpuset-cpus: "0-3"
    gpus: [0, 1]
    model: org/model
`;
    expect(specOf(reordered).specHash).toBe(specOf(BASE).specHash);
  });

  test.each([
    ['model', (s: string) => s.replace('org/model', 'org/other')],
    ['image', (s: string) => s.replace('    model: org/model', '    model: org/model\n    image: v0.10.0')],
    ['gpus', (s: string) => s.replace('[0, 1]', '[2, 3]')],
    ['gpu order', (s: string) => s.replace('[0, 1]', '[1, 0]')],
    ['cpuset', (s: string) => s.replace('"0-3"', '"0-7"')],
    ['shm', (s: string) => s.replace('8g', '16g')],
    ['a flag value', (s: string) => s.replace('4096', '8192')],
    ['a new flag', (s: string) => s.replace('    max-model-len', '    enforce-eager: true\n    max-model-len')],
    ['additional flags', (s: string) => s.replace('[--trust-remote-code]', '[--trust-remote-code, --enable-auto-tool-choice]')],
    ['env', (s: string) => s.replace('B: "2"', 'B: "3"')],
    ['volumes', (s: string) => s.replace('/b:/b:ro', '/b:/b')],
    ['api key', (s: string) => s.replace('vllm-key-value', 'vllm-key-value2')],
    ['a secret env', (s: string) => s.replace('{A: "1", B: "2"}', '{A: "1", B: "2", X_TOKEN: t}')],
  ])('changes when %s changes', (_what, change) => {
    const changed = change(BASE);
    expect(changed).not.toBe(BASE);
    expect(specOf(changed).specHash).not.toBe(specOf(BASE).specHash);
  });

  test('changes with the platform', () => {
    expect(specOf(BASE, { VLLM_PLATFORM: 'linux/arm64' }).specHash).not.toBe(specOf(BASE, {}).specHash);
  });

  test('secrets enter only as keyed digests', () => {
    const spec = specOf(BASE);
    const input = specHashInput(spec);
    expect(spec.secretEnv.HF_TOKEN).toBe(SECRET);
    expect(input).not.toContain(SECRET);
    expect(input).not.toContain('vllm-key-value');
    expect(input).toContain('"HF_TOKEN":"');
    // Changing the secret changes the hash; so does the digest key, when there are secrets.
    expect(specOf(BASE, { HF_TOKEN: `${SECRET}2` }).specHash).not.toBe(spec.specHash);
    expect(specOf(BASE, { HF_TOKEN: SECRET }, 'machine-key').specHash).not.toBe(spec.specHash);
    expect(specOf(BASE, { HF_TOKEN: SECRET, INFERSTACK_HASH_KEY: 'machine-key' }).specHash).toBe(
      specOf(BASE, { HF_TOKEN: SECRET }, 'machine-key').specHash,
    );
  });

  test('defaults to the documented fallback key', () => {
    const spec = specOf(BASE);
    expect(hashModelSpec(spec, FALLBACK_HASH_KEY)).toBe(spec.specHash);
    expect(hashModelSpec(spec, 'another')).not.toBe(spec.specHash);
  });

  test('leaves absent fields out and sorts keys', () => {
    const spec: HashedModelFields = {
      model: 'm',
      image: 'i',
      gpus: { kind: 'none' },
      vllmArgs: [],
      env: { b: '1', a: '2' },
      volumes: [],
      secretEnv: {},
    };
    const input = specHashInput(spec);
    expect(input).not.toContain('platform');
    expect(input).toContain('"env":{"a":"2","b":"1"}');
    expect(canonicalJson({ b: [1, { d: 1, c: undefined }], a: null })).toBe('{"a":null,"b":[1,{"d":1}]}');
  });
});
