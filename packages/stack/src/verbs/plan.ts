import { relative } from 'node:path';
import { parseGpuLabel, type HostSpec, type ModelSpec } from '@inferstack/config';
import { gpuMap, nameConflicts, planHasChanges, planModels, replicaIndices, replicaLabel, replicaSpecs, type DaemonContainers, type GpuInfo, type GpuLoad, type GpuMap, type ModelChange, type ModelContainer, type NameConflict } from '@inferstack/docker-ops';
import { stackContainersForPlan } from '../models/containers.js';
import type { StackContext } from '../context.js';
import { ContainerNameConflictError, type NameConflictOnHost } from '../errors.js';
import { addressNotes, exposureWarnings, hasSeveralHosts, hostHashKey, hostOf, hostsOf, hostsOfModel, modelsOnHost, onEachHost, publishAddress, reachHosts, type HostFailure, type ReachedHost } from '../hosts/hosts.js';
import { privateNetworkName } from '../models/networks.js';
import { isPlaced, placeReplicas, replicaId, type Placement, type PlacementView } from '../models/placement.js';
import { hostGpus } from '../hosts/gpus.js';
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
  // What each host has (containers, GPUs where placement needs them), then where the `gpus: auto`
  // replicas go over all of them, then each host's plan.
  const gathered = await onEachHost(ctx, reached, (r) => readHost(ctx, r, models));
  const views = gathered.results.map((r) => r.value);
  const placement = placeOverHosts(ctx, views, models, options);
  const planned = await onEachHost(ctx, views.map((v) => v.reached), async (r) => planHost(ctx, views.find((v) => v.reached === r)!, models, placement, options));
  const parts = planned.results.map((r) => r.value);
  const conflicts = parts.flatMap((p) => p.conflicts.map((c) => ({ ...c, host: p.reached.host.name })));
  if (conflicts.length > 0) throw nameConflictError(ctx, conflicts);
  const unplanned = [...failed, ...gathered.failed, ...planned.failed];
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
    ...placement.waiting,
  ];
  return { plan: { stack: ctx.name, changes, hasChanges: planHasChanges(changes), gpus, hosts, warnings, notes: addressNotes(ctx) }, parts, failed: unplanned };
}

/**
 * What `up` would do to the models (from one container listing per host) and to the services
 * (see services/plan.ts). Changes nothing: takes no lock, writes no file, creates no
 * container but one: where a `gpus: auto` model may go to another host than this machine's,
 * that host's GPUs are read with a short probe container (labelled, removed at once).
 */
export async function plan(ctx: StackContext, options: PlanOptions = {}): Promise<StackPlan> {
  const { plan: models, parts } = await planOnHosts(ctx, options);
  const { services, warnings } = await planServices(ctx, parts.map((p) => ({ reached: p.reached, models: p.models })));
  return { ...models, services, hasChanges: models.hasChanges || serviceChanges(services), warnings: [...models.warnings, ...warnings] };
}

/** What one host has: its key, the stack's containers of the models that may run there, and its GPUs where placement or `gpus: all` needs them. */
interface HostView {
  reached: ReachedHost;
  hashKey: string;
  containers: ModelContainer[];
  daemon: DaemonContainers;
  gpus: GpuInfo[] | 'unavailable';
  /** The models that may run there, hashed with the host's key. */
  models: ModelSpec[];
}

async function readHost(ctx: StackContext, reached: ReachedHost, selected: readonly ModelSpec[]): Promise<HostView> {
  const host = reached.host;
  const mayRun = selected.filter((m) => hostsOfModel(m).includes(host.name));
  // The GPUs, when some model here has `gpus: all` (what it covers) or is placed by serve: this
  // machine's nvidia-smi for the default host when its daemon runs here, else a short container
  // (models/placement.ts). Other plans need no GPU list, and start faster without it.
  const coversAll = (c: ModelContainer) => c.gpus !== undefined && parseGpuLabel(c.gpus).kind === 'all';
  const images = mayRun.filter((m) => m.gpus.kind !== 'none').map((m) => m.image);
  const [hashKey, { mine: containers, daemon }, early] = await Promise.all([
    hostHashKey(ctx, reached),
    stackContainersForPlan(ctx, mayRun.map((m) => m.key), { host: host.name, docker: reached.docker }),
    mayRun.some(isPlaced) ? hostGpus(ctx, reached, images) : host.local && mayRun.some((m) => m.gpus.kind === 'all') ? ctx.localGpus() : undefined,
  ]);
  const gpus = early ?? (host.local && containers.some(coversAll) ? await ctx.localGpus() : ('unavailable' as const));
  return { reached, hashKey, containers, daemon, gpus, models: modelsOnHost(mayRun, host.name, hashKey, ctx.hashKey) };
}

/** How a host's models are compared with their containers (what a container's drift is measured against). */
function modelPlanOptions(ctx: StackContext, host: HostSpec, options: PlanOptions) {
  const publishOn = publishAddress(host);
  return {
    forceRecreate: options.forceRecreate,
    network: ctx.config.network,
    ...(host.local ? { privateNetwork: privateNetworkName(ctx.name) } : {}),
    ...(publishOn ? { publishOn } : {}),
  };
}

/** One spec per replica of a model on a host: the replicas it asks for, and those of a scaling model that run. */
function replicasOn(m: ModelSpec, containers: readonly ModelContainer[]): ModelSpec[] {
  return replicaSpecs(m, replicaIndices(m, containers.filter((c) => c.key === m.key && c.state === 'running').map((c) => c.replica)));
}

/** Where the replicas serve places go, over every host read; and the replicas left alone because a host they may run on was not read. */
interface HostsPlacement extends Placement {
  /** `key#replica` of replicas not placed now (a host of theirs could not be read): no host plans them. */
  skipped: Set<string>;
  /** Warnings for those. */
  waiting: string[];
}

function placeOverHosts(ctx: StackContext, views: readonly HostView[], selected: readonly ModelSpec[], options: PlanOptions): HostsPlacement {
  const read = new Set(views.map((v) => v.reached.host.name));
  const placedModels = selected.filter(isPlaced);
  if (placedModels.length === 0) return { placed: new Map(), unplaced: [], skipped: new Set(), waiting: [] };
  const all = views.flatMap((v) => v.containers);
  // Which replicas are replaced where they run (the old container holds its GPUs meanwhile): a
  // first plan of each host with the replicas that run there.
  const pviews: PlacementView[] = views.map((v) => {
    const here = v.models.flatMap((m) => {
      const replicas = replicasOn(m, all);
      return isPlaced(m) ? replicas.filter((r) => v.containers.some((c) => c.key === r.key && c.replica === (r.replica ?? 0))) : hostOf(m) === v.reached.host.name ? replicas : [];
    });
    const changes = planModels(here, v.containers, modelPlanOptions(ctx, v.reached.host, options));
    return {
      name: v.reached.host.name,
      gpus: v.gpus,
      fixed: here.filter((r) => !isPlaced(r)),
      containers: v.containers,
      replacing: new Set(changes.flatMap((c) => (c.action === 'recreate' ? [replicaId(c.key, c.replica)] : []))),
    };
  });
  const skipped = new Set<string>();
  const waiting: string[] = [];
  const auto: ModelSpec[] = [];
  for (const m of placedModels) {
    const unread = hostsOfModel(m).filter((h) => !read.has(h));
    for (const r of replicasOn(m, all)) {
      const runs = all.some((c) => c.key === r.key && c.replica === (r.replica ?? 0));
      // A replica that may run on a host not read now, and runs on none read: it may serve there.
      if (unread.length > 0 && !runs) {
        skipped.add(replicaId(r.key, r.replica));
        waiting.push(`${replicaLabel(r.key, r.replica)} may run on ${unread.join(', ')}, which could not be reached: placed once it can be (it may serve there)`);
      } else auto.push(r);
    }
  }
  return { ...placeReplicas(pviews, auto), skipped, waiting };
}

async function planHost(ctx: StackContext, view: HostView, selected: readonly ModelSpec[], placement: HostsPlacement, options: PlanOptions): Promise<HostPlanPart> {
  const { reached, containers, gpus, hashKey, daemon } = view;
  const host = reached.host;
  // What `gpus: all` covers, when the host's GPUs are known.
  const gpuIndices = gpus === 'unavailable' ? [] : gpus.map((g) => g.index);
  // One spec per replica planned here: a model's on its host; a placed model's where placement
  // put each (one that fits nowhere on its first host, which up refuses).
  const unplaced = new Set(placement.unplaced.map((u) => replicaId(u.key, u.replica)));
  const replicas = view.models.flatMap((m) =>
    replicasOn(m, containers).filter((r) => {
      if (!isPlaced(m)) return hostOf(m) === host.name;
      const id = replicaId(r.key, r.replica);
      if (placement.skipped.has(id)) return false;
      return placement.placed.get(id)?.host === host.name || (unplaced.has(id) && hostOf(m) === host.name);
    }),
  );
  const planned = new Set(replicas.map((r) => r.key));
  const models = view.models.filter((m) => planned.has(m.key));
  const changes = planModels(replicas, containers, {
    ...modelPlanOptions(ctx, host, options),
    removeOrphans: !options.models?.length,
    gpuIndices,
    // A selected model none of whose replicas is planned here: its containers here go.
    elsewhere: new Set(selected.filter((m) => !planned.has(m.key)).map((m) => m.key)),
  });
  // A placed model's replica whose container is here and that now goes elsewhere (or not at
  // all) is removed for that reason; one of a replica not placed now stays.
  const count = (key: string) => selected.find((m) => m.key === key)?.replicas.max ?? 0;
  const kept = changes.filter((c) => !(c.action === 'remove' && placement.skipped.has(replicaId(c.key, c.replica))));
  const reasoned = kept.map((c): ModelChange => {
    if (c.action !== 'remove' || (c.reason !== 'scaled-down' && c.reason !== 'other-host')) return c;
    const model = selected.find((m) => m.key === c.key);
    if (!model || !isPlaced(model)) return c;
    return { ...c, reason: (c.replica ?? 0) < count(c.key) ? 'other-host' : 'scaled-down' };
  });
  const conflicts = nameConflicts(replicas, containers, daemon);
  const withPlaces = reasoned.map((c): ModelChange & { placement?: string } => {
    const where = 'spec' in c ? placement.placed.get(replicaId(c.key, c.replica)) : undefined;
    if (!where || where.host !== host.name) return c;
    const inPlace = where.inPlace && c.action === 'recreate' ? { strategy: 'in-place' as const, why: 'no other GPUs have room for the new container beside the old one' } : {};
    return { ...c, ...(c.action === 'create' || c.action === 'recreate' ? { gpuDevices: where.gpus } : {}), ...inPlace, placement: where.reason };
  });
  const mine = placement.unplaced.filter((u) => replicas.some((r) => r.key === u.key && (r.replica ?? 0) === u.replica)).map((u) => u.why);
  return { reached, models, changes: withPlaces.map((c) => hosted(c, host)), gpuIndices, hashKey, conflicts, unplaced: mine };
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
