import { existsSync } from 'node:fs';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { readSource } from './_source-text.js';
import { DEFAULT_MODELS_FILE } from './defaults.js';
import { parseEnvFile } from './env-file.js';
import { ConfigFileError, type ConfigIssue, ConfigValidationError } from './errors.js';
import { projectDirFor } from './project-dir.js';
import { mergeSettings } from './settings.js';
import type { StackConfig } from './types.js';

/** Options of {@link loadConfig}. */
export interface LoadConfigOptions {
  /**
   * The models file, relative to `cwd` (the CLI's `--model-config`).
   * @default 'model_config/models.yaml'
   */
  file?: string;
  /** @default process.cwd() */
  cwd?: string;
  /**
   * Environment; overrides `.env`.
   * @default process.env
   */
  env?: Record<string, string | undefined>;
  /**
   * A `.env` file to read instead of `<project dir>/.env`; it must exist.
   * @default '<project dir>/.env' when it exists
   */
  envFile?: string;
  /** Model keys to keep (the CLI's `serve up a b`); every model is validated regardless. */
  select?: readonly string[];
  /**
   * Key for the secret digests in spec hashes (the CLI passes a per-machine key).
   * @default settings.INFERSTACK_HASH_KEY, else FALLBACK_HASH_KEY
   */
  hashKey?: string;
  /** Home directory for `~` in paths. @default os.homedir() */
  homeDir?: string;
  /**
   * Check that the files the other Docker hosts name (TLS, SSH keys) exist. A process that never
   * connects to those hosts (the stack's watcher container, which does not mount them) leaves
   * this off. @default true
   */
  checkHostFiles?: boolean;
}

/**
 * Loads `models.yaml` and `.env` and returns the validated, normalised configuration.
 *
 * The project directory is the parent of `model_config/` when the file lives there (the
 * reference layout), else the file's directory; `.env` is read from it when present.
 *
 * @throws {@link ConfigFileError} when the models file (or an explicit `envFile`) cannot be read.
 * @throws {@link ConfigValidationError} with every problem in the models file and `.env`.
 */
export async function loadConfig(options: LoadConfigOptions = {}): Promise<StackConfig> {
  const cwd = resolve(options.cwd ?? process.cwd());
  const env = options.env ?? process.env;
  const absFile = resolve(cwd, options.file ?? DEFAULT_MODELS_FILE);
  const shownFile = shown(cwd, absFile);
  const projectDir = projectDirFor(absFile);

  const source = await readSource(absFile, shownFile).catch((error: unknown) => {
    if (error instanceof ConfigFileError && error.reason === 'not-found') {
      throw new ConfigFileError(shownFile, 'not-found', {
        hint:
          options.file === undefined
            ? `create ${DEFAULT_MODELS_FILE}, run from the project directory, or pass the file (--model-config)`
            : 'check the path',
        cause: error,
      });
    }
    throw error;
  });

  const issues: ConfigIssue[] = [];
  const envPath = options.envFile === undefined ? join(projectDir, '.env') : resolve(cwd, options.envFile);
  let envFile: ReturnType<typeof parseEnvFile> | undefined;
  try {
    const envSource = await readSource(envPath, shown(cwd, envPath));
    if (envSource.issue) issues.push(envSource.issue);
    else envFile = parseEnvFile(envSource.text, shown(cwd, envPath), { env });
  } catch (error) {
    // The implicit .env is optional; an explicit one is not.
    const optional = options.envFile === undefined && error instanceof ConfigFileError && error.reason === 'not-found';
    if (!optional) throw error;
  }
  if (envFile) issues.push(...envFile.issues);
  const merged = mergeSettings(envFile, env);

  // The parser (yaml, valibot) is loaded only now: a program that reads a config it has parsed
  // before (the CLI's cache) starts without it.
  const { buildConfig } = await import('./parse-config.js');
  const result = buildConfig(source.issue ? '' : source.text, {
    file: shownFile,
    cwd,
    projectDir,
    settings: merged.values,
    settingLocations: merged.locations,
    ...(options.select ? { select: options.select } : {}),
    ...(options.hashKey !== undefined ? { hashKey: options.hashKey } : {}),
    ...(options.homeDir !== undefined ? { homeDir: options.homeDir } : {}),
    // A host's TLS and SSH files are named in the file: a missing one is found here, with its line.
    ...(options.checkHostFiles === false ? {} : { fileExists: existsSync }),
  });
  if (source.issue) {
    // An unreadable models file says nothing about the models; report it with the .env issues.
    throw new ConfigValidationError([source.issue, ...issues]);
  }
  issues.push(...result.issues);
  if (issues.length > 0 || !result.config) throw new ConfigValidationError(issues);
  return result.config;
}

/** A path as shown in messages: relative to `cwd` when inside it. */
function shown(cwd: string, abs: string): string {
  const rel = relative(cwd, abs);
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel) ? rel : abs;
}
