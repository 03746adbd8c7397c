import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { StackConfig } from '@inferstack/config';
import { ensureService, restartContainer, type DockerClient, type ModelContainer, type ServiceSpec } from '@inferstack/docker-ops';
import {
  LitellmSyncError,
  applyGatewaySyncApi,
  createLitellmClient,
  formatGatewayPlan,
  planGatewaySync,
  writeLitellmConfig,
  type DesiredDeployment,
  type GatewayEntry,
  type LitellmClient,
} from '@inferstack/litellm-sync';
import { CliError, ExitCode } from '../errors.js';

/** The port LiteLLM listens on inside its container. */
export const GATEWAY_CONTAINER_PORT = 4000;
const CONFIG_DIR_IN_CONTAINER = '/etc/litellm';

/** Name of the gateway's environment variable that holds a model's vLLM API key. */
export function apiKeyEnvName(key: string): string {
  return `INFERSTACK_VLLM_KEY_${key.toUpperCase().replace(/[^A-Z0-9]/g, '_')}`;
}

/**
 * What the gateway should route to: one deployment per serving container. An API key goes into
 * the gateway's environment and the config file only names it (`os.environ/...`).
 */
export function desiredDeployments(config: StackConfig, serving: readonly ModelContainer[], mode: 'config' | 'api'): DesiredDeployment[] {
  return serving.map((c) => {
    const spec = config.models.find((m) => m.key === c.key);
    const apiKey = spec?.apiKey ? (mode === 'config' ? `os.environ/${apiKeyEnvName(c.key)}` : spec.apiKey) : undefined;
    return {
      modelKey: c.key,
      containerName: c.name,
      servedModelName: c.servedModelName ?? spec?.servedModelName ?? c.key,
      ...(apiKey ? { apiKey } : {}),
    };
  });
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

/** Make sure the gateway's config file exists (0600: it may name keys). */
export function ensureGatewayConfigFile(config: StackConfig): void {
  const file = config.gateway.configFile;
  if (existsSync(file)) return;
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, config.gateway.masterKey ? STARTER_CONFIG : STARTER_CONFIG.replace(/general_settings:\n.*\n/, ''), { mode: 0o600, flag: 'wx' });
}

/**
 * A managed LiteLLM refuses to start without a master key (and anyone on the host could use it
 * otherwise): bad input, before anything starts.
 */
export function requireGatewayKey(config: StackConfig): void {
  if (config.gateway.mode !== 'managed' || config.gateway.masterKey) return;
  throw new CliError(`the managed gateway needs LITELLM_MASTER_KEY; ${join(config.projectDir, '.env')} has none`, {
    exitCode: ExitCode.badInput,
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

export function gatewayClient(config: StackConfig, options: { timeoutMs?: number; retry?: false } = {}): LitellmClient {
  return createLitellmClient({
    baseUrl: config.gateway.url,
    masterKey: config.gateway.masterKey,
    timeoutMs: options.timeoutMs ?? Number(config.settings.INFERSTACK_GATEWAY_TIMEOUT_MS ?? 10_000),
    ...(options.retry === false ? { retry: false } : {}),
  });
}

/** Start the managed gateway when missing (or changed). */
export async function ensureGateway(docker: DockerClient, config: StackConfig, options: { hashKey: string; extraLabels: Record<string, string> }) {
  ensureGatewayConfigFile(config);
  if (needsManagedDatabase(config)) {
    await ensureService(docker, databaseServiceSpec(config), options);
    await waitHealthy(docker, databaseName(config), 120_000);
  }
  return ensureService(docker, gatewayServiceSpec(config), options);
}

/** Postgres image of the gateway's database in API mode (LiteLLM stores models there). */
export const DEFAULT_DATABASE_IMAGE = 'postgres:16.6-alpine';

/** API mode with a managed gateway and no DATABASE_URL of the user's: we run its Postgres. */
export function needsManagedDatabase(config: StackConfig): boolean {
  return config.gateway.mode === 'managed' && config.gateway.sync === 'api' && !config.settings.DATABASE_URL;
}

export function databaseName(config: StackConfig): string {
  return `${config.gateway.containerName}-db`;
}

function databasePassword(config: StackConfig): string {
  const password = config.settings.LITELLM_DB_PASSWORD;
  if (!password) {
    throw new CliError(`API mode runs a database for the gateway and needs LITELLM_DB_PASSWORD in ${join(config.projectDir, '.env')}`, {
      exitCode: ExitCode.badInput,
      hint: `add a line LITELLM_DB_PASSWORD=${randomBytes(18).toString('hex')} to .env, or give DATABASE_URL of your own Postgres`,
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
    image: config.settings.LITELLM_DB_IMAGE ?? DEFAULT_DATABASE_IMAGE,
    env: { POSTGRES_USER: 'litellm', POSTGRES_DB: 'litellm' },
    secretEnv: { POSTGRES_PASSWORD: databasePassword(config) },
    binds: [`${name}-data:/var/lib/postgresql/data`],
    network: config.network,
    healthcheck: { test: ['CMD', 'pg_isready', '-U', 'litellm', '-d', 'litellm'], intervalSeconds: 2, startPeriodSeconds: 60 },
  };
}

async function waitHealthy(docker: DockerClient, name: string, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const info = await docker.getContainer(name).inspect();
    const health = info.State.Health?.Status;
    if (health === 'healthy') return;
    if (!info.State.Running) throw new CliError(`${name} stopped while starting (exit code ${info.State.ExitCode})`, { hint: `see "docker logs ${name}"` });
    if (Date.now() > end) throw new CliError(`${name} is not healthy after ${Math.round(timeoutMs / 1000)} s (${health ?? 'no health check'})`, { hint: `see "docker logs ${name}"` });
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** What a gateway sync did. */
export interface GatewaySyncResult {
  mode: 'config' | 'api';
  /** Served names routed after the sync. */
  routed: string[];
  added: number;
  removed: number;
  /** Config-file mode: the gateway was restarted to load a changed list. */
  restarted: boolean;
  /** Dry run: the plan lines. */
  plan?: string[];
}

/**
 * Make the gateway route to exactly `serving`, never touching entries we do not own.
 * Config-file mode rewrites the managed part of the file and restarts a managed gateway only
 * when that changed; API mode adds and deletes through the admin API and reads the result back.
 */
export async function syncGateway(
  docker: DockerClient,
  config: StackConfig,
  serving: readonly ModelContainer[],
  options: {
    dryRun?: boolean;
    signal?: AbortSignal;
    /** The gateway was (re)started just now: give it time to come up. */
    justStarted?: boolean;
    /** How long a (re)started gateway gets to answer. @default 120_000 */
    readyTimeoutMs?: number;
  } = {},
): Promise<GatewaySyncResult> {
  const mode = config.gateway.sync;
  const desired = desiredDeployments(config, serving, mode);
  const client = gatewayClient(config);
  if (mode === 'config') {
    if (options.dryRun) {
      return { mode, routed: desired.map((d) => d.servedModelName), added: 0, removed: 0, restarted: false, plan: [`write ${desired.length} managed model(s) into ${config.gateway.configFile}`] };
    }
    if (config.gateway.mode === 'managed') ensureGatewayConfigFile(config);
    const written = await writeLitellmConfig(config.gateway.configFile, desired);
    let restarted = false;
    if (written.changed && config.gateway.mode === 'managed') {
      await restartContainer(docker, config.gateway.containerName, 5);
      restarted = true;
    }
    // A gateway we just (re)started may take a while; one that should be up gets a short budget.
    const long = restarted || options.justStarted;
    await client.waitUntilReady({ timeoutMs: long ? (options.readyTimeoutMs ?? 120_000) : 15_000, signal: options.signal });
    // An unchanged file does not prove the gateway loaded it: a run killed between writing the
    // file and restarting the gateway leaves it routing to the old list. Ask it what it routes.
    if (!restarted && config.gateway.mode === 'managed' && planGatewaySync(desired, await client.modelInfo({ signal: options.signal })).length > 0) {
      await restartContainer(docker, config.gateway.containerName, 5);
      restarted = true;
      await client.waitUntilReady({ timeoutMs: options.readyTimeoutMs ?? 120_000, signal: options.signal });
    }
    return { mode, routed: desired.map((d) => d.servedModelName), added: written.changed ? desired.length : 0, removed: 0, restarted };
  }
  const actual = await client.modelInfo({ signal: options.signal });
  const changes = planGatewaySync(desired, actual);
  if (options.dryRun) return { mode, routed: desired.map((d) => d.servedModelName), added: 0, removed: 0, restarted: false, plan: formatGatewayPlan(changes) };
  const report = await applyGatewaySyncApi(changes, { client, signal: options.signal });
  if (!report.ok) {
    const first = report.failed[0]?.error;
    throw new LitellmSyncError(first ? `gateway sync incomplete: ${first.message}` : `gateway did not show the new model list in time (${report.pending.join(', ')})`);
  }
  return { mode, routed: desired.map((d) => d.servedModelName), added: report.added.length + report.replaced.length, removed: report.removed.length, restarted: false };
}

/** Entries the gateway has now (for `serve status`), or the error text. */
export async function gatewayEntries(config: StackConfig): Promise<GatewayEntry[] | Error> {
  try {
    return await gatewayClient(config, { retry: false, timeoutMs: 3000 }).modelInfo();
  } catch (error) {
    return error as Error;
  }
}
