import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { StackConfig } from '@inferstack/config';
import { signalContainer, waitUntilHealthy, type ServiceSpec } from '@inferstack/docker-ops';
import { serviceExtraNetworks } from '../networks.js';
import { wakeHookFiles } from '../watcher/wake-hook.js';
import type { StackContext } from '../context.js';
import { StackInputError } from '../errors.js';
import type { ServiceFile } from './files.js';
import type { ServiceDefinition } from './registry.js';

/** The port LiteLLM listens on inside its container. */
export const GATEWAY_CONTAINER_PORT = 4000;
const CONFIG_DIR_IN_CONTAINER = '/etc/litellm';

/** Name of the gateway's environment variable that holds a model's vLLM API key. */
export function apiKeyEnvName(key: string): string {
  return `INFERSTACK_VLLM_KEY_${key.toUpperCase().replace(/[^A-Z0-9]/g, '_')}`;
}

/** A first config file for a managed gateway: master key from the environment, metrics on. */
export const STARTER_CONFIG = `# LiteLLM gateway configuration.
# inferstack rewrites only the model_list entries whose model_info.managed_by is "inferstack";
# everything else in this file is yours and is kept as is.
model_list: []
general_settings:
  master_key: os.environ/LITELLM_MASTER_KEY
litellm_settings:
  callbacks: ["prometheus"]
`;

/** The config file a managed gateway starts with: without a master key, no line naming one. */
function starterConfig(config: StackConfig): string {
  return config.gateway.masterKey ? STARTER_CONFIG : STARTER_CONFIG.replace(/general_settings:\n.*\n/, '');
}

/** Make sure the gateway's config file exists (0600: it may name keys). Returns whether it wrote one. */
export function ensureGatewayConfigFile(config: StackConfig): boolean {
  const file = config.gateway.configFile;
  if (existsSync(file)) return false;
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, starterConfig(config), { mode: 0o600, flag: 'wx' });
  return true;
}

/**
 * The files the managed gateway mounts, as `up` writes them: its config file (a starter one
 * when missing, 0600: it may name keys), with the wake hook named in its callbacks while some
 * model sleeps, and the hook beside it. The model list in it is the sync's business; only
 * naming the hook makes a running gateway reload.
 */
export async function gatewayFiles(config: StackConfig): Promise<ServiceFile[]> {
  const file = config.gateway.configFile;
  const exists = existsSync(file);
  const text = exists ? readFileSync(file, 'utf8') : starterConfig(config);
  const hook = await wakeHookFiles(config, text);
  const hooked = hook.configText !== text;
  const out: ServiceFile[] = [];
  if (!exists || hooked) {
    const what = exists ? "the gateway's config file (its wake hook for idle models)" : "the gateway's config file";
    out.push({ path: file, text: hook.configText, mode: 0o600, what, reload: hooked });
  }
  return [...out, ...hook.files.map((f) => ({ ...f, reload: false }))];
}

/**
 * A managed LiteLLM refuses to start without a master key (and anyone on the host could use it
 * otherwise): bad input, before anything starts.
 */
export function requireGatewayKey(config: StackConfig): void {
  if (config.gateway.mode !== 'managed' || config.gateway.masterKey) return;
  throw new StackInputError(`the managed gateway needs LITELLM_MASTER_KEY; ${join(config.projectDir, '.env')} has none`, {
    hint: `add a line LITELLM_MASTER_KEY=sk-${randomBytes(24).toString('hex')} to .env (keep it private), or set "gateway: {mode: none}"`,
  });
}

/** The managed LiteLLM container. */
export function gatewayServiceSpec(config: StackConfig): ServiceSpec {
  const g = config.gateway;
  const secretEnv: Record<string, string> = {};
  if (g.masterKey) secretEnv.LITELLM_MASTER_KEY = g.masterKey;
  if (g.saltKey) secretEnv.LITELLM_SALT_KEY = g.saltKey;
  for (const m of config.models) if (m.apiKey) secretEnv[apiKeyEnvName(m.key)] = m.apiKey;
  const env: Record<string, string> = { LITELLM_LOCAL_MODEL_COST_MAP: 'True' };
  // The admin UI login (LiteLLM reads UI_USERNAME, default admin, and UI_PASSWORD, default the
  // master key). Set only when configured: an empty UI_PASSWORD would be a valid, empty password.
  if (g.uiUsername) env.UI_USERNAME = g.uiUsername;
  if (g.uiPassword) secretEnv.UI_PASSWORD = g.uiPassword;
  if (g.sync === 'api') {
    env.STORE_MODEL_IN_DB = 'True';
    secretEnv.DATABASE_URL = config.settings.DATABASE_URL ?? managedDatabaseUrl(config);
  }
  const workers = config.settings.LITELLM_NUM_WORKERS ?? '1';
  return {
    name: g.containerName,
    kind: 'gateway',
    image: g.image,
    // Under gunicorn the proxy reloads its config on SIGHUP without dropping a request.
    cmd: ['--config', `${CONFIG_DIR_IN_CONTAINER}/${basename(g.configFile)}`, '--port', String(GATEWAY_CONTAINER_PORT), '--host', '0.0.0.0', '--num_workers', workers, '--run_gunicorn'],
    env,
    secretEnv,
    // The directory, not the file: the file is replaced by rename, which a file mount would miss.
    binds: [`${dirname(g.configFile)}:${CONFIG_DIR_IN_CONTAINER}:ro`],
    ports: [{ container: GATEWAY_CONTAINER_PORT, host: g.port, hostIp: g.bindAddress }],
    network: config.network,
  };
}

/** API mode with a managed gateway and no DATABASE_URL of the user's: we run its Postgres. */
export function needsManagedDatabase(config: StackConfig): boolean {
  return config.gateway.mode === 'managed' && config.gateway.sync === 'api' && !config.settings.DATABASE_URL;
}

/** Container name of the gateway's managed database. */
export function databaseName(config: StackConfig): string {
  return `${config.gateway.containerName}-db`;
}

function databasePassword(config: StackConfig): string {
  const password = config.gateway.database.password;
  if (!password) {
    throw new StackInputError(`API mode runs a database for the gateway and needs POSTGRES_PASSWORD (or LITELLM_DB_PASSWORD) in ${join(config.projectDir, '.env')}`, {
      hint: `add a line POSTGRES_PASSWORD=${randomBytes(18).toString('hex')} to .env, or give DATABASE_URL of your own Postgres`,
    });
  }
  return password;
}

function managedDatabaseUrl(config: StackConfig): string {
  return `postgresql://litellm:${encodeURIComponent(databasePassword(config))}@${databaseName(config)}:5432/litellm`;
}

/** The gateway's Postgres (API mode): data in a named volume, kept by `down --all` unless --volumes. */
export function databaseServiceSpec(config: StackConfig): ServiceSpec {
  const name = databaseName(config);
  return {
    name,
    kind: 'gateway-db',
    image: config.gateway.database.image,
    env: { POSTGRES_USER: 'litellm', POSTGRES_DB: 'litellm' },
    secretEnv: { POSTGRES_PASSWORD: databasePassword(config) },
    binds: [`${name}-data:/var/lib/postgresql/data`],
    network: config.network,
    healthcheck: { test: ['CMD', 'pg_isready', '-U', 'litellm', '-d', 'litellm'], intervalSeconds: 2, startPeriodSeconds: 60 },
  };
}

/** The gateway's database (API mode with a managed gateway and no DATABASE_URL). */
export const databaseService: ServiceDefinition = {
  id: 'gateway-db',
  configured: needsManagedDatabase,
  containerName: databaseName,
  spec: (ctx) => databaseServiceSpec(ctx.config),
  async ready(ctx) {
    await waitUntilHealthy(await ctx.docker(), databaseName(ctx.config), { timeoutMs: 120_000, signal: ctx.signal });
  },
};

/**
 * The managed LiteLLM gateway. Its readiness is awaited by the gateway sync, which runs after
 * the models: the proxy boots while they load.
 */
export const gatewayService: ServiceDefinition = {
  id: 'gateway',
  configured: (config) => config.gateway.mode === 'managed',
  containerName: (config) => config.gateway.containerName,
  dependsOn: ['gateway-db'],
  files: async (ctx) => gatewayFiles(ctx.config),
  async reload(ctx) {
    // Under gunicorn, SIGHUP starts workers with the new config while the old ones finish.
    await signalContainer(await ctx.docker(), ctx.config.gateway.containerName, 'SIGHUP');
  },
  spec: (ctx) => ({ ...gatewayServiceSpec(ctx.config), extraNetworks: serviceExtraNetworks(ctx.config, ctx.name) }),
  url: (config) => config.gateway.url,
};

/** A gateway whose container is created with this run's keys: the sync waits longer for it. @internal */
export function gatewayStarted(outcomes: ReadonlyArray<{ service: string; ok: boolean; action?: string }>): boolean {
  return outcomes.some((o) => o.service === 'gateway' && o.ok && o.action !== 'kept');
}
