import { randomBytes } from 'node:crypto';
import { basename, dirname, join } from 'node:path';
import type { StackConfig } from '@inferstack/config';
import { waitUntilHealthy, type ServiceSpec } from '@inferstack/docker-ops';
import { serviceExtraNetworks } from '../models/networks.js';
import { StackInputError } from '../errors.js';
import type { ServiceDefinition } from './registry.js';

/** The port LiteLLM listens on inside its container. */
export const GATEWAY_CONTAINER_PORT = 4000;
const CONFIG_DIR_IN_CONTAINER = '/etc/litellm';

/** Name of the gateway's environment variable that holds a model's vLLM API key. */
export function apiKeyEnvName(key: string): string {
  return `INFERSTACK_VLLM_KEY_${key.toUpperCase().replace(/[^A-Z0-9]/g, '_')}`;
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

/**
 * The managed LiteLLM container. It runs LiteLLM as it starts by default (uvicorn; with
 * `LITELLM_NUM_WORKERS` above 1, uvicorn's workers, which it spawns rather than forks): no
 * gunicorn, so nothing forks the proxy while one of its threads holds a lock, and no reload ever
 * resets a kept-alive connection; routes change inside the running proxy (its plugin, see
 * gateway/plugin.ts). The models' vLLM keys reach it through the stack's keys file, read by the
 * plugin, so a model with a key joins without a new gateway container; `modelKeysInEnv` puts
 * them in its environment instead (the exports, which carry no keys file).
 */
export function gatewayServiceSpec(config: StackConfig, options: { modelKeysInEnv?: boolean } = {}): ServiceSpec {
  const g = config.gateway;
  const secretEnv: Record<string, string> = {};
  if (g.masterKey) secretEnv.LITELLM_MASTER_KEY = g.masterKey;
  if (g.saltKey) secretEnv.LITELLM_SALT_KEY = g.saltKey;
  if (options.modelKeysInEnv) for (const m of config.models) if (m.apiKey) secretEnv[apiKeyEnvName(m.key)] = m.apiKey;
  const env: Record<string, string> = {
    LITELLM_LOCAL_MODEL_COST_MAP: 'True',
    // A second guard beside the names of each container generation: the address of a name is
    // asked again after a second, not five minutes (LiteLLM's default).
    AIOHTTP_TTL_DNS_CACHE: '1',
  };
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
    cmd: ['--config', `${CONFIG_DIR_IN_CONTAINER}/${basename(g.configFile)}`, '--port', String(GATEWAY_CONTAINER_PORT), '--host', '0.0.0.0', '--num_workers', workers],
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
 * the models: the proxy boots while they load. Its files (config, plugin) are the gateway
 * directory's owner's (gateway/files.ts); it never reloads: routes change inside it.
 */
export const gatewayService: ServiceDefinition = {
  id: 'gateway',
  configured: (config) => config.gateway.mode === 'managed',
  containerName: (config) => config.gateway.containerName,
  dependsOn: ['gateway-db'],
  files: async (ctx) => {
    const { gatewayServiceFiles, removeOldWakeHook } = await import('../gateway/files.js');
    removeOldWakeHook(ctx.config);
    return gatewayServiceFiles(ctx.config);
  },
  spec: (ctx) => ({ ...gatewayServiceSpec(ctx.config), extraNetworks: serviceExtraNetworks(ctx.config, ctx.name) }),
  // An exported gateway gets the models' keys in its environment: an export carries no keys file.
  exportSpec: (ctx) => ({ ...gatewayServiceSpec(ctx.config, { modelKeysInEnv: true }), extraNetworks: serviceExtraNetworks(ctx.config, ctx.name) }),
  url: (config) => config.gateway.url,
};

/** A gateway whose container is created with this run's keys: the sync waits longer for it. @internal */
export function gatewayStarted(outcomes: ReadonlyArray<{ service: string; ok: boolean; action?: string }>): boolean {
  return outcomes.some((o) => o.service === 'gateway' && o.ok && o.action !== 'kept');
}
