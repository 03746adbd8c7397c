// The README's example, run as written against the real daemon, the real LiteLLM gateway and the
// real Prometheus, with two vLLM stand-ins: up, status, sync, down --all.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { docker } from '../../../test/support/docker-cli.js';
import { createStackProject, type StackProject } from '../../../test/support/stack-project.js';

const packageDir = fileURLToPath(new URL('..', import.meta.url));

describe('README example', () => {
  let p: StackProject;
  beforeAll(async () => {
    p = await createStackProject('stack-readme');
    p.write(['a', 'b']);
  });
  afterAll(async () => {
    vi.unstubAllEnvs();
    vi.restoreAllMocks();
    await p.cleanup();
  });

  it('brings the stack up, reads its status, syncs and takes it all down', async () => {
    const readme = await readFile(join(packageDir, 'README.md'), 'utf8');
    const snippet = /```ts\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(snippet).toBeDefined();
    expect(snippet!.trim().split('\n').length).toBeLessThanOrEqual(15);
    const file = join(p.dir, 'snippet.ts');
    await writeFile(file, snippet!.replace("'@inferstack/stack'", JSON.stringify(join(packageDir, 'src/index.ts'))));
    vi.stubEnv('MODELS_YAML', p.file);
    for (const [k, v] of Object.entries(p.env)) if (k.startsWith('INFERSTACK_')) vi.stubEnv(k, v!);
    const lines: string[] = [];
    vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => void lines.push(args.join(' ')));

    await import(pathToFileURL(file).href);

    expect(lines).toEqual([`${p.prefix}-a running routed`, `${p.prefix}-b running routed`, 'gateway and Prometheus point at 2 model(s)']);
    const left = (await docker(['ps', '-aq', '--filter', `name=${p.prefix}`])).stdout.trim();
    expect(left).toBe('');
    expect((await docker(['network', 'inspect', p.network], { allowFail: true })).code).not.toBe(0);
  });
});
