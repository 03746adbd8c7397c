import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterEach, expect, test, vi } from 'vitest';

let dir: string | undefined;
afterEach(async () => {
  vi.unstubAllGlobals();
  vi.restoreAllMocks();
  if (dir) await rm(dir, { recursive: true, force: true });
});

test('the README snippet runs (against a Prometheus double that lists what the targets file holds)', async () => {
  const readme = await readFile(new URL('../README.md', import.meta.url), 'utf8');
  const snippet = /```ts\n([\s\S]*?)```/.exec(readme)?.[1];
  expect(snippet).toBeDefined();
  dir = await mkdtemp(join(tmpdir(), 'prometheus-sync-readme-'));
  const source = (snippet ?? '').replace("'@inferstack/prometheus-sync'", JSON.stringify(fileURLToPath(new URL('./index.ts', import.meta.url))));
  await writeFile(join(dir, 'snippet.ts'), source);

  // Prometheus as the snippet sees it at 127.0.0.1:9090: a reload reads the file, targets are up.
  let listed: string[] = [];
  const targetsFile = join(dir, 'prometheus', 'targets', 'vllm.json');
  vi.stubGlobal('fetch', async (input: string | URL | Request, init?: RequestInit) => {
    const request = new Request(input, init);
    const url = new URL(request.url);
    expect(url.origin).toBe('http://127.0.0.1:9090');
    if (url.pathname === '/-/reload' && request.method === 'POST') {
      listed = (JSON.parse(await readFile(targetsFile, 'utf8')) as Array<{ targets: string[] }>).flatMap((g) => g.targets);
      return new Response('');
    }
    if (url.pathname === '/api/v1/targets') {
      const activeTargets = listed.map((address) => ({
        discoveredLabels: { __address__: address },
        labels: { instance: address, job: 'vllm' },
        scrapePool: 'vllm',
        health: 'up',
        lastError: '',
        lastScrape: '2026-01-01T00:00:00Z',
      }));
      return Response.json({ status: 'success', data: { activeTargets, droppedTargets: [] } });
    }
    return new Response('not found', { status: 404 });
  });

  const lines: string[] = [];
  vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => void lines.push(args.join(' ')));
  const cwd = process.cwd();
  process.chdir(dir);
  try {
    await import(pathToFileURL(join(dir, 'snippet.ts')).href);
  } finally {
    process.chdir(cwd);
  }
  expect(lines).toEqual(['true 10.0.0.7:8001 up, inference-qwen-4b:8000 up']);
  expect(JSON.parse(await readFile(targetsFile, 'utf8'))).toEqual([
    {
      targets: ['10.0.0.7:8001'],
      labels: { container: '10.0.0.7', host: 'gpu-2', model: 'llama-8b', served_model_name: 'meta-llama/Llama-3.1-8B-Instruct' },
    },
    {
      targets: ['inference-qwen-4b:8000'],
      labels: { container: 'inference-qwen-4b', gpus: '0', host: 'local', model: 'qwen-4b', served_model_name: 'Qwen/Qwen3-4B' },
    },
  ]);
});
