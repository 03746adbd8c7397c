import { WATCHER_PORT } from '@inferstack/config';
import { httpGet, isIdleStopped, listServices, modelLoads, modelStatuses, type ModelLoad, type ModelStatus, type ServiceContainer } from '@inferstack/docker-ops';
import { stackContainers } from './containers.js';
import type { StackContext } from './context.js';
import { modelApiBase } from './endpoints.js';
import { serviceStatuses, type ServiceStatus } from './services/registry.js';

/** One model in `status`. */
export interface ModelStatusRow extends ModelStatus {
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
}

/** What `status` found. */
export interface StackStatus {
  /** The stack's name. */
  stack: string;
  models: ModelStatusRow[];
  services: ServiceStatus[];
  /** Whether the stack has a gateway / a Prometheus to ask. */
  gateway: boolean;
  monitoring: boolean;
  /** Why the gateway could not be asked, if it could not. */
  gatewayError?: string;
  /** Why Prometheus could not be asked, if it could not. */
  prometheusError?: string;
}

function uptime(status: string): string | null {
  return /^Up (.+?)(?: \(|$)/.exec(status)?.[1] ?? null;
}

/**
 * Each model (state, health, GPUs, whether it matches the config, whether it is routed and
 * scraped, its load) and each service, from one container listing and one question each to the
 * gateway and Prometheus, asked in parallel. Changes nothing.
 */
export async function status(ctx: StackContext): Promise<StackStatus> {
  await ctx.resolve();
  const { config } = ctx;
  const docker = await ctx.docker();
  const [containers, services, entries, scrapes] = await Promise.all([
    stackContainers(ctx),
    listServices(docker),
    // Their HTTP clients are loaded only when there is something to ask.
    config.gateway.mode === 'none' ? undefined : import('./gateway-sync.js').then((m) => m.gatewayEntries(config)),
    config.monitoring.mode === 'none' ? undefined : import('./monitoring-sync.js').then((m) => m.scrapeHealth(config)),
  ]);
  const [loads, watched] = await Promise.all([
    ctx.local ? modelLoads(containers, config.network) : new Map<string, ModelLoad>(),
    watcherState(ctx, services),
  ]);
  const idle = (r: ModelStatus): ModelStatusRow['idle'] => {
    const spec = config.models.find((m) => m.key === r.key);
    if (!spec || !(spec.idle || spec.swapGroup)) return null;
    const c = containers.find((x) => x.name === r.containerName);
    const sleep = loads.get(r.key)?.sleepState;
    const state = c && isIdleStopped(c) ? 'stopped-idle' : sleep === 'weights_offloaded' ? 'asleep' : sleep === 'discard_all' ? 'deep-asleep' : sleep === 'awake' ? 'awake' : 'unknown';
    return { state, lastRequestAt: watched?.get(r.key) ?? null };
  };
  const routed = (r: ModelStatus): boolean | null =>
    entries === undefined || entries instanceof Error ? null : entries.some((e) => e.litellm_params.api_base === modelApiBase(r.containerName));
  const models = modelStatuses(config.models, containers, { network: config.network }).map((r) => ({
    ...r,
    endpoint: modelApiBase(r.containerName),
    uptime: r.state === 'running' ? uptime(r.status) : null,
    routed: routed(r),
    scrape: scrapes instanceof Map ? (scrapes.get(r.containerName) ?? null) : null,
    load: loads.get(r.key) ?? null,
    idle: idle(r),
  }));
  return {
    stack: ctx.name,
    models,
    // Only ours: a container of that name made by someone else is not this stack's service.
    services: serviceStatuses(config, ctx.services, services.filter((s) => s.stack === undefined || s.stack === ctx.name)),
    gateway: entries !== undefined,
    monitoring: scrapes !== undefined,
    ...(entries instanceof Error ? { gatewayError: entries.message } : {}),
    ...(scrapes instanceof Error ? { prometheusError: scrapes.message } : {}),
  };
}

/** When each model's last request came, as the stack's running watcher container knows it (local daemon only). */
async function watcherState(ctx: StackContext, services: readonly ServiceContainer[]): Promise<Map<string, string> | undefined> {
  const own = services.find((s) => s.kind === 'watcher' && s.stack === ctx.name && s.state === 'running');
  if (!own || !ctx.local) return undefined;
  try {
    const info = await (await ctx.docker()).getContainer(own.id).inspect();
    const ip = info.NetworkSettings.Networks[ctx.config.network]?.IPAddress;
    if (!ip) return undefined;
    const r = await httpGet(`http://${ip}:${WATCHER_PORT}/state`, { timeoutMs: 1500 });
    if (r.status !== 200) return undefined;
    const body = JSON.parse(r.body) as { models?: Array<{ key: string; lastRequestAt: string | null }> };
    return new Map((body.models ?? []).flatMap((m) => (m.lastRequestAt ? [[m.key, m.lastRequestAt] as [string, string]] : [])));
  } catch {
    return undefined;
  }
}
