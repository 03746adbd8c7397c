import { describe, expect, test } from 'vitest';
import { parseConfig } from './parse-config.js';
import { vllmFlagValue, vllmFlagValues } from './vllm-flag-values.js';

describe('vllmFlagValues', () => {
  test('reads a flag as vLLM argparse does: spaced or with =, underscores, several values, the last one winning', () => {
    const args = ['--max-model-len', '4096', '--revision=abc', '--ignore_patterns', 'original/*', '*.pth', '--trust-remote-code', '--revision', 'v2'];
    expect(vllmFlagValues(args, 'revision')).toEqual(['v2']);
    expect(vllmFlagValues(args, 'ignore-patterns')).toEqual(['original/*', '*.pth']);
    expect(vllmFlagValues(args, 'trust-remote-code')).toEqual([]);
    expect(vllmFlagValues(args, 'load-format')).toBeUndefined();
    expect(vllmFlagValue(args, 'max-model-len')).toBe('4096');
    expect(vllmFlagValue(['-tp', '2'], 'tensor-parallel-size')).toBe('2');
    // A negative number is a value, not a flag.
    expect(vllmFlagValues(['--seed', '-1'], 'seed')).toEqual(['-1']);
  });
});

describe('ModelSpec.revision', () => {
  const parse = (text: string) => parseConfig(text, { file: 'models.yaml', cwd: '/proj', homeDir: '/home/u' }).models[0]!;

  test('is the revision vLLM loads: the revision key, or --revision in additional_flags', () => {
    expect(parse('models:\n  - m: {model: org/m, revision: 0123456789abcdef0123456789abcdef01234567}\n').revision).toBe('0123456789abcdef0123456789abcdef01234567');
    expect(parse('models:\n  - m: {model: org/m, additional_flags: ["--revision=v1.1"]}\n').revision).toBe('v1.1');
    expect(parse('models:\n  - m: {model: org/m}\n').revision).toBeUndefined();
  });

  test('leaves the spec hash as it was: the flag is hashed, the field is not', () => {
    // The hashes these configs had before the field existed (computed on main).
    expect(parse('models:\n  - m: {model: org/m}\n').specHash).toBe('332fa5c620afc45c');
    expect(parse('models:\n  - m: {model: org/m, revision: v1}\n').specHash).toBe('20bde9e4b0fe4fa0');
  });
});
