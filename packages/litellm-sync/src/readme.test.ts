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

describe('README', () => {
  it('its snippet syncs both ways', async () => {
    const readme = await readFile(path.join(packageDir, 'README.md'), 'utf8');
    const snippet = /```ts\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(snippet).toBeDefined();

    fake = await startFakeLitellm({ masterKey: 'sk-readme-1234' });
    dir = await mkdtemp(path.join(tmpdir(), 'litellm-sync-readme-'));
    const config = path.join(dir, 'config.yaml');
    vi.stubEnv('LITELLM_URL', fake.url);
    vi.stubEnv('LITELLM_MASTER_KEY', 'sk-readme-1234');
    vi.stubEnv('LITELLM_CONFIG', config);
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});

    const file = path.join(dir, 'snippet.ts');
    const source = path.join(packageDir, 'src/index.ts');
    await writeFile(file, snippet!.replace("'@inferstack/litellm-sync'", JSON.stringify(source)));
    await import(pathToFileURL(file).href);

    expect(log.mock.calls.map((call) => String(call[0]))).toEqual([
      expect.stringMatching(/^\+ add +Qwen\/Qwen3-4B +inferstack-inference-qwen-4b +-> http:\/\/inference-qwen-4b:8000\/v1$/),
      expect.stringMatching(/^\+ add +Qwen\/Qwen3-4B +inferstack-inference-qwen-4b-2 /),
    ]);
    expect(fake.models.map((m) => m.id)).toEqual(['inferstack-inference-qwen-4b', 'inferstack-inference-qwen-4b-2']);
    const list = (parse(await readFile(config, 'utf8')) as { model_list: unknown[] }).model_list;
    expect(list).toHaveLength(2);
  });
});
