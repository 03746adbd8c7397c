import { relative } from 'node:path';
import { parseGpuLabel, type HostSpec, type ModelSpec } from '@inferstack/config';
import { gpuMap, nameConflicts, planHasChanges, planModels, replicaIndices, replicaSpecs, type GpuLoad, type GpuMap, type ModelChange, type ModelContainer, type NameConflict } from '@inferstack/docker-ops';
import { stackContainersForPlan } from '../models/containers.js';
import type { StackContext } from '../context.js';
import { ContainerNameConflictError, type NameConflictOnHost } from '../errors.js';
import { addressNotes, exposureWarnings, hasSeveralHosts, hostHashKey, hostOf, hostsOf, modelsOnHost, onEachHost, publishAddress, reachHosts, type HostFailure, type ReachedHost } from '../hosts/hosts.js';
import { privateNetworkName } from '../models/networks.js';
import { placeOnHost, replicaId } from '../models/placement.js';
import { selectedModels } from '../models/select.js';
import { planServices, serviceChanges, type ServicePlan } from '../services/plan.js';
import { requireCapacitySupport } from '../models/capacity.js';
import { requireWakePath } from '../watcher/wake-path.js';

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
  /** For a replica of a `gpus: auto` model: where placement put it, and why (`GPUs 2, 3 of local: …`). */
  placement?: string;
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
  /** The models. */
  changes: HostedChange[];
  /**
   * The infrastructure services (gateway, its database, Prometheus, exporters, Grafana, the
   * watcher; the exporters of other hosts with their `host`), decided as `up` decides them.
   */
  services: ServicePlan[];
  /** Whether anything would change: a model, a service, or a file a service mounts. */
  hasChanges: boolean;
  /**
   * Per GPU, the models on it and their `gpu-memory-utilization` summed, now and after `up`.
   * With several hosts, each GPU is named `<host>:<index>`.
   */
  gpus: GpuMap;
  /** Each host: planned, or why not (it could not be reached: its models are not in `changes`). */
  hosts: HostPlanStatus[];
  /**
   * Things worth knowing before `up`: a model published without an api-key (its host allows open
   * models), a Docker API reached without TLS.
   */
  warnings: string[];
  /** What the plan rests on: a host address given as a name, and the IP address it resolved to. */
  notes: string[];
}

/** One host's part of a plan, with what `up` needs to carry it out. @internal */
export interface HostPlanPart {
  reached: ReachedHost;
  /** The models of the host (hashed with the host's key) that the plan covers. */
  models: ModelSpec[];
  changes: HostedChange[];
  gpuIndices: number[];
  hashKey: string;
  /** Names its models need that containers not the stack's hold (the plan refuses). */
  conflicts: NameConflict[];
  /** Replicas of `gpus: auto` models that fit on no GPU of the host, each with why (`up` refuses). */
  unplaced: string[];
}

/**
 * The plan on every host at once, and each host's part. A host that cannot be reached is
 * reported (event `host-failed`) and has no part. A container name a model needs that a
 * container not the stack's holds (a model of another stack with the same key) is bad input:
 * `up` would fail half-way on it. @internal
 * @throws ContainerNameConflictError naming each such container and whose it is
 */
export async function planOnHosts(
  ctx: StackContext,
  options: PlanOptions & { requireDefault?: boolean; reached?: { reached: ReachedHost[]; failed: HostFailure[] } } = {},
): Promise<{ plan: Omit<StackPlan, 'services'>; parts: HostPlanPart[]; failed: HostFailure[] }> {
  const connected = await (options.reached ?? reachHosts(ctx, { requireDefault: options.requireDefault, distinct: true }));
  const { config } = ctx;
  const models = selectedModels(config, options.models, ctx.cwd);
  // Idle models that nothing could wake are refused here, before anything changes.
  requireWakePath(config, { env: ctx.env, hasWatcherProgram: Boolean(ctx.watcherProgram) });
  requireCapacitySupport(config, { env: ctx.env, hasWatcherProgram: Boolean(ctx.watcherProgram) });
  const { reached, failed } = connected;
  const planned = await onEachHost(ctx, reached, (r) => planHost(ctx, r, models, options));
  const parts = planned.results.map((r) => r.value);
  const conflicts = parts.flatMap((p) => p.conflicts.map((c) => ({ ...c, host: p.reached.host.name })));
  if (conflicts.length > 0) throw nameConflictError(ctx, conflicts);
  const unplanned = [...failed, ...planned.failed];
  const changes = parts.flatMap((p) => p.changes);
  const several = hasSeveralHosts(config);
  const gpus = several ? mergeGpuMaps(parts.map((p) => ({ host: p.reached.host.name, map: gpuMap(p.changes, p.gpuIndices) }))) : gpuMap(changes, parts[0]?.gpuIndices ?? []);
  const hosts: HostPlanStatus[] = hostsOf(config).map((h) => {
    const f = unplanned.find((x) => x.host === h.name);
    return f ? { host: h.name, ok: false, error: f.error, ...(f.hint ? { hint: f.hint } : {}) } : { host: h.name, ok: true };
  });
  // After reaching the hosts: their addresses are IP addresses now (see hosts.ts).
  const warnings = [
    ...exposureWarnings(ctx.config, ctx.env),
    ...parts.flatMap((p) => p.unplaced.map((u) => `${several ? `host ${p.reached.host.name}: ` : ''}${u}: serve up refuses to start it`)),
  ];
  return { plan: { stack: ctx.name, changes, hasChanges: planHasChanges(changes), gpus, hosts, warnings, notes: addressNotes(ctx) }, parts, failed: unplanned };
}

/**
 * What `up` would do to the models (from one container listing per host) and to the services
 * (see services/plan.ts). Changes nothing: takes no lock, writes no file, creates no
 * container.
 */
export async function plan(ctx: StackContext, options: PlanOptions = {}): Promise<StackPlan> {
  const { plan: models, parts } = await planOnHosts(ctx, options);
  const { services, warnings } = await planServices(ctx, parts.map((p) => ({ reached: p.reached, models: p.models })));
  return { ...models, services, hasChanges: models.hasChanges || serviceChanges(services), warnings: [...models.warnings, ...warnings] };
}

async function planHost(ctx: StackContext, reached: ReachedHost, selected: readonly ModelSpec[], options: PlanOptions): Promise<HostPlanPart> {
  const { config } = ctx;
  const host = reached.host;
  const keys = selected.filter((m) => hostOf(m) === host.name).map((m) => m.key);
  // This machine's GPUs (nvidia-smi), when the default host's daemon runs here and some model
  // has or had `gpus: all` (what it covers); another host's are asked by `up` (a short
  // container), not by a plan. Other plans need no GPU list, and start faster without it.
  const coversAll = (c: ModelContainer) => c.gpus !== undefined && parseGpuLabel(c.gpus).kind === 'all';
  const [hashKey, { mine: containers, daemon }, early] = await Promise.all([
    hostHashKey(ctx, reached),
    stackContainersForPlan(ctx, keys, { host: host.name, docker: reached.docker }),
    host.local && selected.some((m) => hostOf(m) === host.name && (m.gpus.kind === 'all' || placed(m))) ? ctx.localGpus() : undefined,
  ]);
  const gpus = early ?? (host.local && containers.some(coversAll) ? await ctx.localGpus() : ('unavailable' as const));
  const models = modelsOnHost(selected, host.name, hashKey, ctx.hashKey);
  // What `gpus: all` covers, when the host's GPUs are known.
  const gpuIndices = gpus === 'unavailable' ? [] : gpus.map((g) => g.index);
  const publishOn = publishAddress(host);
  // One spec per replica: the replicas a model asks for, and those of a scaling model that run.
  const replicas = models.flatMap((m) => replicaSpecs(m, replicaIndices(m, containers.filter((c) => c.key === m.key && c.state === 'running').map((c) => c.replica))));
  const changes = planModels(replicas, containers, {
    removeOrphans: !options.models?.length,
    forceRecreate: options.forceRecreate,
    network: config.network,
    ...(host.local ? { privateNetwork: privateNetworkName(ctx.name) } : {}),
    gpuIndices,
    ...(publishOn ? { publishOn } : {}),
    // A selected model that runs elsewhere now: its container here goes.
    elsewhere: new Set(selected.filter((m) => hostOf(m) !== host.name).map((m) => m.key)),
  });
  const conflicts = nameConflicts(replicas, containers, daemon);
  // The replicas of a `gpus: auto` model with several go where the GPUs have room (see models/placement.ts).
  const replacing = new Set(changes.flatMap((c) => (c.action === 'recreate' ? [replicaId(c.key, c.replica)] : [])));
  const placement = placeOnHost(host.name, host.local ? gpus : 'unavailable', replicas.filter((r) => r.gpus.kind !== 'auto' || placed(r)), containers, replacing);
  const withPlaces = changes.map((c): ModelChange & { placement?: string } => {
    const where = 'spec' in c ? placement.placed.get(replicaId(c.key, c.replica)) : undefined;
    if (!where) return c;
    const inPlace = where.inPlace && c.action === 'recreate' ? { strategy: 'in-place' as const, why: 'no other GPUs have room for the new container beside the old one' } : {};
    return { ...c, ...(c.action === 'create' || c.action === 'recreate' ? { gpuDevices: where.gpus } : {}), ...inPlace, placement: where.reason };
  });
  return { reached, models, changes: withPlaces.map((c) => hosted(c, host)), gpuIndices, hashKey, conflicts, unplaced: placement.unplaced };
}

/** One line per taken name, saying whose container holds it, and what to do. */
function nameConflictError(ctx: StackContext, conflicts: readonly NameConflictOnHost[]): ContainerNameConflictError {
  const several = hasSeveralHosts(ctx.config);
  const shown = (file: string) => {
    const rel = relative(ctx.cwd, file);
    return rel && !rel.startsWith('..') ? rel : file;
  };
  const details = conflicts.map((c) => {
    const at = `${shown(c.spec.source.file)}:${c.spec.source.line}`;
    const where = several ? ` on host ${c.host}` : '';
    const what = c.name === c.spec.containerName ? 'its container name' : 'the name of its replacement';
    const holder =
      c.stack !== undefined
        ? `${c.model ? 'a model container' : 'a container'} of stack ${c.stack} (${c.container.id.slice(0, 12)})`
        : c.model
          ? `a model container of the old tool that this stack does not adopt (${c.container.id.slice(0, 12)})`
          : `container ${c.container.id.slice(0, 12)} (image ${c.container.image}), which is not serve's`;
    return `${at}: model "${c.spec.key}" of stack ${ctx.name} needs ${what} ${c.name}${where}, held by ${holder}`;
  });
  const others = [...new Set(conflicts.flatMap((c) => (c.stack !== undefined ? [c.stack] : [])))];
  const hints: string[] = [];
  if (others.length > 0) {
    hints.push(
      `rename the model's key in one of the stacks (its container is named after the key); ${others.map((o) => `stack ${o}`).join(' and ')} ${others.length === 1 ? 'is' : 'are'} left as ${others.length === 1 ? 'it is' : 'they are'}`,
    );
  }
  if (conflicts.some((c) => c.stack === undefined)) hints.push('rename or remove that container, or rename the model\'s key');
  return new ContainerNameConflictError(ctx.name, conflicts, { details, hint: hints.join('; ') });
}

/** Whether serve places a model's replicas on GPUs itself: `gpus: auto` with more than one replica (one alone asks Docker for a count). */
function placed(m: ModelSpec): boolean {
  return m.gpus.kind === 'auto' && m.replicas.max > 1;
}

function hosted(change: ModelChange & { placement?: string }, host: HostSpec): HostedChange {
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
