// The README's usage snippet, run as written against the fake LiteLLM (loopback only).
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { parse } from 'yaml';
import { type FakeLitellm, startFakeLitellm } from '../test/fake-litellm-api.mjs';

const packageDir = fileURLToPath(new URL('..', import.meta.url));
let fake: FakeLitellm | undefined;
let dir: string | undefined;
afterEach(async () => {
  vi.unstubAllEnvs();
  vi.restoreAllMocks();
  await fake?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function runSnippet(text: string, name: string): Promise<string[]> {
  const log = vi.spyOn(console, 'log').mockImplementation(() => {});
  const file = path.join(dir!, `${name}.ts`);
  const source = path.join(packageDir, 'src/index.ts');
  await writeFile(file, text.replace("'@inferstack/litellm-sync'", JSON.stringify(source)));
  await import(pathToFileURL(file).href);
  const lines = log.mock.calls.map((call) => String(call[0]));
  log.mockRestore();
  return lines;
}

describe('README', () => {
  it('its snippets keep a gateway equal to three backends, then render a config file', async () => {
    const readme = await readFile(path.join(packageDir, 'README.md'), 'utf8');
    const snippets = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!);
    expect(snippets).toHaveLength(2);
    // The opening example does the whole job in about 15 lines.
    expect(snippets[0]!.trim().split('\n').length).toBeLessThanOrEqual(16);

    fake = await startFakeLitellm({ masterKey: 'sk-readme-1234', configModels: [{ model_name: 'hand-made', litellm_params: { model: 'openai/x' }, model_info: { id: 'mine' } }] });
    dir = await mkdtemp(path.join(tmpdir(), 'litellm-sync-readme-'));
    const config = path.join(dir, 'config.yaml');
    vi.stubEnv('LITELLM_URL', fake.url);
    vi.stubEnv('LITELLM_MASTER_KEY', 'sk-readme-1234');
    vi.stubEnv('LITELLM_CONFIG', config);

    expect(await runSnippet(snippets[0]!, 'three-backends')).toEqual(['added 3, removed 0']);
    const routed = fake.models.filter((m) => m.id !== 'mine').map((m) => [m.model_name, m.litellm_params.api_base]);
    expect(routed).toEqual(
      expect.arrayContaining([
        ['Qwen/Qwen3-4B', 'http://10.0.0.7:8001/v1'],
        ['Qwen/Qwen3-4B', 'http://10.0.0.8:8001/v1'],
        ['meta-llama/Llama-3.1-8B-Instruct', 'http://inference-llama:8000/v1'],
      ]),
    );
    expect(routed).toHaveLength(3);
    // Run again: nothing to do; the hand-made entry was never touched.
    expect(await runSnippet(snippets[0]!, 'three-backends-again')).toEqual(['added 0, removed 0']);
    expect(fake.models.some((m) => m.id === 'mine')).toBe(true);

    const lines = await runSnippet(snippets[1]!, 'config-file');
    expect(lines).toEqual([
      expect.stringMatching(/^\+ add +Qwen\/Qwen3-4B +inferstack-inference-qwen-4b +-> http:\/\/inference-qwen-4b:8000\/v1$/),
      expect.stringMatching(/^- remove .*inferstack-10\.0\.0\.7-8001/),
      expect.stringMatching(/^- remove .*inferstack-10\.0\.0\.8-8001/),
      expect.stringMatching(/^- remove .*inferstack-inference-llama-8000/),
    ]);
    const list = (parse(await readFile(config, 'utf8')) as { model_list: Array<{ model_info: { id: string } }> }).model_list;
    expect(list.map((e) => e.model_info.id)).toEqual(['inferstack-inference-qwen-4b']);
  });
});
