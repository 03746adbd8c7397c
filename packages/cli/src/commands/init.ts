import { chmodSync, lstatSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { defineCommand } from 'citty';
import { DEFAULT_MODELS_FILE, parseConfig, type StackConfig } from '@inferstack/config';
import { serializeTargets, TARGETS_FILE_MODE } from '@inferstack/prometheus-sync';
import type { CommandEnv } from '../context.js';
import { CliError, ExitCode } from '../errors.js';
import { STARTER_CONFIG } from '../stack/gateway.js';
import { targetsFile } from '../stack/monitoring.js';
import { generateKeys, renderEnvFile, renderModelsYaml, type GeneratedKeys } from '../stack/scaffold.js';

export const initArgs = {
  dir: { type: 'positional', required: false, description: 'Project directory (default: the current one)', valueHint: 'DIR' },
  force: { type: 'boolean', description: 'Overwrite files that already exist' },
  json: { type: 'boolean', description: 'Print what was written as JSON' },
  debug: { type: 'boolean', description: 'Print debug information (never secrets)' },
} as const;

/** One file `serve init` writes. */
export interface InitFile {
  /** Absolute path. */
  path: string;
  /** What it is, for the listing. */
  what: string;
  content: string;
  mode: number;
}

/**
 * Every file of a new project in `dir`, with the paths the config itself gives (the gateway's
 * config file, Prometheus' targets directory). Pure apart from reading nothing: the config is
 * parsed from the text about to be written, which also proves the text valid.
 */
export function initFiles(dir: string, keys: GeneratedKeys): { files: InitFile[]; config: StackConfig } {
  const modelsFile = join(dir, DEFAULT_MODELS_FILE);
  const models = renderModelsYaml();
  const env = renderEnvFile(keys);
  const config: StackConfig = parseConfig(models, {
    file: modelsFile,
    projectDir: dir,
    settings: { LITELLM_MASTER_KEY: keys.masterKey, LITELLM_SALT_KEY: keys.saltKey, GRAFANA_ADMIN_PASSWORD: keys.grafanaPassword },
  });
  const files: InitFile[] = [
    { path: modelsFile, what: 'the models to serve, every option shown', content: models, mode: 0o644 },
    { path: join(dir, '.env'), what: 'settings and generated keys (private)', content: env, mode: 0o600 },
  ];
  if (config.gateway.mode === 'managed') {
    // As the gateway would write it on first start: it may name keys, hence 0600.
    files.push({ path: config.gateway.configFile, what: "the LiteLLM gateway's config", content: STARTER_CONFIG, mode: 0o600 });
  }
  if (config.monitoring.mode !== 'none') {
    files.push({ path: targetsFile(config), what: "Prometheus' model targets (serve keeps it current)", content: serializeTargets([]), mode: TARGETS_FILE_MODE });
  }
  return { files, config };
}

/** `serve init [DIR]`: a new project with a commented models.yaml, a .env with fresh keys, and the stack's files. */
export async function init(ctx: CommandEnv, args: { dir?: string; force: boolean; json: boolean }): Promise<number> {
  const dir = resolve(ctx.cwd, args.dir ?? '.');
  const keys = generateKeys();
  // A last guard: nothing below prints them.
  ctx.output.addSecrets(Object.values(keys));
  const { files, config } = initFiles(dir, keys);
  const existing = files.filter((f) => exists(f.path));
  if (existing.length > 0 && !args.force) {
    throw new CliError(`${existing.length === 1 ? 'a file' : `${existing.length} files`} of a project already exist in ${shown(ctx.cwd, dir)}; nothing was written`, {
      exitCode: ExitCode.badInput,
      details: existing.map((f) => shown(ctx.cwd, f.path)),
      hint: 'run "serve init --force" to overwrite them (the keys in .env are then new), or init another directory',
    });
  }
  for (const f of files) {
    try {
      mkdirSync(dirname(f.path), { recursive: true });
      writeFileSync(f.path, f.content, { mode: f.mode });
      // The mode of a file that existed is not changed by writeFileSync.
      chmodSync(f.path, f.mode);
    } catch (error) {
      throw new CliError(`cannot write ${shown(ctx.cwd, f.path)}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, { cause: error });
    }
  }
  const overwritten = new Set(existing.map((f) => f.path));
  if (args.json) {
    ctx.output.json({
      dir,
      files: files.map((f) => ({ path: f.path, file: relative(dir, f.path), mode: `0${f.mode.toString(8)}`, what: f.what, overwritten: overwritten.has(f.path) })),
    });
    return ExitCode.ok;
  }
  const o = ctx.output;
  for (const f of files) {
    o.print(`${o.green('✔')} ${relative(dir, f.path).padEnd(32)} ${f.what}${overwritten.has(f.path) ? ' (overwritten)' : ''}`);
  }
  const cd = dir === resolve(ctx.cwd) ? [] : [`cd ${shown(ctx.cwd, dir)}`];
  const steps = [
    ...cd,
    `edit ${DEFAULT_MODELS_FILE}: your model(s) and GPUs`,
    'for gated models (Llama, Gemma...), put your Hugging Face token in .env: HF_TOKEN=',
    'serve doctor      checks Docker, the NVIDIA runtime, GPUs, disk, ports and keys',
    'serve plan        shows what would start',
    `serve up          starts it; the gateway answers on ${config.gateway.url}/v1 to the LITELLM_MASTER_KEY in .env`,
  ];
  o.print('');
  o.print('Next:');
  steps.forEach((s, i) => o.print(`  ${i + 1}. ${s}`));
  o.print('');
  o.print('.env holds keys: keep it private and out of version control.');
  return ExitCode.ok;
}

/** Whether anything (a file, a directory, a dangling link) is at `path`. */
function exists(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

function shown(cwd: string, path: string): string {
  const rel = relative(cwd, path);
  return rel === '' ? '.' : !rel.startsWith('..') ? rel : path;
}

export const initCommand = defineCommand({
  meta: { name: 'init', description: 'Start a project: a commented models.yaml, a .env with fresh keys, the gateway and Prometheus files' },
  args: initArgs,
});
