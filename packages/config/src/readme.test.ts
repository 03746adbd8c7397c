import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterEach, expect, test, vi } from 'vitest';

const packageDir = fileURLToPath(new URL('..', import.meta.url));
const scratch = fileURLToPath(new URL('../.cache/readme/', import.meta.url));

afterEach(async () => {
  vi.restoreAllMocks();
  await rm(scratch, { recursive: true, force: true });
});

test('the README snippet runs against the reference fixture', async () => {
  const readme = await readFile(new URL('../README.md', import.meta.url), 'utf8');
  const snippet = /```ts\n([\s\S]*?)```/.exec(readme)?.[1];
  expect(snippet).toBeDefined();
  const source = (snippet ?? '').replace("'@inferstack/config'", JSON.stringify(fileURLToPath(new URL('./index.ts', import.meta.url))));
  await mkdir(scratch, { recursive: true });
  const file = `${scratch}snippet.ts`;
  await writeFile(file, source);
  const lines: string[] = [];
  vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => void lines.push(args.join(' ')));
  const errors = vi.spyOn(console, 'error').mockImplementation(() => undefined);
  const cwd = process.cwd();
  process.chdir(packageDir);
  try {
    await import(pathToFileURL(file).href);
  } finally {
    process.chdir(cwd);
  }
  expect(errors).not.toHaveBeenCalled();
  expect(lines).toHaveLength(3);
  expect(lines[0]).toMatch(/^inference-qwen-vl-4b-instruct vllm\/vllm-openai:v0\.11\.0 [0-9a-f]{16} --tensor-parallel-size 1 /);
  expect(lines[2]).toMatch(/^inference-Qwen--Qwen2\.5-7B-Instruct /);
});
