import type { StackConfig } from '@inferstack/config';
import { restartContainer, signalContainer, type DockerClient, type ModelContainer } from '@inferstack/docker-ops';
import {
  LitellmSyncError,
  LitellmTimeoutError,
  applyGatewaySyncApi,
  createLitellmClient,
  deploymentOfEntry,
  formatGatewayPlan,
  planGatewaySync,
  readLitellmConfigEntries,
  writeLitellmConfig,
  type DesiredDeployment,
  type GatewayEntry,
  type LitellmClient,
} from '@inferstack/litellm-sync';
import { containerApiBase } from './endpoints.js';
import { apiKeyEnvName, ensureGatewayConfigFile } from './services/gateway.js';

/**
 * What the gateway should route to: one deployment per serving container. An API key goes into
 * the gateway's environment and the config file only names it (`os.environ/...`).
 */
export function desiredDeployments(config: StackConfig, serving: readonly ModelContainer[], mode: 'config' | 'api'): DesiredDeployment[] {
  return serving.flatMap((c) => {
    const spec = config.models.find((m) => m.key === c.key);
    const apiKey = gatewayApiKey(config, c.key, mode);
    // Where the gateway reaches it: on its own network, or at another host's address.
    const apiBase = containerApiBase(config, c);
    if (apiBase === undefined) return [];
    return [
      {
        name: c.name,
        modelKey: c.key,
        apiBase,
        servedModelName: c.servedModelName ?? spec?.servedModelName ?? c.key,
        ...(apiKey ? { apiKey } : {}),
      },
    ];
  });
}

/** The key the gateway sends to a model: in config-file mode a reference to its environment. */
function gatewayApiKey(config: StackConfig, key: string, mode: 'config' | 'api'): string | undefined {
  const spec = config.models.find((m) => m.key === key);
  return spec?.apiKey ? (mode === 'config' ? `os.environ/${apiKeyEnvName(key)}` : spec.apiKey) : undefined;
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

/** What a gateway sync did. */
export interface GatewaySyncResult {
  mode: 'config' | 'api';
  /** Served names routed after the sync. */
  routed: string[];
  added: number;
  removed: number;
  /** Config-file mode: the gateway reloaded its config (SIGHUP): nothing was dropped. */
  reloaded: boolean;
  /** Config-file mode: the gateway had to be restarted to load a changed list (it did not reload). */
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
    /** How long a reloaded gateway gets to route the new list. @default 30_000 */
    reloadTimeoutMs?: number;
    /** Model keys whose routes stay as they are (their Docker host could not be asked). */
    keep?: ReadonlySet<string>;
    /**
     * How long a managed gateway may take connections and answer none before it gets a fresh
     * worker. @default 10_000, 90_000 in API mode (a worker with a database migrates as it starts)
     */
    stallMs?: number;
    /** Told when a managed gateway that did not answer was given a fresh worker. */
    onStall?: (message: string) => void;
    /**
     * The secret of the digest each entry carries in `model_info` (litellm-sync's `digestKey`):
     * the stack's spec-hash key, which no gateway key holder knows. @default none: a changed
     * model api-key alone is not seen in API mode
     */
    digestKey?: string;
  } = {},
): Promise<GatewaySyncResult> {
  const mode = config.gateway.sync;
  const client = gatewayClient(config);
  const serve = desiredDeployments(config, serving, mode);
  const kept = await keptDeployments(config, client, options.keep ?? new Set(), options.signal);
  const desired = [...serve, ...kept.filter((k) => !serve.some((d) => d.name === k.name))];
  // Entries are the stack's: another stack syncing the same gateway keeps its own. Their digests
  // are keyed with a secret of the stack (every gateway key holder reads them).
  const scope = { owner: config.name, ...(options.digestKey ? { digestKey: options.digestKey } : {}) };
  const routed = desired.map((d) => d.servedModelName);
  if (mode === 'config') {
    if (options.dryRun) {
      return { mode, routed, added: 0, removed: 0, restarted: false, reloaded: false, plan: [`write ${desired.length} managed model(s) into ${config.gateway.configFile}`] };
    }
    const managed = config.gateway.mode === 'managed';
    if (managed) ensureGatewayConfigFile(config);
    const written = await writeLitellmConfig(config.gateway.configFile, desired, scope);
    // A gateway we just started reads the file as it starts; one that should be up gets a short budget.
    const timeoutMs = options.justStarted ? (options.readyTimeoutMs ?? 120_000) : 15_000;
    if (managed) await waitForManagedGateway(docker, config, { ...options, timeoutMs });
    else await client.waitUntilReady({ timeoutMs, signal: options.signal });
    if (!managed) return { mode, routed, added: written.changed ? desired.length : 0, removed: 0, restarted: false, reloaded: false };
    // Does the gateway route what the file says? Not when the file just changed, nor after a run
    // killed between writing the file and reloading the gateway.
    const routesOk = async () => planGatewaySync(desired, await client.modelInfo({ signal: options.signal }), scope).length === 0;
    if (await routesOk()) return { mode, routed, added: written.changed ? desired.length : 0, removed: 0, restarted: false, reloaded: false };
    // LiteLLM under gunicorn reloads its config on SIGHUP: new workers start with the new list
    // while the old ones finish their requests, so no request to any model is dropped.
    await signalContainer(await docker(), config.gateway.containerName, 'SIGHUP');
    if (await until(routesOk, { timeoutMs: options.reloadTimeoutMs ?? 30_000, stableMs: 1000, signal: options.signal })) {
      return { mode, routed, added: desired.length, removed: 0, restarted: false, reloaded: true };
    }
    // A gateway that does not reload (started without gunicorn by an older version): restart it.
    await restartContainer(await docker(), config.gateway.containerName, 5);
    await waitForManagedGateway(docker, config, { ...options, timeoutMs: options.readyTimeoutMs ?? 120_000 });
    return { mode, routed, added: desired.length, removed: 0, restarted: true, reloaded: false };
  }
  if (options.justStarted && config.gateway.mode === 'managed' && !options.dryRun) {
    await waitForManagedGateway(docker, config, { ...options, timeoutMs: options.readyTimeoutMs ?? 120_000 });
  }
  const actual = await client.modelInfo({ signal: options.signal });
  const changes = planGatewaySync(desired, actual, scope);
  if (options.dryRun) return { mode, routed, added: 0, removed: 0, restarted: false, reloaded: false, plan: formatGatewayPlan(changes) };
  const report = await applyGatewaySyncApi(changes, { client, signal: options.signal });
  if (!report.ok) {
    const first = report.failed[0]?.error;
    throw new LitellmSyncError(first ? `gateway sync incomplete: ${first.message}` : `gateway did not show the new model list in time (${report.pending.join(', ')})`);
  }
  return { mode, routed, added: report.added.length + report.replaced.length, removed: report.removed.length, restarted: false, reloaded: false };
}

/** How long a fresh worker gets to answer, even when the gateway's budget was short. */
const FRESH_WORKER_MS = 30_000;
/** One readiness probe: a gateway that is well answers it in milliseconds. */
const PROBE_MS = 2000;

/**
 * Wait until the managed gateway answers, giving it a fresh worker when it stays silent.
 *
 * LiteLLM under gunicorn starts a background thread in the master and forks the worker at
 * once. Now and then (a start in three to six here) the fork lands while that thread is
 * importing a module; the worker inherits the import lock held by a thread it does not have,
 * and hangs for good at "Waiting for application startup.": the port takes connections and
 * answers none. A SIGHUP makes gunicorn fork a new worker from the master, whose thread is idle
 * by then, and retire the hung one: the same reload that changes the model list.
 *
 * Silence is counted only while connections are taken: a gateway that refuses them is still
 * importing, and a signal before gunicorn handles it would end the process. A worker that is
 * well is silent for a second or two as it starts. With a database it also migrates then, which
 * must not be cut short, so API mode waits much longer before it signals.
 */
async function waitForManagedGateway(
  docker: () => Promise<DockerClient>,
  config: StackConfig,
  options: { timeoutMs: number; stallMs?: number; signal?: AbortSignal; onStall?: (message: string) => void },
): Promise<void> {
  const probe = gatewayClient(config, { timeoutMs: PROBE_MS, retry: false });
  const start = Date.now();
  let end = start + options.timeoutMs;
  let stallMs = options.stallMs ?? (config.gateway.sync === 'api' ? 90_000 : 10_000);
  let silentSince: number | undefined;
  let nudged = 0;
  for (;;) {
    const asked = Date.now();
    try {
      // Probes for one probe's time: what is "not yet" is litellm-sync's rule.
      await probe.waitUntilReady({ timeoutMs: Math.max(1, Math.min(PROBE_MS, end - asked)), signal: options.signal });
      return;
    } catch (error) {
      if (!(error instanceof LitellmTimeoutError)) throw error; // not a LiteLLM, a bad key: as it is
      // The last probe got no answer at all (silent), or was refused or told "not yet".
      if (error.cause instanceof LitellmTimeoutError) silentSince ??= asked;
      else silentSince = undefined;
      const now = Date.now();
      if (silentSince !== undefined && now - silentSince >= stallMs) {
        options.onStall?.(`the gateway ${config.gateway.containerName} took connections and answered none for ${Math.round((now - silentSince) / 1000)} s: giving it a fresh worker (SIGHUP)`);
        // A container that is not running cannot be signalled: the timeout below says so.
        const signalled = await signalContainer(await docker(), config.gateway.containerName, 'SIGHUP').then(
          () => true,
          () => false,
        );
        if (signalled) {
          nudged++;
          stallMs *= 2;
          silentSince = undefined;
          end = Math.max(end, now + FRESH_WORKER_MS);
        }
      }
      if (now >= end) {
        const hint = `see its log: docker logs ${config.gateway.containerName}${nudged ? ` (it was given a fresh worker ${nudged} time(s) on the way)` : ''}`;
        throw new LitellmTimeoutError({ operation: error.operation, timeoutMs: now - start }, { cause: error.cause, hint });
      }
    }
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

/**
 * Poll `check` until it has held for `stableMs` (a reloading gateway answers from old and new
 * workers for a moment), or `timeoutMs` passes.
 */
async function until(check: () => Promise<boolean>, options: { timeoutMs: number; stableMs: number; signal?: AbortSignal }): Promise<boolean> {
  const end = Date.now() + options.timeoutMs;
  let since: number | undefined;
  while (Date.now() < end) {
    options.signal?.throwIfAborted();
    const ok = await check().catch(() => false);
    if (!ok) since = undefined;
    else if ((since ??= Date.now()) + options.stableMs <= Date.now()) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}
