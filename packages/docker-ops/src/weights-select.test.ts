import { parseConfig } from '@inferstack/config';
import { describe, expect, test } from 'vitest';
import { fnmatch } from './_fnmatch.js';
import { type RepoFile, hubCachePath, selectWeightFiles, weightSources } from './weights-select.js';

const MB = 1_000_000;
/** A listing of files none of which is in the cache yet; `[path, size]` pairs. */
const repo = (entries: Array<[string, number]>, extra: Partial<RepoFile> = {}): RepoFile[] => entries.map(([path, size]) => ({ path, size, blob: null, bytes: 0, complete: false, ...extra }));
const paths = (s: { files: Array<{ path: string }> }) => s.files.map((f) => f.path);
const model = { role: 'model' as const, loadFormat: 'auto', ignorePatterns: ['original/**/*'] };

describe('fnmatch (Python fnmatch.fnmatch on POSIX)', () => {
  test.each([
    ['original/params.json', '*.json', true],
    ['config.json', '*.json', true],
    ['original/consolidated.00.pth', 'original/**/*', false],
    ['original/sub/x.pth', 'original/**/*', true],
    ['model-00001-of-00002.safetensors', 'model-0000[1-2]-of-*.safetensors', true],
    ['bmodel.bin', '[!a]*.bin', true],
    ['amodel.bin', '[!a]*.bin', false],
    ['weird[name.json', 'weird[name.json', true],
    ['a.b', 'a?b', true],
    ['a.json.bak', '*.json', false],
    ['[x].json', '[[]x].json', true],
  ])('%s ~ %s → %s', (name, pattern, expected) => {
    expect(fnmatch(name, pattern)).toBe(expected);
  });
});

describe('selectWeightFiles: the files vLLM 0.20–0.34 loads', () => {
  const qwen = repo([
    ['config.json', 700],
    ['generation_config.json', 200],
    ['model.safetensors.index.json', 30_000],
    ['model-00001-of-00002.safetensors', 150 * MB],
    ['model-00002-of-00002.safetensors', 100 * MB],
    ['tokenizer.json', 7 * MB],
    ['tokenizer_config.json', 9000],
    ['vocab.json', 2 * MB],
    ['merges.txt', MB],
    ['README.md', 4000],
    ['.gitattributes', 1500],
    ['pytorch_model.bin', 250 * MB],
    ['original/consolidated.00.pth', 250 * MB],
    ['original/params.json', 200],
  ]);
  const qwenIndex = { [`model.safetensors.index.json`]: ['model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors'] };

  test('sharded safetensors: the shards the index names, config, tokenizer; not the .bin, README or original/ checkpoints', () => {
    const s = selectWeightFiles({ repo: 'org/qwen', files: qwen, indexes: qwenIndex }, model);
    expect(s.format).toBe('safetensors');
    expect(paths(s)).toEqual([
      'config.json',
      'generation_config.json',
      'merges.txt',
      'model-00001-of-00002.safetensors',
      'model-00002-of-00002.safetensors',
      'model.safetensors.index.json',
      'original/params.json',
      'tokenizer.json',
      'tokenizer_config.json',
      'vocab.json',
    ]);
    expect(s.totalBytes).toBe(700 + 200 + 30_000 + 250 * MB + 7 * MB + 9000 + 2 * MB + MB + 200);
    expect(s).toMatchObject({ presentBytes: 0, missingBytes: s.totalBytes, complete: false, offline: { ready: true }, notes: [] });
  });

  test('counts what the cache holds: complete files whole, a partial download by its bytes', () => {
    const files = qwen.map((f) =>
      f.path === 'model-00001-of-00002.safetensors' ? { ...f, bytes: f.size!, complete: true } : f.path === 'model-00002-of-00002.safetensors' ? { ...f, bytes: 40 * MB } : f,
    );
    const s = selectWeightFiles({ repo: 'org/qwen', files, indexes: qwenIndex }, model);
    expect(s.presentBytes).toBe(190 * MB);
    expect(s.missingBytes).toBe(s.totalBytes - 190 * MB);
    expect(s.complete).toBe(false);
    const all = selectWeightFiles({ repo: 'org/qwen', files: files.map((f) => ({ ...f, bytes: f.size!, complete: true })), indexes: qwenIndex }, model);
    expect(all).toMatchObject({ complete: true, missingBytes: 0 });
  });

  test('without an index: every *.safetensors; an index that could not be read is said so', () => {
    const files = repo([['config.json', 1], ['model.safetensors', 10], ['onnx/model.safetensors', 5], ['model.safetensors.index.json', 1]]);
    const unread = selectWeightFiles({ repo: 'o/m', files, indexes: {} }, model);
    expect(paths(unread)).toEqual(['config.json', 'model.safetensors', 'model.safetensors.index.json', 'onnx/model.safetensors']);
    expect(unread.notes).toEqual(['model.safetensors.index.json could not be read: all *.safetensors are pulled']);
    const noIndex = selectWeightFiles({ repo: 'o/m', files: files.filter((f) => !f.path.endsWith('.index.json')) }, model);
    expect(paths(noIndex)).toEqual(['config.json', 'model.safetensors', 'onnx/model.safetensors']);
    expect(noIndex.offline.ready).toBe(true);
  });

  test('.bin checkpoints when the top of the repo has no safetensors', () => {
    const files = repo([
      ['config.json', 1],
      ['pytorch_model-00001-of-00002.bin', 10],
      ['pytorch_model-00002-of-00002.bin', 10],
      ['pytorch_model.bin.index.json', 1],
      ['flax_model.msgpack', 20],
      ['tf_model.h5', 20],
    ]);
    const s = selectWeightFiles({ repo: 'o/m', files }, model);
    expect(s.format).toBe('bin');
    expect(paths(s)).toEqual(['config.json', 'pytorch_model-00001-of-00002.bin', 'pytorch_model-00002-of-00002.bin', 'pytorch_model.bin.index.json']);
    expect(s.offline.ready).toBe(true);
  });

  test('safetensors only in a subfolder: vLLM takes the top-level .bin, and cannot start offline (its offline check asks for *.safetensors)', () => {
    const files = repo([['config.json', 1], ['pytorch_model.bin', 10], ['extra/adapter.safetensors', 3]]);
    const s = selectWeightFiles({ repo: 'o/m', files }, model);
    expect(paths(s)).toEqual(['config.json', 'pytorch_model.bin']);
    expect(s.offline).toEqual({ ready: false, reason: expect.stringContaining('every *.safetensors of o/m, also extra/adapter.safetensors') });
  });

  const mistral = repo([
    ['config.json', 1],
    ['params.json', 1],
    ['tekken.json', 14 * MB],
    ['consolidated.safetensors', 14_000 * MB],
    ['model-00001-of-00003.safetensors', 5000 * MB],
    ['model-00002-of-00003.safetensors', 5000 * MB],
    ['model-00003-of-00003.safetensors', 4000 * MB],
    ['model.safetensors.index.json', 1],
  ]);

  test("Mistral's own format: consolidated.safetensors only; offline only with load-format: mistral", () => {
    const auto = selectWeightFiles({ repo: 'mistralai/M', files: mistral, indexes: { 'model.safetensors.index.json': ['model-00001-of-00003.safetensors'] } }, model);
    expect(auto.format).toBe('mistral');
    expect(paths(auto)).toEqual(['config.json', 'consolidated.safetensors', 'model.safetensors.index.json', 'params.json', 'tekken.json']);
    expect(auto.offline).toEqual({ ready: false, reason: expect.stringContaining('set load-format: mistral') });
    const explicit = selectWeightFiles({ repo: 'mistralai/M', files: mistral }, { ...model, loadFormat: 'mistral' });
    expect(paths(explicit)).toEqual(paths(auto));
    expect(explicit.offline).toEqual({ ready: true });
  });

  test('a duplicate checkpoint the index leaves out is not pulled, and keeps vLLM from starting offline', () => {
    const files = repo([['config.json', 1], ['model.safetensors', 100], ['model-00001-of-00001.safetensors', 100], ['model.safetensors.index.json', 1]]);
    const s = selectWeightFiles({ repo: 'o/m', files, indexes: { 'model.safetensors.index.json': ['model-00001-of-00001.safetensors'] } }, model);
    expect(paths(s)).toEqual(['config.json', 'model-00001-of-00001.safetensors', 'model.safetensors.index.json']);
    expect(s.offline.ready).toBe(false);
    expect(s.offline.reason).toContain('also model.safetensors that it does not load');
  });

  test('load formats: pt, npcache, dummy, an unknown one; ignore-patterns', () => {
    const files = repo([['config.json', 1], ['model.pt', 5], ['model.bin', 6], ['model.safetensors', 7], ['skip/me.safetensors', 1]]);
    expect(paths(selectWeightFiles({ repo: 'o/m', files }, { ...model, loadFormat: 'pt' }))).toEqual(['config.json', 'model.pt']);
    expect(paths(selectWeightFiles({ repo: 'o/m', files }, { ...model, loadFormat: 'npcache' }))).toEqual(['config.json', 'model.bin']);
    expect(selectWeightFiles({ repo: 'o/m', files }, { ...model, loadFormat: 'dummy' })).toMatchObject({ format: 'none', offline: { ready: true } });
    const unknown = selectWeightFiles({ repo: 'o/m', files }, { ...model, loadFormat: 'tensorizer' });
    expect(unknown).toMatchObject({ format: 'unknown', offline: { ready: false } });
    expect(paths(unknown)).toEqual(['config.json']);
    expect(unknown.notes[0]).toMatch(/load-format tensorizer/);
    expect(paths(selectWeightFiles({ repo: 'o/m', files }, { ...model, ignorePatterns: ['skip/'] }))).toEqual(['config.json', 'model.safetensors']);
  });

  test('roles: weights alone (download-dir), metadata alone, a tokenizer repo', () => {
    const s = { repo: 'org/qwen', files: qwen, indexes: qwenIndex };
    expect(paths(selectWeightFiles(s, { ...model, role: 'weights' }))).toEqual(['model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors']);
    expect(paths(selectWeightFiles(s, { ...model, role: 'metadata' }))).not.toContain('model-00001-of-00002.safetensors');
    const tok = selectWeightFiles(s, { ...model, role: 'tokenizer' });
    expect(tok.format).toBe('none');
    expect(paths(tok)).toContain('tokenizer.json');
  });
});

describe('weightSources: what serve pull fetches for a model, from its config', () => {
  const spec = (yaml: string) => parseConfig(`models:\n  - m:\n      model: org/m\n${yaml.replace(/^/gm, '      ')}\n`, { file: 'models.yaml', cwd: '/proj', homeDir: '/home/u' }).models[0]!;

  test('the repo at its revision, into the cache the model mounts', () => {
    expect(weightSources(spec('revision: v2'))).toEqual({
      sources: [{ role: 'model', repo: 'org/m', revision: 'v2', cacheDir: '/root/.cache/huggingface/hub', loadFormat: 'auto', ignorePatterns: ['original/**/*'] }],
      problems: [],
    });
    expect(weightSources(spec('load-format: safetensors\nignore-patterns: "*.pth"')).sources[0]).toMatchObject({ loadFormat: 'safetensors', ignorePatterns: ['*.pth'] });
  });

  test('download-dir on a volume: the weights there, the rest in the HF cache; the tokenizer of another repo', () => {
    const s = weightSources(spec('download-dir: /models\nvolumes: ["/data/models:/models"]\ntokenizer: org/tok\ntokenizer-revision: t1'));
    expect(s.problems).toEqual([]);
    expect(s.sources.map((x) => [x.role, x.repo, x.cacheDir, x.revision])).toEqual([
      ['weights', 'org/m', '/models', undefined],
      ['metadata', 'org/m', '/root/.cache/huggingface/hub', undefined],
      ['tokenizer', 'org/tok', '/root/.cache/huggingface/hub', 't1'],
    ]);
  });

  test('a cache that is not on a volume of the model is a problem, named with what to do', () => {
    const s = weightSources(spec('download-dir: /models'));
    expect(s.problems).toEqual([
      { key: 'm', message: 'm: download-dir (/models in the container) is not on a volume of the model, so weights pulled there would be lost', hint: 'mount a volume at /models (volumes: ["<host dir>:/models"]) or remove download-dir' },
    ]);
    const moved = weightSources(spec('env: {HF_HOME: /srv/hf}'));
    expect(moved.sources).toEqual([]);
    expect(moved.problems[0]?.message).toBe('m: the Hugging Face cache (/srv/hf/hub in the container) is not on a volume of the model, so weights pulled there would be lost');
    expect(moved.problems[0]?.hint).toContain('remove HF_HOME from env');
  });

  test('a model given as a path has nothing to pull', () => {
    const local = parseConfig('models:\n  - m: {model: /models/qwen}\n', { file: 'models.yaml', cwd: '/proj', homeDir: '/home/u' }).models[0]!;
    expect(weightSources(local)).toMatchObject({ sources: [], skipped: expect.stringContaining('/models/qwen') });
  });

  test('hubCachePath follows huggingface_hub: HF_HUB_CACHE, else HF_HOME/hub', () => {
    expect(hubCachePath({ HF_HOME: '/root/.cache/huggingface' })).toBe('/root/.cache/huggingface/hub');
    expect(hubCachePath({ HF_HOME: '/x', HF_HUB_CACHE: '/y' })).toBe('/y');
    expect(hubCachePath({})).toBe('/root/.cache/huggingface/hub');
  });
});
