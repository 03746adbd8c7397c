// The packages as users get them: packed once per run (`pnpm pack`, so `workspace:^` becomes a
// version), installed with npm from the tarballs into an empty folder, then used from there:
// the `serve` bin through npx, and each library from a plain Node ESM script.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STANDIN_IMAGE, sessionLabel } from '../support/docker.js';
import { PACKAGES, packAndInstall, type PackedInstall } from './_pack-install.mjs';

const run = promisify(execFile);

/** Commands `serve` has had since its first release; `--help` must list these and any newer ones. */
const CORE_COMMANDS = ['up', 'plan', 'stop', 'down', 'status', 'logs', 'sync', 'unlock'];

let packed: PackedInstall;

beforeAll(async () => {
  packed = await packAndInstall({ log: (line) => console.log(`packaging: ${line}`) });
});
afterAll(async () => {
  await packed?.cleanup();
});

/** Run a program in the install folder; never rejects, the exit code is in the result. */
async function inApp(command: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await run(command, args, { cwd: packed.appDir, env: { ...process.env, NO_COLOR: '1', NODE_PATH: '', ...env }, timeout: 60_000 });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (error) {
    const e = error as { code?: number | string; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: `${e.stderr ?? ''}${typeof e.code === 'number' ? '' : String(error)}` };
  }
}

/** Follow `exports`/`main`/`types`/`bin` down to the files they name (wildcards: their folder). */
function referencedFiles(pkg: Record<string, unknown>): string[] {
  const out: string[] = [];
  const walk = (value: unknown, condition?: string): void => {
    if (typeof value === 'string') {
      // `source` is for the workspace (vitest and tsc resolve TypeScript sources through it).
      if (condition !== 'source') out.push(value.replace(/^\.\//, '').replace(/\/\*$/, '/'));
    } else if (value && typeof value === 'object') {
      for (const [k, v] of Object.entries(value)) walk(v, k);
    }
  };
  walk(pkg.exports);
  walk(pkg.main);
  walk(pkg.types);
  walk(pkg.bin);
  return [...new Set(out)];
}

describe('the packed packages', () => {
  it.each(PACKAGES.map((p) => [p.name, p.dir] as const))('%s: the tarball has dist, README and package.json, and no sources or tests', async (name, dir) => {
    const { stdout } = await run('tar', ['-tzf', packed.tarballs[name]!]);
    const files = stdout
      .split('\n')
      .filter(Boolean)
      .map((f) => f.replace(/^package\//, ''));
    expect(files).toContain('package.json');
    expect(files).toContain('README.md');
    expect(files).toContain('dist/index.js');
    expect(files).toContain('dist/index.d.ts');
    const unwanted = files.filter(
      (f) => /(^|\/)(src|test|tests|__tests__|test-fixtures|test-corpus|bench|scripts|node_modules)\//.test(f) || /\.(test|spec)\.[cm]?[jt]sx?$/.test(f) || (/\.[cm]?tsx?$/.test(f) && !/\.d\.[cm]?ts$/.test(f)),
    );
    expect(unwanted, `files that should not be published in ${name}`).toEqual([]);

    const { stdout: manifestText } = await run('tar', ['-xzOf', packed.tarballs[name]!, 'package/package.json']);
    const manifest = JSON.parse(manifestText) as Record<string, unknown> & { name: string; dependencies?: Record<string, string> };
    expect(manifest.name).toBe(name);
    expect(manifestText, 'workspace: ranges must be rewritten to versions').not.toContain('workspace:');
    expect(manifestText).not.toContain('catalog:');
    for (const ref of referencedFiles(manifest)) {
      expect(ref.endsWith('/') ? files.some((f) => f.startsWith(ref)) : files.includes(ref), `${name} package.json names ${ref}, which is not in the tarball`).toBe(true);
    }
    if (dir === 'config') expect(files).toContain('models.schema.json');
    if (dir === 'cli') {
      // Bundled: only ssh2 (loaded for DOCKER_HOST=ssh://) is installed with it; Grafana's files travel in dist.
      expect(Object.keys(manifest.dependencies ?? {})).toEqual(['ssh2']);
      expect(files).toContain('dist/serve.cjs');
      expect(files).toContain('dist/cli.cjs');
      expect(files).toContain('dist/grafana/provisioning/datasources/prometheus.yaml');
      expect(files.filter((f) => f.startsWith('dist/grafana/dashboards/') && f.endsWith('.json')).length).toBeGreaterThan(0);
    }
  });

  it('install into an empty folder with every @inferstack dependency met by the tarballs', async () => {
    for (const { name } of PACKAGES) expect(existsSync(join(packed.appDir, 'node_modules', name, 'package.json')), name).toBe(true);
    // A library's `@inferstack/config` is the tarball's, not a second copy from the registry.
    for (const { name } of PACKAGES) expect(existsSync(join(packed.appDir, 'node_modules', name, 'node_modules', '@inferstack')), name).toBe(false);
    const ls = await inApp('npm', ['ls', '--all']);
    expect(ls.code, ls.stdout + ls.stderr).toBe(0);
  });

  it('`npx serve --help` exits 0 and lists every command', async () => {
    // `--yes=false`: fail rather than fetch some other package called "serve" from the registry.
    const r = await inApp('npx', ['--yes=false', 'serve', '--help']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^Run vLLM models behind a LiteLLM gateway/);
    // Every command the installed package defines.
    await writeFile(join(packed.appDir, 'commands.mjs'), "import { commandNames } from '@inferstack/serve';\nconsole.log(JSON.stringify(commandNames));\n");
    const listed = await inApp(process.execPath, ['commands.mjs']);
    expect(listed.code, listed.stderr).toBe(0);
    const commands = JSON.parse(listed.stdout) as string[];
    expect(commands).toEqual(expect.arrayContaining(CORE_COMMANDS));
    for (const command of commands) expect(r.stdout).toMatch(new RegExp(`^\\s+${command}(, \\w+)*\\s{2,}\\S`, 'm'));
    const version = await inApp('npx', ['--yes=false', 'serve', '--version']);
    expect(version.stdout.trim()).toBe('0.1.0');
  });

  it('`npx serve plan -c <config>` exits 0 and prints the plan (real daemon)', async () => {
    const tag = randomBytes(3).toString('hex');
    const key = `pk${tag}-tiny`;
    const project = join(packed.root, 'project');
    await mkdir(join(project, 'model_config'), { recursive: true });
    await writeFile(join(project, '.env'), `HUGGINGFACE_CACHE=${join(project, 'hf-cache')}\n`);
    await writeFile(
      join(project, 'model_config', 'models.yaml'),
      [
        `network: inferstack-test-pack-${tag}`,
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
    const env = { INFERSTACK_HASH_KEY: 'packaging-test', INFERSTACK_LABELS: sessionLabel() };
    const r = await inApp('npx', ['--yes=false', 'serve', 'plan', '-c', join(project, 'model_config', 'models.yaml')], env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^\s+MODEL\s+ACTION\s+GPUS\s+WHY$/m);
    expect(r.stdout).toMatch(new RegExp(`^\\+\\s+${key}\\s+create\\s+none\\s+not running → create$`, 'm'));
    expect(r.stdout).toMatch(/^1 create\b/m);
    // `plan` changes nothing: no network, no container.
    const nets = await run('docker', ['network', 'ls', '-q', '--filter', `name=inferstack-test-pack-${tag}`]);
    expect(nets.stdout.trim()).toBe('');
  });

  it('`npx serve export kubernetes` writes the Kustomize directory, dashboards included, from the installed bin', async () => {
    const project = join(packed.root, 'k8s-project');
    await mkdir(join(project, 'model_config'), { recursive: true });
    await writeFile(join(project, '.env'), 'LITELLM_MASTER_KEY=sk-packaging-test-0123456789\n');
    await writeFile(join(project, 'model_config', 'models.yaml'), 'models:\n  - tiny: {model: test/tiny, gpus: [0]}\n');
    const r = await inApp('npx', ['--yes=false', 'serve', 'export', 'kubernetes', '-c', join(project, 'model_config', 'models.yaml'), '--out', join(project, 'k8s')]);
    expect(r.code, r.stderr).toBe(0);
    for (const file of ['kustomization.yaml', 'models/inference-tiny.yaml', 'gateway.yaml', 'prometheus.yaml', 'grafana.yaml', 'files/grafana/dashboards/vllm.json']) {
      expect(existsSync(join(project, 'k8s', file)), file).toBe(true);
    }
  });

  it('each library works from a plain Node ESM script', async () => {
    const script = `
import { Writable } from 'node:stream';
import { containerNameForKey } from '@inferstack/config';
import schema from '@inferstack/config/schema.json' with { type: 'json' };
import { planModels } from '@inferstack/docker-ops';
import { planGatewaySync } from '@inferstack/litellm-sync';
import { renderTargets } from '@inferstack/prometheus-sync';
import { DEFAULT_SERVICES, modelApiBase } from '@inferstack/stack';
import { ExitCode, runCli } from '@inferstack/serve';

let help = '';
const out = new Writable({ write(chunk, _encoding, done) { help += chunk; done(); } });
const code = await runCli(['--help'], { streams: { out, err: process.stderr }, env: { NO_COLOR: '1' } });
console.log(JSON.stringify({
  containerName: containerNameForKey('qwen-4b'),
  schemaHasModels: Boolean(schema.properties && schema.properties.models),
  plan: planModels([], []),
  gateway: planGatewaySync([{ modelKey: 'qwen-4b', name: 'inference-qwen-4b', apiBase: 'http://inference-qwen-4b:8000/v1', servedModelName: 'Qwen/Qwen3-4B' }], []).map((c) => c.kind),
  targets: renderTargets([{ key: 'qwen-4b', address: 'inference-qwen-4b:8000', servedModelName: 'Qwen/Qwen3-4B', gpus: '0' }]).flatMap((g) => g.targets),
  stack: [modelApiBase('inference-qwen-4b'), DEFAULT_SERVICES.map((s) => s.id).join(',')],
  dashboard: import.meta.resolve('@inferstack/prometheus-sync/dashboards/overview.json').endsWith('/node_modules/@inferstack/prometheus-sync/dashboards/overview.json'),
  helpCode: code,
  ok: ExitCode.ok,
  helpListsPlan: /\\bplan\\b/.test(help),
}));
`;
    await writeFile(join(packed.appDir, 'check.mjs'), script);
    const r = await inApp(process.execPath, ['check.mjs']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({
      containerName: 'inference-qwen-4b',
      schemaHasModels: true,
      plan: [],
      gateway: ['add'],
      targets: ['inference-qwen-4b:8000'],
      stack: ['http://inference-qwen-4b:8000/v1', 'gateway,gateway-db,prometheus,node-exporter,dcgm-exporter,grafana,watcher'],
      dashboard: true,
      helpCode: 0,
      ok: 0,
      helpListsPlan: true,
    });
  });
});
