import { formatGpuLabel, type ModelSpec } from '@inferstack/config';
import { isIdleStopped, listServices, modelLoads, modelStatuses, replicaIndices, type ModelContainer, type ModelLoad, type ModelStatus } from '@inferstack/docker-ops';
import { stackContainers } from '../models/containers.js';
import type { StackContext } from '../context.js';
import { containerApiBase, shownApiBase } from '../models/endpoints.js';
import { hostHashKey, hostOf, hostsOf, hostsOfModel, modelsOnHost, onEachHost, publishAddress, reachHosts, type ReachedHost } from '../hosts/hosts.js';
import { privateNetworkName } from '../models/networks.js';
import type { HostPlanStatus } from './plan.js';
import { otherHostServiceStatuses } from '../services/host-services.js';
import { serviceStatuses, type ServiceStatus } from '../services/registry.js';

/** One model in `status`. */
export interface ModelStatusRow extends Omit<ModelStatus, 'state' | 'sync'> {
  /** Docker's state, `absent`, or `unknown` when its host could not be asked. */
  state: ModelStatus['state'] | 'unknown';
  /** How it compares with the config; `unknown` when its host could not be asked. */
  sync: ModelStatus['sync'] | 'unknown';
  /** The Docker host it runs on (`local`: the default one). */
  host: string;
  /** Where the gateway and Prometheus reach it (its OpenAI base URL). */
  endpoint: string;
  /** `5 minutes` while running. */
  uptime: string | null;
  /** Whether the gateway routes to it; null when the gateway could not be asked (or there is none). */
  routed: boolean | null;
  /** Prometheus' view of its target; null when it has none (or Prometheus could not be asked). */
  scrape: { health: string; lastError: string } | null;
  /** Requests running and waiting, KV-cache use, from its `/metrics` (local daemon only). */
  load: ModelLoad | null;
  /**
   * For a model that sleeps or stops when idle (or is in a swap group): whether it is awake,
   * asleep (level 1), deep asleep (level 2) or stopped for being idle, and when its last request
   * came (from the watcher; null when it could not be asked or saw none). Null for other models.
   */
  idle: { state: 'awake' | 'asleep' | 'deep-asleep' | 'stopped-idle' | 'unknown'; lastRequestAt: string | null } | null;
  /**
   * With `weights: true`: what its Hugging Face cache on its host holds of the files vLLM loads
   * (read without the network, see docker-ops' `cacheState`), or why that could not be read.
   */
  weights?: { bytes: number; totalBytes: number; complete: boolean; offline: boolean } | { error: string } | null;
}

/** Options of `status`. */
export interface StatusOptions {
  /**
   * Also read each model's Hugging Face cache on its host (a short container per model and host,
   * no network): slower, so asked for (`serve status --weights`).
   */
  weights?: boolean;
}

/** What `status` found. */
export interface StackStatus {
  /** The stack's name. */
  stack: string;
  models: ModelStatusRow[];
  /** The services; those on another Docker host than the default one (the exporters) carry their `host`. */
  services: Array<ServiceStatus & { host?: string }>;
  /** Whether the stack has a gateway / a Prometheus to ask. */
  gateway: boolean;
  monitoring: boolean;
  /** Why the gateway could not be asked, if it could not. */
  gatewayError?: string;
  /** Why Prometheus could not be asked, if it could not. */
  prometheusError?: string;
  /** Each Docker host: asked, or why not (its models show as `unknown`). */
  hosts: HostPlanStatus[];
}

function uptime(status: string): string | null {
  return /^Up (.+?)(?: \(|$)/.exec(status)?.[1] ?? null;
}

/**
 * Each model (state, health, GPUs, whether it matches the config, whether it is routed and
 * scraped, its load) and each service, from one container listing per host and one question
 * each to the gateway and Prometheus, all asked in parallel. Changes nothing.
 */
export async function status(ctx: StackContext, options: StatusOptions = {}): Promise<StackStatus> {
  // Every question is asked at once: each host's containers (then, on this machine, each
  // running model's load), the gateway, Prometheus and the watcher.
  const first = ctx.config;
  const asked = Promise.all([
    first.gateway.mode === 'none' ? undefined : import('../gateway/sync.js').then((m) => m.gatewayEntries(first)),
    first.monitoring.mode === 'none' ? undefined : import('../sync/monitoring.js').then((m) => m.scrapeHealth(first)),
    watcherState(ctx),
  ]);
  const { reached } = await reachHosts(ctx);
  const listed = await onEachHost(ctx, reached, async (r) => {
    const containers = stackContainers(ctx, undefined, { host: r.host.name, docker: r.docker });
    const [found, services, loads] = await Promise.all([
      containers,
      // Only ours: a container of that name made by someone else is not this stack's service.
      r.host.local ? listServices(r.docker).then((all) => all.filter((s) => s.stack === undefined || s.stack === ctx.name)) : undefined,
      // The loads of the models of this machine's daemon, as soon as they are listed.
      r.host.local && ctx.local ? containers.then((c) => modelLoads(c, first.network)) : undefined,
    ]);
    return {
      containers: found,
      services: services ? serviceStatuses(ctx.config, ctx.services, services) : await otherHostServiceStatuses(ctx, r),
      hashKey: await hostHashKey(ctx, r),
      loads,
    };
  });
  // Reaching the hosts resolved those whose address is a name: what they publish on is compared by IP.
  const { config } = ctx;
  const [entries, scrapes, watched] = await asked;
  const local = listed.results.find((r) => r.host.local);
  const loads = local?.value.loads ?? new Map<string, ModelLoad>();
  const idle = (r: ModelStatus, containers: readonly ModelContainer[], hostIsLocal: boolean): ModelStatusRow['idle'] => {
    const spec = config.models.find((m) => m.key === r.key);
    if (!spec || !(spec.idle || spec.swapGroup)) return null;
    const c = containers.find((x) => x.name === r.containerName);
    const sleep = hostIsLocal ? loads.get(r.containerName)?.sleepState : undefined;
    const state = c && isIdleStopped(c) ? 'stopped-idle' : sleep === 'weights_offloaded' ? 'asleep' : sleep === 'discard_all' ? 'deep-asleep' : sleep === 'awake' ? 'awake' : 'unknown';
    return { state, lastRequestAt: watched?.get(r.key) ?? null };
  };
  const routedTo = (apiBase: string | undefined): boolean | null =>
    entries === undefined || entries instanceof Error ? null : apiBase !== undefined && entries.some((e) => e.litellm_params.api_base === apiBase);

  // A model placed over several hosts: on each host, the replicas that run there; those that
  // run nowhere read, on its first host.
  const spread = config.models.filter((m) => hostsOfModel(m).length > 1);
  const onHost = (host: string): Map<string, number[]> =>
    new Map(
      spread.map((m) => {
        const all = listed.results.flatMap((r) => r.value.containers.filter((c) => c.key === m.key).map((c) => ({ host: r.host.name, replica: c.replica })));
        const wanted = replicaIndices(m, []);
        const here = wanted.filter((i) => all.some((c) => c.replica === i && c.host === host) || (hostOf(m) === host && !all.some((c) => c.replica === i)));
        return [m.key, here];
      }),
    );
  const models: ModelStatusRow[] = [];
  for (const host of hostsOf(config)) {
    const found = listed.results.find((r) => r.host.name === host.name);
    if (!found) {
      // Its host could not be asked: what the config says, state unknown.
      for (const spec of config.models.filter((m) => hostOf(m) === host.name)) models.push(unknownRow(config, spec, host.name));
      continue;
    }
    const specs = modelsOnHost(config.models, host.name, found.value.hashKey, ctx.hashKey);
    const publishOn = publishAddress(host);
    const privateNetwork = host.local ? { privateNetwork: privateNetworkName(ctx.name) } : {};
    for (const r of modelStatuses(specs, found.value.containers, { network: config.network, ...privateNetwork, ...(publishOn ? { publishOn } : {}), replicas: onHost(host.name) })) {
      const endpoint = shownApiBase(config, r.containerName, host.name, r.container);
      models.push({
        ...r,
        host: host.name,
        endpoint,
        uptime: r.state === 'running' ? uptime(r.status) : null,
        routed: routedTo(r.container ? containerApiBase(config, r.container) : endpoint),
        scrape: scrapes instanceof Map ? (scrapes.get(r.containerName) ?? null) : null,
        load: host.local ? (loads.get(r.containerName) ?? null) : null,
        idle: idle(r, found.value.containers, host.local),
      });
    }
  }
  if (options.weights) await addWeights(ctx, models, reached);
  const hosts = hostsOf(config).map((h): HostPlanStatus => {
    const f = ctx.hostFailures.get(h.name);
    return f ? { host: h.name, ok: false, error: f.error, ...(f.hint ? { hint: f.hint } : {}) } : { host: h.name, ok: true };
  });
  return {
    stack: ctx.name,
    models,
    services: listed.results.flatMap((r) => r.value.services),
    gateway: entries !== undefined,
    monitoring: scrapes !== undefined,
    ...(entries instanceof Error ? { gatewayError: entries.message } : {}),
    ...(scrapes instanceof Error ? { prometheusError: scrapes.message } : {}),
    hosts,
  };
}

/** Each configured model's cache on each host it has a row on: once per model and host (its replicas share it). */
async function addWeights(ctx: StackContext, rows: ModelStatusRow[], reached: readonly ReachedHost[]): Promise<void> {
  // Loaded only when asked: a plain status does not need the weights code.
  const { cacheOf } = await import('../models/weights.js');
  await Promise.all(
    reached.map(async (r) => {
      const seen = new Map<string, ModelStatusRow['weights']>();
      for (const row of rows.filter((x) => x.host === r.host.name)) {
        const spec = ctx.config.models.find((m) => m.key === row.key);
        if (!spec) {
          row.weights = null;
          continue;
        }
        if (!seen.has(spec.key)) seen.set(spec.key, await cacheOf(ctx, r.docker, spec));
        row.weights = seen.get(spec.key) ?? null;
      }
    }),
  );
}

function unknownRow(config: StackContext['config'], spec: ModelSpec, host: string): ModelStatusRow {
  return {
    key: spec.key,
    containerName: spec.containerName,
    state: 'unknown',
    health: 'none',
    sync: 'unknown',
    changed: [],
    gpus: formatGpuLabel(spec.gpus),
    image: spec.image,
    status: `host ${host} could not be asked`,
    servedModelName: spec.servedModelName,
    host,
    endpoint: shownApiBase(config, spec.containerName, host),
    uptime: null,
    routed: null,
    scrape: null,
    load: null,
    idle: spec.idle || spec.swapGroup ? { state: 'unknown', lastRequestAt: null } : null,
  };
}

/** When each model's last request came, as the stack's running watcher knows it (local daemon only). */
async function watcherState(ctx: StackContext): Promise<Map<string, string> | undefined> {
  if (!ctx.local || !ctx.config.models.some((m) => m.idle || m.swapGroup)) return undefined;
  try {
    const { askWatcher, runningWatcher } = await import('../watcher/client.js');
    const running = await runningWatcher(ctx);
    if (!running) return undefined;
    const r = await askWatcher(running, 'GET', '/state', undefined, 1500);
    if (r.status !== 200) return undefined;
    const models = (r.body.models ?? []) as Array<{ key: string; lastRequestAt: string | null }>;
    return new Map(models.flatMap((m) => (m.lastRequestAt ? [[m.key, m.lastRequestAt] as [string, string]] : [])));
  } catch {
    return undefined;
  }
}
