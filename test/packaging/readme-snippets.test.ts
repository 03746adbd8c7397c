// The ```ts snippets of the docker-ops and cli READMEs, run as written (imports pointed at the
// sources, as the other packages' readme tests do) against the real daemon; and the root README's
// test command, which must stay the one CI runs.
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { commandNames } from '../../packages/cli/src/index.js';
import {
  DEFAULT_DATABASE_IMAGE,
  DEFAULT_DCGM_EXPORTER_IMAGE,
  DEFAULT_GRAFANA_IMAGE,
  DEFAULT_LITELLM_IMAGE,
  DEFAULT_NODE_EXPORTER_IMAGE,
  DEFAULT_PROMETHEUS_IMAGE,
  DEFAULT_VLLM_IMAGE,
  DEFAULT_WATCHER_IMAGE,
} from '../../packages/config/src/index.js';
import { STANDIN_IMAGE, sessionLabel } from '../support/docker.js';

const packages = fileURLToPath(new URL('../../packages/', import.meta.url));
const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

/** The first ```ts block of a package's README, with `@inferstack/*` imports aimed at the sources. */
async function snippet(dir: string): Promise<string> {
  const readme = await readFile(join(packages, dir, 'README.md'), 'utf8');
  const code = /```ts\n([\s\S]*?)```/.exec(readme)?.[1];
  expect(code, `${dir}/README.md has a ts snippet`).toBeDefined();
  const source: Record<string, string> = { config: 'config', 'docker-ops': 'docker-ops', 'litellm-sync': 'litellm-sync', 'prometheus-sync': 'prometheus-sync', serve: 'cli' };
  return code!.replace(/'@inferstack\/([a-z-]+)'/g, (whole, name: string) => (source[name] ? JSON.stringify(join(packages, source[name], 'src/index.ts')) : whole));
}

let dir: string | undefined;
const cwd = process.cwd();
afterEach(async () => {
  process.chdir(cwd);
  vi.unstubAllEnvs();
  vi.restoreAllMocks();
  if (dir) await rm(dir, { recursive: true, force: true });
  dir = undefined;
});

/** Run a snippet as a module and return what it logged. */
async function runSnippet(code: string): Promise<string[]> {
  const file = join(dir!, `snippet-${randomBytes(3).toString('hex')}.ts`);
  await writeFile(file, code);
  const lines: string[] = [];
  vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => void lines.push(args.join(' ')));
  await import(pathToFileURL(file).href);
  return lines;
}

describe('README snippets', () => {
  it('docker-ops: plans a model against the daemon and diagnoses a startup log', async () => {
    dir = await mkdtemp(join(tmpdir(), 'docker-ops-readme-'));
    // A key no container on this daemon has, so the plan is "create" whatever else runs here.
    const key = `rd${randomBytes(3).toString('hex')}-qwen`;
    const code = await snippet('docker-ops');
    expect(code).toContain('qwen-4b:');
    const lines = await runSnippet(code.replaceAll('qwen-4b', key));
    expect(lines).toEqual([`create ${key}`, `kv-cache-too-small - Set \`max-model-len: 27296\` for \`${key}\` (what fits now).`]);
  });

  it('cli: runCli runs `serve plan --json` in-process and returns its exit code', async () => {
    dir = await mkdtemp(join(tmpdir(), 'serve-readme-'));
    const tag = randomBytes(3).toString('hex');
    const key = `rd${tag}-tiny`;
    await mkdir(join(dir, 'model_config'));
    await writeFile(join(dir, '.env'), `HUGGINGFACE_CACHE=${join(dir, 'hf-cache')}\n`);
    await writeFile(
      join(dir, 'model_config', 'models.yaml'),
      [
        `network: inferstack-test-readme-${tag}`,
        'gateway: {mode: none}',
        'monitoring: {mode: none}',
        'defaults:',
        `  image: ${STANDIN_IMAGE}`,
        '  pull: never',
        'models:',
        `  - ${key}: {model: test/tiny, gpus: none}`,
        '',
      ].join('\n'),
    );
    vi.stubEnv('INFERSTACK_HASH_KEY', 'readme-test');
    vi.stubEnv('INFERSTACK_LABELS', sessionLabel());
    vi.stubEnv('NO_COLOR', '1');
    const code = await snippet('cli');
    process.chdir(dir);
    const lines = await runSnippet(code);
    expect(lines).toContain(`create ${key}`);
    // Other model containers on the daemon are only ever "remove" (not in this config).
    expect(lines.filter((l) => !l.startsWith('remove '))).toEqual([`create ${key}`]);
  });

  it('cli: the README names every command, exit code and INFERSTACK_ variable the CLI reads', async () => {
    const readme = await readFile(join(packages, 'cli', 'README.md'), 'utf8');
    const commands = [...commandNames];
    expect(commands).toEqual(expect.arrayContaining(['up', 'plan', 'status', 'logs', 'stop', 'down', 'sync', 'unlock']));
    for (const command of commands) expect(readme, `serve ${command} in packages/cli/README.md`).toMatch(new RegExp(`^serve ${command}\\b`, 'm'));
    for (const code of [0, 1, 2, 3]) expect(readme).toMatch(new RegExp(`^\\| ${code} \\|`, 'm'));
    const { execFile } = await import('node:child_process');
    const used = await new Promise<string>((resolve, reject) =>
      // The CLI's own code and the stack library it wires read them.
      execFile('grep', ['-rhoE', '--exclude=*.test.ts', 'INFERSTACK_[A-Z_]+', join(packages, 'cli', 'src'), join(packages, 'stack', 'src')], (error, stdout) => (error ? reject(error) : resolve(stdout))),
    );
    // INFERSTACK_VLLM_KEY_<MODEL> is set by the CLI (in the gateway's environment), not read.
    const names = [...new Set(used.split('\n').filter((n) => n && !n.startsWith('INFERSTACK_VLLM_KEY_')))];
    expect(names.length).toBeGreaterThan(3);
    for (const name of names) expect(readme, `${name} in packages/cli/README.md`).toContain(`\`${name}`);
  });
});

describe('the root README', () => {
  it('gives the test command that .ci/run runs, and that command sets the machine up', async () => {
    const readme = await readFile(join(repoRoot, 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('Run all the tests'));
    const command = /```sh\n(.+)\n```/.exec(section)?.[1];
    expect(command, 'a ```sh block after "Run all the tests" in README.md').toBeDefined();
    // From node and npm alone: corepack provides the pnpm that packageManager pins.
    expect(command).toBe('corepack enable && pnpm install --frozen-lockfile && pnpm test');

    // .ci/run is a thin caller: exactly that command, and none of the set-up itself.
    const ci = await readFile(join(repoRoot, '.ci/run'), 'utf8');
    const code = ci.split('\n').filter((line) => line.trim() && !line.trim().startsWith('#'));
    expect(code.filter((line) => line.includes('pnpm'))).toEqual([`${command} || status=$?`]);
    expect(code.join('\n')).not.toMatch(/scripts\/ensure-|images\/build\.sh|\bnpm (i|install) /);

    // The set-up runs in `pnpm test` (and test:docker), before anything else; never in test:unit.
    const pkg = JSON.parse(await readFile(join(repoRoot, 'package.json'), 'utf8')) as { packageManager: string; scripts: Record<string, string> };
    expect(pkg.scripts.test).toMatch(/^bash scripts\/ensure-test-env\.sh && /);
    expect(pkg.scripts['test:docker']).toMatch(/^bash scripts\/ensure-test-env\.sh && /);
    // ...which has run images/build.sh, so the docker project's global setup need not run it again.
    expect(pkg.scripts.test).toMatch(/ INFERSTACK_TEST_ENV=ready vitest run$/);
    expect(pkg.scripts['test:unit']).not.toContain('ensure-test-env');
    // corepack checks a pinned hash instead of the registry's signatures, which not every npm
    // mirror serves (without the hash it refuses: "No compatible signature found").
    expect(pkg.packageManager).toMatch(/^pnpm@\d+\.\d+\.\d+\+sha512\.[0-9a-f]{128}$/);
  });

  it('lists every default image as defaults.ts pins it, each with its override', async () => {
    const readme = await readFile(join(repoRoot, 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('## Default images'), readme.indexOf('## Several stacks'));
    // The reference tool's .env names (they win over the default; models.yaml wins over them).
    const defaults: [string, string][] = [
      [DEFAULT_VLLM_IMAGE, 'VLLM_IMAGE'],
      [DEFAULT_LITELLM_IMAGE, 'LITELLM_IMAGE'],
      [DEFAULT_DATABASE_IMAGE, 'POSTGRES_IMAGE'],
      [DEFAULT_PROMETHEUS_IMAGE, 'PROMETHEUS_IMAGE'],
      [DEFAULT_GRAFANA_IMAGE, 'GRAFANA_IMAGE'],
      [DEFAULT_NODE_EXPORTER_IMAGE, 'NODE_EXPORTER_IMAGE'],
      [DEFAULT_DCGM_EXPORTER_IMAGE, 'DCGM_EXPORTER_IMAGE'],
      [DEFAULT_WATCHER_IMAGE, 'watcher.image'],
    ];
    const rows = section.split('\n').filter((line) => line.startsWith('| ') && !line.startsWith('| component') && !line.startsWith('|---'));
    expect(rows.map((row) => /^\| [^|]+ \| `([^`]+)` \|/.exec(row)?.[1]).sort()).toEqual(defaults.map(([image]) => image).sort());
    for (const [image, override] of defaults) {
      const row = rows.find((line) => line.includes(`| \`${image}\` |`));
      expect(row?.split(' | ')[3], `the override of ${image}`).toContain(`\`${override}\``);
      // Each says why this version: more than a few words.
      expect(row?.split(' | ')[2]?.length, `why ${image}`).toBeGreaterThan(40);
    }
  });
});
