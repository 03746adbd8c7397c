import { chmodSync, lstatSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { DEFAULT_MODELS_FILE, parseConfig, type StackConfig } from '@inferstack/config';
import { shownPath } from '../_paths.js';
import { StackError, StackInputError } from '../errors.js';
import { generateKeys, renderEnvFile, renderModelsYaml, type GeneratedKeys } from './scaffold.js';
import { STARTER_CONFIG } from '../gateway/files.js';
import { targetsFile } from '../services/monitoring.js';

/** One file `initProject` writes. */
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
 * config file, Prometheus' targets directory). Pure: the config is parsed from the text about to
 * be written, which also proves the text valid.
 */
export async function initFiles(dir: string, keys: GeneratedKeys): Promise<{ files: InitFile[]; config: StackConfig }> {
  const { serializeTargets, TARGETS_FILE_MODE } = await import('@inferstack/prometheus-sync');
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

/** Options of {@link initProject}. */
export interface InitProjectOptions {
  /** The project directory (created when missing). */
  dir: string;
  /** Overwrite files that exist (the keys in .env are then new). @default false */
  force?: boolean;
  /** Where paths in messages are shown from. @default process.cwd() */
  cwd?: string;
  /** The keys to write. @default new random ones */
  keys?: GeneratedKeys;
}

/** What {@link initProject} wrote. */
export interface InitProjectResult {
  files: Array<Omit<InitFile, 'content'> & { overwritten: boolean }>;
  config: StackConfig;
  /** The generated secrets (to mask them in anything shown). */
  keys: GeneratedKeys;
}

/**
 * A new project: a commented models.yaml, a .env with fresh keys (0600), the gateway's config
 * and Prometheus' targets file. Never overwrites a file unless `force`.
 * @throws {StackInputError} some of the files exist (nothing is written)
 */
export async function initProject(options: InitProjectOptions): Promise<InitProjectResult> {
  const cwd = options.cwd ?? process.cwd();
  const keys = options.keys ?? generateKeys();
  const { files, config } = await initFiles(options.dir, keys);
  const existing = files.filter((f) => exists(f.path));
  if (existing.length > 0 && !options.force) {
    throw new StackInputError(`${existing.length === 1 ? 'a file' : `${existing.length} files`} of a project already exist in ${resolve(options.dir) === resolve(cwd) ? '.' : shownPath(cwd, options.dir)}; nothing was written`, {
      details: existing.map((f) => shownPath(cwd, f.path)),
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
      throw new StackError(`cannot write ${shownPath(cwd, f.path)}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, { cause: error });
    }
  }
  const overwritten = new Set(existing.map((f) => f.path));
  return { files: files.map(({ content: _content, ...f }) => ({ ...f, overwritten: overwritten.has(f.path) })), config, keys };
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
