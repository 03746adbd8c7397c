import type { HostSpec, ModelSpec } from '@inferstack/config';
import { gpuMap, planHasChanges, planModels, type GpuLoad, type GpuMap, type ModelChange } from '@inferstack/docker-ops';
import { stackContainers } from './containers.js';
import type { StackContext } from './context.js';
import { exposureWarnings, hasSeveralHosts, hostHashKey, hostOf, hostsOf, modelsOnHost, onEachHost, publishAddress, reachHosts, type HostFailure, type ReachedHost } from './hosts.js';
import { privateNetworkName } from './networks.js';
import { selectedModels } from './select.js';
import { requireWakePath } from './watcher/wake-hook.js';

/** Options of `plan`. */
export interface PlanOptions {
  /** Plan for these models only (others are left alone, none is removed). @default all */
  models?: readonly string[];
  /** Plan as `up` with `forceRecreate` would. */
  forceRecreate?: boolean;
}

/** One change of a plan, on the Docker host it happens on. */
export type HostedChange = ModelChange & {
  /** The host (`hosts:`; `local` for the default one). */
  host: string;
  /**
   * For a model of another host than the gateway's: the address and port it publishes vLLM's
   * port on there, which the gateway and Prometheus reach (`<address>:auto` until Docker picks
   * the port).
   */
  opens?: string;
};

/** What a plan found on one Docker host. */
export type HostPlanStatus = { host: string; ok: true } | { host: string; ok: false; error: Error; hint?: string };

/** What `up` would do. */
export interface StackPlan {
  /** The stack's name. */
  stack: string;
  changes: HostedChange[];
  /** Whether anything would change. */
  hasChanges: boolean;
  /**
   * Per GPU, the models on it and their `gpu-memory-utilization` summed, now and after `up`.
   * With several hosts, each GPU is named `<host>:<index>`.
   */
  gpus: GpuMap;
  /** Each host: planned, or why not (it could not be reached: its models are not in `changes`). */
  hosts: HostPlanStatus[];
  /** Things worth knowing before `up` (a model published without an api-key, say). */
  warnings: string[];
}

/** One host's part of a plan, with what `up` needs to carry it out. @internal */
export interface HostPlanPart {
  reached: ReachedHost;
  /** The models of the host (hashed with the host's key) that the plan covers. */
  models: ModelSpec[];
  changes: HostedChange[];
  gpuIndices: number[];
  hashKey: string;
}

/**
 * The plan on every host at once, and each host's part. A host that cannot be reached is
 * reported (event `host-failed`) and has no part. @internal
 */
export async function planOnHosts(
  ctx: StackContext,
  options: PlanOptions & { requireDefault?: boolean; reached?: { reached: ReachedHost[]; failed: HostFailure[] } } = {},
): Promise<{ plan: StackPlan; parts: HostPlanPart[]; failed: HostFailure[] }> {
  // The other hosts are reached while the stack's identity is read (on the default host).
  const [, connected] = await Promise.all([ctx.resolve(), options.reached ?? reachHosts(ctx, { requireDefault: options.requireDefault, distinct: true })]);
  const { config } = ctx;
  const models = selectedModels(config, options.models, ctx.cwd);
  // Idle models that nothing could wake are refused here, before anything changes.
  requireWakePath(config, { env: ctx.env, hasWatcherProgram: Boolean(ctx.watcherProgram) });
  const { reached, failed } = connected;
  const planned = await onEachHost(ctx, reached, (r) => planHost(ctx, r, models, options));
  const parts = planned.results.map((r) => r.value);
  const unplanned = [...failed, ...planned.failed];
  const changes = parts.flatMap((p) => p.changes);
  const several = hasSeveralHosts(config);
  const gpus = several ? mergeGpuMaps(parts.map((p) => ({ host: p.reached.host.name, map: gpuMap(p.changes, p.gpuIndices) }))) : gpuMap(changes, parts[0]?.gpuIndices ?? []);
  const hosts: HostPlanStatus[] = hostsOf(config).map((h) => {
    const f = unplanned.find((x) => x.host === h.name);
    return f ? { host: h.name, ok: false, error: f.error, ...(f.hint ? { hint: f.hint } : {}) } : { host: h.name, ok: true };
  });
  return { plan: { stack: ctx.name, changes, hasChanges: planHasChanges(changes), gpus, hosts, warnings: exposureWarnings(config) }, parts, failed: unplanned };
}

/** What `up` would do to the models, from one container listing per host. Changes nothing, takes no lock. */
export async function plan(ctx: StackContext, options: PlanOptions = {}): Promise<StackPlan> {
  return (await planOnHosts(ctx, options)).plan;
}

async function planHost(ctx: StackContext, reached: ReachedHost, selected: readonly ModelSpec[], options: PlanOptions): Promise<HostPlanPart> {
  const { config } = ctx;
  const host = reached.host;
  const keys = selected.filter((m) => hostOf(m) === host.name).map((m) => m.key);
  const [hashKey, containers, gpus] = await Promise.all([
    hostHashKey(ctx, reached),
    stackContainers(ctx, keys, { host: host.name, docker: reached.docker }),
    // This machine's GPUs, when the default host's daemon runs here; another host's are asked
    // by `up` (a short container), not by a plan.
    host.local ? ctx.localGpus() : Promise.resolve('unavailable' as const),
  ]);
  const models = modelsOnHost(selected, host.name, hashKey, ctx.hashKey);
  // What `gpus: all` covers, when the host's GPUs are known.
  const gpuIndices = gpus === 'unavailable' ? [] : gpus.map((g) => g.index);
  const publishOn = publishAddress(host);
  const changes = planModels(models, containers, {
    removeOrphans: !options.models?.length,
    forceRecreate: options.forceRecreate,
    network: config.network,
    ...(host.local ? { privateNetwork: privateNetworkName(ctx.name) } : {}),
    gpuIndices,
    ...(publishOn ? { publishOn } : {}),
    // A selected model that runs elsewhere now: its container here goes.
    elsewhere: new Set(selected.filter((m) => hostOf(m) !== host.name).map((m) => m.key)),
  });
  return { reached, models, changes: changes.map((c) => hosted(c, host)), gpuIndices, hashKey };
}

function hosted(change: ModelChange, host: HostSpec): HostedChange {
  const publishOn = publishAddress(host);
  if (!publishOn || change.action === 'remove') return { ...change, host: host.name };
  const port = change.action === 'keep' || change.action === 'start' ? change.container.published?.port : undefined;
  return { ...change, host: host.name, opens: `${publishOn}:${port ?? 'auto'}` };
}

/** One GPU map of several hosts, each GPU named `<host>:<gpu>`. */
function mergeGpuMaps(maps: ReadonlyArray<{ host: string; map: GpuMap }>): GpuMap {
  const named = (host: string, loads: GpuLoad[]) => loads.map((l) => ({ ...l, gpu: `${host}:${l.gpu}` }));
  return { before: maps.flatMap((m) => named(m.host, m.map.before)), after: maps.flatMap((m) => named(m.host, m.map.after)) };
}
