import type { StackConfig } from '@inferstack/config';
import { containerLogs, httpGet, restartContainer, type DockerClient, type ModelContainer } from '@inferstack/docker-ops';
import {
  LitellmSyncError,
  LitellmTimeoutError,
  applyGatewaySyncApi,
  createLitellmClient,
  deploymentOfEntry,
  formatGatewayPlan,
  managedEntryFor,
  planGatewaySync,
  readLitellmConfigEntries,
  writeLitellmConfig,
  type DesiredDeployment,
  type GatewayEntry,
  type LitellmClient,
} from '@inferstack/litellm-sync';
import { containerApiBase } from '../models/endpoints.js';
import { apiKeyEnvName } from '../services/gateway.js';
import { readRoutesFile, routesVersion, withGatewayDirLock, writeGatewayRoutes } from './files.js';
import { PLUGIN_STATE_PATH } from './plugin.js';
import type { GatewaySyncResult } from './types.js';

export type { GatewaySyncResult } from './types.js';

/*
 * How a change reaches the gateway. Config-file mode, managed gateway: the config file (the
 * truth for a cold start) and the stack's routes file are written, and the plugin in every
 * worker applies the routes in the running proxy (see plugin.ts); the sync returns once every
 * worker says it has. Config-file mode, a gateway of the user's: the file is written, and the
 * user restarts it. API mode: the admin API, entries added before any is deleted, confirmed on
 * every worker of a managed gateway.
 */

/** What the gateway's routes need of a serving model: a container, or a Kubernetes Service named like one. */
export type RouteTarget = Pick<ModelContainer, 'name' | 'key' | 'servedModelName' | 'host' | 'published' | 'addressName'> & Partial<Pick<ModelContainer, 'replica'>>;

/**
 * What the gateway should route to: one deployment per serving container, each reached by the
 * name of its own generation (see docker-ops' `addressName`), never by a name a replacement
 * takes over. An API key is only named in config-file mode (`os.environ/...`, which the plugin
 * sets from the stack's keys file).
 */
export function desiredDeployments(config: StackConfig, serving: readonly RouteTarget[], mode: 'config' | 'api'): DesiredDeployment[] {
  return serving.flatMap((c) => {
    const spec = config.models.find((m) => m.key === c.key);
    const apiKey = gatewayApiKey(config, c.key, mode);
    // Where the gateway reaches it: on its own network, or at another host's address.
    const apiBase = containerApiBase(config, c);
    if (apiBase === undefined) return [];
    return [
      {
        name: c.addressName ?? c.name,
        modelKey: c.key,
        apiBase,
        servedModelName: c.servedModelName ?? spec?.servedModelName ?? c.key,
        ...(apiKey ? { apiKey } : {}),
        // The plugin keeps requests that start alike on one replica (the same one after it is replaced).
        ...(spec?.routing === 'prefix' ? { routing: { strategy: 'prefix' as const, affinity: `${c.key}#${c.replica ?? 0}` } } : {}),
      },
    ];
  });
}

/** The key the gateway sends to a model: in config-file mode a reference to its environment. */
function gatewayApiKey(config: StackConfig, key: string, mode: 'config' | 'api'): string | undefined {
  const spec = config.models.find((m) => m.key === key);
  return spec?.apiKey ? (mode === 'config' ? `os.environ/${apiKeyEnvName(key)}` : spec.apiKey) : undefined;
}

/** The vLLM API keys of the stack's models, by the names its routes give them (the plugin sets them). */
export function modelKeys(config: StackConfig): Record<string, string> {
  return Object.fromEntries(config.models.flatMap((m) => (m.apiKey ? [[apiKeyEnvName(m.key), m.apiKey]] : [])));
}

/**
 * The stack's routes to `keep` (models of a Docker host that could not be asked) as they are
 * now: read from the config file (config mode) or the gateway (API mode), so that the sync
 * leaves them exactly as they were.
 */
async function keptDeployments(config: StackConfig, client: LitellmClient, keep: ReadonlySet<string>, signal?: AbortSignal): Promise<DesiredDeployment[]> {
  if (keep.size === 0) return [];
  const mode = config.gateway.sync;
  const entries = mode === 'config' ? await readLitellmConfigEntries(config.gateway.configFile) : await client.modelInfo({ signal });
  return entries.flatMap((e) => {
    const key = e.model_info?.inferstack_model_key;
    if (e.model_info?.inferstack_stack !== config.name || typeof key !== 'string' || !keep.has(key)) return [];
    const kept = deploymentOfEntry(e, mode === 'api' ? gatewayApiKey(config, key, mode) : undefined);
    return kept ? [kept] : [];
  });
}

/** A client for the configured gateway. */
export function gatewayClient(config: StackConfig, options: { timeoutMs?: number; retry?: false } = {}): LitellmClient {
  return createLitellmClient({
    baseUrl: config.gateway.url,
    masterKey: config.gateway.masterKey,
    timeoutMs: options.timeoutMs ?? Number(config.settings.INFERSTACK_GATEWAY_TIMEOUT_MS ?? 10_000),
    ...(options.retry === false ? { retry: false } : {}),
  });
}

/**
 * Make the gateway route to exactly `serving`, never touching entries we do not own. See the
 * module's comment for how each mode does it.
 */
export async function syncGateway(
  docker: () => Promise<DockerClient>,
  config: StackConfig,
  serving: readonly ModelContainer[],
  options: {
    dryRun?: boolean;
    signal?: AbortSignal;
    /** The gateway was (re)started just now: give it time to come up. */
    justStarted?: boolean;
    /** How long a (re)started gateway gets to answer. @default 120_000 */
    readyTimeoutMs?: number;
    /** How long every worker of a running gateway gets to apply a change. @default 15_000 (45_000 in API mode: workers read the database every 30 s) */
    applyTimeoutMs?: number;
    /** Model keys whose routes stay as they are (their Docker host could not be asked). */
    keep?: ReadonlySet<string>;
    /** The key of the keyed digest of each entry (the stack's hash key). */
    digestKey?: string;
    /** Told what is worth knowing (a gateway restarted to load the plugin). */
    onNote?: (message: string) => void;
  } = {},
): Promise<GatewaySyncResult> {
  const mode = config.gateway.sync;
  const managed = config.gateway.mode === 'managed';
  const client = gatewayClient(config);
  const serve = desiredDeployments(config, serving, mode);
  const kept = await keptDeployments(config, client, options.keep ?? new Set(), options.signal);
  const desired = [...serve, ...kept.filter((k) => !serve.some((d) => d.name === k.name))];
  // Entries are the stack's: another stack syncing the same gateway keeps its own.
  const scope = { owner: config.name, ...(options.digestKey ? { digestKey: options.digestKey } : {}) };
  const routed = desired.map((d) => d.servedModelName);
  const readyTimeoutMs = options.justStarted ? (options.readyTimeoutMs ?? 120_000) : 15_000;

  if (mode === 'config') {
    if (options.dryRun) {
      return { mode, routed, added: 0, removed: 0, applied: false, restarted: false, plan: [`write ${desired.length} managed model(s) into ${config.gateway.configFile}`] };
    }
    if (!managed) {
      // A gateway of the user's reads the file when it starts; nothing here makes it reload.
      const written = await withGatewayDirLock(config, () => writeLitellmConfig(config.gateway.configFile, desired, scope));
      await client.waitUntilReady({ timeoutMs: readyTimeoutMs, signal: options.signal });
      return { mode, routed, added: written.changed ? desired.length : 0, removed: 0, applied: false, restarted: false };
    }
    const before = readRoutesFile(config, config.name)?.entries.map((e) => e.model_info.id) ?? [];
    const written = await writeGatewayRoutes(config, desired, { stack: config.name, ...(options.digestKey ? { digestKey: options.digestKey } : {}), keys: modelKeys(config) });
    await waitForManagedGateway(docker, config, { timeoutMs: readyTimeoutMs, signal: options.signal });
    const ids = desired.map((d) => managedEntryFor(d, scope).model_info.id);
    const absent = before.filter((id) => !ids.includes(id));
    const confirmed = await confirmOnEveryWorker(config, { version: written.version, ids, absent, timeoutMs: options.applyTimeoutMs ?? 15_000, signal: options.signal });
    if (confirmed === 'no-plugin') {
      // A gateway made before the plugin existed (or whose config lost it) loads the new list,
      // and the plugin, only when it starts again.
      options.onNote?.(`the gateway ${config.gateway.containerName} runs without inferstack's plugin: restarting it to load the new routes`);
      await restartContainer(await docker(), config.gateway.containerName, 5);
      await waitForManagedGateway(docker, config, { timeoutMs: options.readyTimeoutMs ?? 120_000, signal: options.signal });
      return { mode, routed, added: written.configChanged ? desired.length : 0, removed: 0, applied: false, restarted: true };
    }
    return { mode, routed, added: written.routesChanged ? desired.length : 0, removed: 0, applied: true, restarted: false };
  }

  if (options.justStarted && managed && !options.dryRun) await waitForManagedGateway(docker, config, { timeoutMs: readyTimeoutMs, signal: options.signal });
  const actual = await client.modelInfo({ signal: options.signal });
  const changes = planGatewaySync(desired, actual, scope);
  if (options.dryRun) return { mode, routed, added: 0, removed: 0, applied: false, restarted: false, plan: formatGatewayPlan(changes) };
  // The managed gateway's workers are asked one by one below: a read-back of /model/info, which
  // one worker answers, would add nothing to that. A gateway of the user's gets the read-back.
  const report = await applyGatewaySyncApi(changes, { client, signal: options.signal, ...(managed ? { verify: false as const } : {}) });
  if (!report.ok && report.failed.length === 0) throw new LitellmSyncError(`gateway did not show the new model list in time (${report.pending.join(', ')})`);
  const failed = new Set(report.failed.map((f) => f.change));
  const applied = changes.filter((c) => !failed.has(c));
  if (managed && applied.length > 0) {
    // Each worker reloads from the database on its own schedule: wait until every one routes to
    // what was added and no longer to what was removed. A change that failed is not waited for.
    const refused = new Set([...failed].flatMap((c) => (c.kind === 'remove' ? [] : [c.entry.model_info.id])));
    const ids = desired.map((d) => managedEntryFor(d, scope).model_info.id).filter((id) => !refused.has(id));
    const absent = applied.flatMap((c) => (c.kind === 'remove' ? [c.id] : c.kind === 'replace' ? [c.fromId] : [])).filter((id) => !ids.includes(id));
    const version = routesVersion(desired.map((d) => managedEntryFor(d, scope)));
    const confirmed = await confirmOnEveryWorker(config, { ids, absent, version, idsOnly: true, timeoutMs: options.applyTimeoutMs ?? 45_000, signal: options.signal });
    if (confirmed === 'no-plugin') options.onNote?.('the gateway runs without inferstack\'s plugin: its other workers pick the change up when they next read the database (LiteLLM: every 30 s)');
  }
  const first = report.failed[0]?.error;
  if (first) {
    throw new LitellmSyncError(`gateway sync incomplete: ${first.message}`, { cause: first, ...(first instanceof LitellmSyncError && first.hint ? { hint: first.hint } : {}) });
  }
  return { mode, routed, added: report.added.length + report.replaced.length, removed: report.removed.length, applied: true, restarted: false };
}

/** One worker's answer to the plugin's state route. */
interface WorkerState {
  pid: number;
  routes: Record<string, string | null>;
  models: Array<string | null>;
}

/**
 * Wait until every worker of the managed gateway (`LITELLM_NUM_WORKERS`, 1 by default) says it
 * applied this stack's routes: its version of them, the wanted ids in its router, and none of
 * the stack's ids that are no longer wanted (`absent`: a worker that still has one still routes
 * to a backend being taken away). Each question opens its own connection, so that each may land
 * on any worker. `no-plugin` when the gateway has no state route (made before the plugin, or its
 * config lost it). `idsOnly` (API mode, no routes file): the version is not asked for.
 */
export async function confirmOnEveryWorker(
  config: StackConfig,
  want: { version: string; ids: readonly string[]; absent?: readonly string[]; idsOnly?: boolean; timeoutMs: number; signal?: AbortSignal },
): Promise<'confirmed' | 'no-plugin'> {
  const workers = Math.max(1, Number(config.settings.LITELLM_NUM_WORKERS ?? 1) || 1);
  const done = new Set<number>();
  const end = Date.now() + want.timeoutMs;
  let last = '';
  for (;;) {
    want.signal?.throwIfAborted();
    try {
      const r = await httpGet(`${config.gateway.url}${PLUGIN_STATE_PATH}`, {
        timeoutMs: 2000,
        headers: { connection: 'close', ...(config.gateway.masterKey ? { authorization: `Bearer ${config.gateway.masterKey}` } : {}) },
      });
      if (r.status === 404) return 'no-plugin';
      if (r.status === 200) {
        const state = JSON.parse(r.body) as WorkerState;
        const models = new Set(state.models);
        const missing = want.ids.filter((id) => !models.has(id));
        const stale = (want.absent ?? []).filter((id) => models.has(id));
        const hasVersion = want.idsOnly || state.routes[config.name] === want.version;
        if (missing.length === 0 && stale.length === 0 && hasVersion) done.add(state.pid);
        else done.delete(state.pid);
        last = want.idsOnly
          ? `worker ${state.pid} ${missing.length + stale.length === 0 ? 'is up to date' : `lacks ${missing.length} and still routes to ${stale.length} of the changed entries`}`
          : `worker ${state.pid} has routes ${state.routes[config.name] ?? 'none'}${stale.length > 0 ? ` and still routes to ${stale.join(', ')}` : ''}`;
      } else last = `HTTP ${r.status}`;
    } catch (error) {
      last = (error as Error).message;
    }
    if (done.size >= workers) return 'confirmed';
    if (Date.now() > end) {
      throw new LitellmSyncError(`the gateway did not take the new routes within ${Math.round(want.timeoutMs / 1000)} s on every worker (${done.size} of ${workers} confirmed; last: ${last})`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Wait until the managed gateway answers. LiteLLM runs as one process (or uvicorn's spawned
 * workers): nothing forks it while a thread holds a lock, so a start that does not answer in
 * time is a real failure, reported with the container's last log lines.
 */
export async function waitForManagedGateway(docker: () => Promise<DockerClient>, config: StackConfig, options: { timeoutMs: number; signal?: AbortSignal }): Promise<void> {
  const probe = gatewayClient(config, { timeoutMs: 2000, retry: false });
  try {
    await probe.waitUntilReady({ timeoutMs: options.timeoutMs, signal: options.signal });
  } catch (error) {
    if (!(error instanceof LitellmTimeoutError)) throw error;
    const name = config.gateway.containerName;
    const tail = await (async () => {
      try {
        const client = await docker();
        const info = await client.getContainer(name).inspect();
        const logs = (await containerLogs(client, info.Id, 15)).trim();
        return `${info.State.Running ? 'running' : `${info.State.Status} (exit code ${info.State.ExitCode})`}; its last log lines:\n${logs}`;
      } catch {
        return 'its state could not be read';
      }
    })();
    throw new LitellmTimeoutError({ operation: error.operation, timeoutMs: options.timeoutMs }, { cause: error.cause, hint: `the gateway ${name} is ${tail}` });
  }
}

/** Entries the gateway has now (for `status`), or the error. */
export async function gatewayEntries(config: StackConfig): Promise<GatewayEntry[] | Error> {
  try {
    return await gatewayClient(config, { retry: false, timeoutMs: 3000 }).modelInfo();
  } catch (error) {
    return error as Error;
  }
}
