import { mkdtemp, readFile, rm, stat, symlink, writeFile, chmod } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { readLitellmConfigEntries, renderLitellmConfig, writeLitellmConfig } from './config-file.js';
import { LitellmConfigError } from './errors.js';
import type { DesiredDeployment } from './types.js';

const qwen: DesiredDeployment = { modelKey: 'qwen', name: 'inference-qwen', apiBase: 'http://inference-qwen:8000/v1', servedModelName: 'Qwen/Qwen3-4B' };
const qwenB: DesiredDeployment = { modelKey: 'qwen-b', name: 'inference-qwen-b', apiBase: 'http://inference-qwen-b:8000/v1', servedModelName: 'Qwen/Qwen3-4B' };
const llama: DesiredDeployment = {
  modelKey: 'llama',
  name: 'inference-llama', apiBase: 'http://inference-llama:8000/v1',
  servedModelName: 'llama-1b',
  apiKey: 'os.environ/LLAMA_KEY',
};

const userConfig = `# my gateway
general_settings:
  master_key: os.environ/LITELLM_MASTER_KEY # from the environment
litellm_settings:
  callbacks: ["prometheus"]
  drop_params: true

model_list:
  # an upstream I added myself
  - model_name: gpt-4o
    litellm_params:
      model: openai/gpt-4o
      api_key: os.environ/OPENAI_API_KEY
  - model_name: old
    litellm_params:
      model: hosted_vllm/old
      api_base: http://inference-old:8000/v1
      organization: inference-vllm

router_settings:
  routing_strategy: simple-shuffle
`;

type Item = { model_name: string; litellm_params: Record<string, unknown>; model_info?: Record<string, unknown> };
const modelList = (text: string): Item[] => (parse(text) as { model_list: Item[] }).model_list;

describe('renderLitellmConfig', () => {
  it('writes our entries and keeps every other key, comment and hand-added entry', () => {
    const { text, changed, entries } = renderLitellmConfig(userConfig, [qwen, llama]);
    expect(changed).toBe(true);
    expect(entries.map((e) => e.model_info.id)).toEqual(['inferstack-inference-qwen', 'inferstack-inference-llama']);

    const parsed = parse(text) as Record<string, unknown>;
    expect(parsed['general_settings']).toEqual({ master_key: 'os.environ/LITELLM_MASTER_KEY' });
    expect(parsed['litellm_settings']).toEqual({ callbacks: ['prometheus'], drop_params: true });
    expect(parsed['router_settings']).toEqual({ routing_strategy: 'simple-shuffle' });
    for (const comment of ['# my gateway', '# from the environment', '# an upstream I added myself']) {
      expect(text).toContain(comment);
    }

    const list = modelList(text);
    expect(list.map((item) => item.model_name)).toEqual(['gpt-4o', 'Qwen/Qwen3-4B', 'llama-1b']);
    expect(list[0]).toEqual({
      model_name: 'gpt-4o',
      litellm_params: { model: 'openai/gpt-4o', api_key: 'os.environ/OPENAI_API_KEY' },
    });
    expect(list[2]).toMatchObject({
      litellm_params: { model: 'hosted_vllm/llama-1b', api_base: 'http://inference-llama:8000/v1', api_key: 'os.environ/LLAMA_KEY' },
      model_info: { id: 'inferstack-inference-llama', managed_by: 'inferstack', inferstack_model_key: 'llama' },
    });
  });

  it('drops reference-tool entries (organization: inference-vllm)', () => {
    const { text } = renderLitellmConfig(userConfig, []);
    expect(modelList(text).map((item) => item.model_name)).toEqual(['gpt-4o']);
    expect(text).not.toContain('inference-vllm');
  });

  it('is idempotent: a second render changes nothing and returns the text unchanged', () => {
    const first = renderLitellmConfig(userConfig, [qwen, qwenB, llama]);
    const second = renderLitellmConfig(first.text, [llama, qwenB, qwen]);
    expect(second.changed).toBe(false);
    expect(second.text).toBe(first.text);
  });

  it('is deterministic whatever the order of the desired list', () => {
    expect(renderLitellmConfig(userConfig, [qwen, qwenB, llama]).text).toBe(
      renderLitellmConfig(userConfig, [llama, qwenB, qwen]).text,
    );
  });

  it('reports a change when a model goes away, comes back, or its api_key changes', () => {
    const base = renderLitellmConfig(userConfig, [qwen, llama]).text;
    const without = renderLitellmConfig(base, [qwen]);
    expect(without.changed).toBe(true);
    expect(modelList(without.text).map((item) => item.model_name)).toEqual(['gpt-4o', 'Qwen/Qwen3-4B']);
    expect(renderLitellmConfig(without.text, [qwen, llama]).changed).toBe(true);
    expect(renderLitellmConfig(base, [qwen, { ...llama, apiKey: 'os.environ/OTHER' }]).changed).toBe(true);
  });

  it('reports a change when someone edited one of our entries by hand', () => {
    const base = renderLitellmConfig(userConfig, [qwen]).text;
    const edited = base.replace('http://inference-qwen:8000/v1', 'http://inference-qwen:9000/v1');
    const again = renderLitellmConfig(edited, [qwen]);
    expect(again.changed).toBe(true);
    expect(again.text).toContain('http://inference-qwen:8000/v1');
    expect(again.text).not.toContain(':9000');
  });

  it('keeps load-balanced deployments of one model as separate entries', () => {
    const list = modelList(renderLitellmConfig('', [qwenB, qwen]).text);
    expect(list.map((item) => [item.model_name, item.model_info?.['id']])).toEqual([
      ['Qwen/Qwen3-4B', 'inferstack-inference-qwen'],
      ['Qwen/Qwen3-4B', 'inferstack-inference-qwen-b'],
    ]);
  });

  it('writes entries as a block list, also into a file that says model_list: []', () => {
    const text = renderLitellmConfig('model_list: []\ngeneral_settings:\n  master_key: os.environ/LITELLM_MASTER_KEY\n', [
      { modelKey: 'a', name: 'inference-a', apiBase: 'http://inference-a:8000/v1', servedModelName: 'org/a' },
    ]).text;
    expect(text).toMatch(/^model_list:\n  - model_name: org\/a\n/m);
    expect(renderLitellmConfig(text, []).text).toMatch(/^model_list: \[\]$/m);
  });

  it('starts a file from nothing', () => {
    const empty = renderLitellmConfig('', []);
    expect(empty.changed).toBe(false);
    expect(parse(empty.text)).toEqual({ model_list: [] });
    expect(renderLitellmConfig('# just a comment\n', [qwen]).text).toContain('# just a comment');
    const noList = renderLitellmConfig('general_settings:\n  master_key: sk-1\n', [qwen]);
    expect(noList.changed).toBe(true);
    expect(modelList(noList.text)).toHaveLength(1);
    const nullList = renderLitellmConfig('model_list:\n', [qwen]);
    expect(modelList(nullList.text)).toHaveLength(1);
  });

  it('keeps the sequence indentation style of the file', () => {
    const flush = 'model_list:\n- model_name: mine\n  litellm_params:\n    model: openai/x\n';
    const { text } = renderLitellmConfig(flush, [qwen]);
    expect(text).toMatch(/^model_list:\n- model_name: mine\n/);
    expect(text).toContain('\n- model_name: Qwen/Qwen3-4B\n');
  });

  it('reports YAML errors with line and column, and a model_list that is not a list', () => {
    const error = (() => {
      try {
        renderLitellmConfig('model_list:\n  - model_name: a\n   bad: [\n', [qwen], 'config.yaml');
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(LitellmConfigError);
    expect(error).toMatchObject({ file: 'config.yaml', line: expect.any(Number) });
    expect(() => renderLitellmConfig('model_list: {a: 1}\n', [qwen])).toThrow(/must be a list/);
    expect(() => renderLitellmConfig('- a\n- b\n', [qwen])).toThrow(/mapping/);
  });
});

describe('writeLitellmConfig', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'litellm-sync-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('creates a new file with mode 0600', async () => {
    const file = path.join(dir, 'config.yaml');
    const result = await writeLitellmConfig(file, [llama]);
    expect(result).toMatchObject({ changed: true, path: file });
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(modelList(await readFile(file, 'utf8'))).toHaveLength(1);
  });

  it('creates missing directories', async () => {
    const file = path.join(dir, 'litellm', 'nested', 'config.yaml');
    expect((await writeLitellmConfig(file, [qwen])).changed).toBe(true);
    expect(modelList(await readFile(file, 'utf8'))).toHaveLength(1);
  });

  it('rewrites only when the managed list changed, keeping the mode', async () => {
    const file = path.join(dir, 'config.yaml');
    await writeFile(file, userConfig);
    await chmod(file, 0o640);
    expect((await writeLitellmConfig(file, [qwen])).changed).toBe(true);
    const written = await stat(file);
    expect(written.mode & 0o777).toBe(0o640);

    expect((await writeLitellmConfig(file, [qwen])).changed).toBe(false);
    expect((await stat(file)).ino).toBe(written.ino); // not rewritten
    expect((await writeLitellmConfig(file, [])).changed).toBe(true);
    expect(await readFile(file, 'utf8')).toContain('# an upstream I added myself');
  });

  it('writes through a symbolic link to its target and leaves no temporary file', async () => {
    const target = path.join(dir, 'real.yaml');
    const link = path.join(dir, 'config.yaml');
    await writeFile(target, userConfig);
    await symlink(target, link);
    const result = await writeLitellmConfig(link, [qwen]);
    expect(result.path).toBe(target);
    expect(modelList(await readFile(target, 'utf8')).map((item) => item.model_name)).toContain('Qwen/Qwen3-4B');
    const { readdir, lstat } = await import('node:fs/promises');
    expect((await lstat(link)).isSymbolicLink()).toBe(true);
    expect((await readdir(dir)).sort()).toEqual(['config.yaml', 'real.yaml']);
  });

  it('leaves the file untouched when it does not parse', async () => {
    const file = path.join(dir, 'config.yaml');
    await writeFile(file, 'model_list: [\n');
    await expect(writeLitellmConfig(file, [qwen])).rejects.toBeInstanceOf(LitellmConfigError);
    expect(await readFile(file, 'utf8')).toBe('model_list: [\n');
  });
});

describe('readLitellmConfigEntries', () => {
  it('reads the model list of a file, [] without one', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "litellm-read-"));
    try {
      const file = path.join(dir, "config.yaml");
      expect(await readLitellmConfigEntries(file)).toEqual([]);
      await writeLitellmConfig(file, [{ name: 'inference-a', modelKey: 'a', apiBase: 'http://inference-a:8000/v1', servedModelName: 'org/a' }], { owner: 's' });
      const entries = await readLitellmConfigEntries(file);
      expect(entries).toHaveLength(1);
      expect(entries[0]).toMatchObject({ model_name: 'org/a', litellm_params: { api_base: 'http://inference-a:8000/v1' }, model_info: { inferstack_stack: 's', inferstack_model_key: 'a' } });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
