import type { EnvFile } from './env-file.js';
import type { SourceLocation } from './types.js';

/**
 * Settings read from `.env` and the environment, with the reference tool's names. Other names
 * in `.env` are kept too (the CLI may need them), but only these have meaning here.
 */
export const SETTING_NAMES = [
  'VLLM_IMAGE',
  'VLLM_PLATFORM',
  'HF_TOKEN',
  'HUGGINGFACE_CACHE',
  'GATEWAY_PORT',
  'LITELLM_MASTER_KEY',
  'LITELLM_SALT_KEY',
  'LITELLM_NUM_WORKERS',
  'PROMETHEUS_PORT',
  'GRAFANA_PORT',
  'GRAFANA_ADMIN_PASSWORD',
  'GF_SECURITY_ADMIN_PASSWORD',
  'GRAFANA_ADMIN_USER',
  'GF_SECURITY_ADMIN_USER',
  'LITELLM_IMAGE',
  'LITELLM_USERNAME',
  'LITELLM_PASSWORD',
  'POSTGRES_IMAGE',
  'POSTGRES_PASSWORD',
  'LITELLM_DB_IMAGE',
  'LITELLM_DB_PASSWORD',
  'PROMETHEUS_IMAGE',
  'NODE_EXPORTER_IMAGE',
  'DCGM_EXPORTER_IMAGE',
  'GRAFANA_IMAGE',
  'DCGM_REMOTE_HOSTENGINE_INFO',
  'DCGM_EXPORTER_DEVICES_STR',
  'DCGM_EXPORTER_INTERVAL',
  'INFERSTACK_HASH_KEY',
] as const;

/** Where settings come from when not from a file. */
export const ENVIRONMENT_SOURCE = 'environment';

/**
 * Whether a variable holds a secret: names ending in `_KEY`, `_TOKEN` or `_SECRET`, or
 * containing `PASSWORD` (any case). Secrets go to `secretEnv`, never to labels or logs.
 */
export function isSecretName(name: string): boolean {
  return /(_KEY|_TOKEN|_SECRET)$|PASSWORD/i.test(name);
}

/** Settings merged from a `.env` file and the environment, with where each came from. */
export interface MergedSettings {
  values: Record<string, string>;
  locations: Record<string, SourceLocation>;
}

/**
 * Merges `.env` values with the environment; the environment wins. From the environment only
 * {@link SETTING_NAMES}, names the `.env` file sets, and `INFERSTACK_*` are taken, so that the
 * whole process environment does not end up in the configuration.
 */
export function mergeSettings(
  envFile: Pick<EnvFile, 'values' | 'locations'> | undefined,
  env: Record<string, string | undefined>,
): MergedSettings {
  const values: Record<string, string> = { ...(envFile?.values ?? {}) };
  const locations: Record<string, SourceLocation> = { ...(envFile?.locations ?? {}) };
  const wanted = new Set<string>([...SETTING_NAMES, ...Object.keys(values)]);
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined) continue;
    if (!wanted.has(name) && !name.startsWith('INFERSTACK_')) continue;
    values[name] = value;
    locations[name] = { file: ENVIRONMENT_SOURCE, line: 0, column: 0 };
  }
  return { values, locations };
}
