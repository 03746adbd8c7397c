import {
  applyModelPlan,
  checkGpuPlacement,
  claimContainers,
  detectGpusViaDocker,
  ensureStackIdentity,
  formatGpuProblems,
  inspectImage,
  type GpuInfo,
  type ModelChange,
  type ModelOutcome,
  type StackIdentity,
} from '@inferstack/docker-ops';
import type { ModelSpec } from '@inferstack/config';
import type { StackContext } from '../context.js';
import { GpuPreflightError } from '../errors.js';
import { publishAddress, reachHosts, type ReachedHost } from '../hosts/hosts.js';
import { hostGpus } from '../hosts/gpus.js';
import { syncIntegrations, type SyncResult } from '../sync/sync.js';
import { withHostLocks } from '../hosts/lock.js';
import { handOver } from '../models/drain.js';
import type { WeightsLookup } from '../models/weights.js';
import { planOnHosts, type HostedChange, type HostPlanPart, type HostPlanStatus } from './plan.js';
import { selectedModels } from '../models/select.js';
import { gatewayStarted, requireGatewayKey } from '../services/gateway.js';
import { ensureOtherHostServices } from '../services/host-services.js';
import { ensureServices, wantedServices, type ServiceOutcome } from '../services/registry.js';
import { privateNetworkName } from '../models/networks.js';
import { requireCapacitySupport } from '../models/capacity.js';
import { requireWakePath } from '../watcher/wake-path.js';

/** Options of `up`. */
export interface UpOptions {
  /** Only these models (others are neither started nor removed). @default every model */
  models?: readonly string[];
  /** Recreate the models even when unchanged. @default false */
  forceRecreate?: boolean;
  /** Plan only: nothing is changed, no lock is taken. @default false */
  dryRun?: boolean;
  /** How long each model gets to be ready. @default 3_600_000 */
  readyTimeoutMs?: number;
  /** How long a replaced or removed model gets to finish its requests before it stops. @default 60_000 */
  drainTimeoutMs?: number;
}

/** What `up` did. */
export interface UpResult {
  /** Everything asked for was done: every host reached, every model ready, every service and sync fine. */
  ok: boolean;
  /** The signal was aborted: what was started and not ready was removed again. */
  interrupted: boolean;
  /** The plan that was carried out (or would be, in a dry run), each change with its host. */
  plan: HostedChange[];
  /** Per model; empty in a dry run. */
  models: ModelOutcome[];
  /** The services; those of other hosts than the default one (the exporters) carry their `host`. */
  services: Array<ServiceOutcome & { host?: string }>;
  /** The gateway and Prometheus sync; absent in a dry run or when interrupted. */
  sync?: SyncResult;
  /** Each Docker host: done, or why not (it could not be reached: its models were left as they are). */
  hosts: HostPlanStatus[];
  elapsedMs: number;
}

/**
 * Make the running stack match the config: the infrastructure services, then the models
 * (created, recreated when their spec changed, started, or removed when no longer configured),
 * then the gateway and Prometheus pointed at the models that serve. With several Docker hosts,
 * each is worked on at once; one that cannot be reached is reported and the others go on. Holds
 * the stack's lock (on every host) while it changes anything.
 */
export async function up(ctx: StackContext, options: UpOptions = {}): Promise<UpResult> {
  const started = Date.now();
  const { config } = ctx;
  // Bad input is found before anything is touched (not even the lock or the stack's identity).
  selectedModels(config, options.models, ctx.cwd);
  requireGatewayKey(config);
  requireWakePath(config, { env: ctx.env, hasWatcherProgram: Boolean(ctx.watcherProgram) });
  requireCapacitySupport(config, { env: ctx.env, hasWatcherProgram: Boolean(ctx.watcherProgram) });
  const planOptions = { models: options.models, forceRecreate: options.forceRecreate, requireDefault: true };
  if (options.dryRun) {
    const { plan } = await planOnHosts(ctx, planOptions);
    return { ok: plan.hosts.every((h) => h.ok), interrupted: false, plan: plan.changes, models: [], services: [], hosts: plan.hosts, elapsedMs: Date.now() - started };
  }

  const hostsReached = await reachHosts(ctx, { requireDefault: true, distinct: true });
  return withHostLocks(ctx, hostsReached.reached, `serve up ${options.models?.join(' ') ?? ''}`.trim(), async (locked) => {
    const planLocked = () => planOnHosts(ctx, { ...planOptions, reached: { reached: locked, failed: [...ctx.hostFailures.values()] } });
    // The plan first: what it refuses (a container name another stack holds) leaves nothing
    // made, not even the identity of a new stack. It plans with the identity there is.
    let planned = await planLocked();
    const plannedWith = { key: ctx.hashKey, config: ctx.config };
    // The stack's key and home, recorded on its first up: every later run plans with them. Each
    // other host gets the stack's identity too (the same key), so that it plans the same.
    const identity = await ctx.ensureIdentity();
    const identities = await hostIdentities(ctx, locked, identity);
    // Another run made the identity first, with its own key or home: plan again with those.
    if (ctx.hashKey !== plannedWith.key || ctx.config !== plannedWith.config) planned = await planLocked();
    const { plan, parts } = planned;
    // Replicas of `gpus: auto` models that fit on no GPU: refused before anything starts.
    const unplaced = parts.flatMap((p) => p.unplaced.map((u) => (parts.length > 1 ? `host ${p.reached.host.name}: ${u}` : u)));
    if (unplaced.length > 0) throw new GpuPreflightError('some replicas fit on no GPU; nothing was started', { details: unplaced });
    // What `plan` warns about (open models, a Docker API without TLS) is said here too.
    for (const message of plan.warnings) ctx.emit({ type: 'note', level: 'warn', message });
    const gpus = gpusOfHosts(ctx, parts);
    await gpuPreflight(ctx, parts, gpus);

    // Each starting model's weights into its cache (unless pull: never), while the services start.
    // Loaded only then: a run that starts nothing does not need the weights code.
    const pulls = parts.some((p) => p.changes.some((c) => (c.action === 'create' || c.action === 'recreate' || c.action === 'start') && c.spec.pullPolicy !== 'never'));
    const weights: Promise<WeightsLookup> = pulls ? import('../models/weights.js').then((m) => m.weightsFirst(ctx, parts)) : Promise.resolve(() => undefined);
    weights.catch(() => {});
    // The exporters of the other hosts first: prometheus.yml names the ports they publish.
    const otherServices = await ensureOtherHostServices(ctx, locked, (host) => gpus(host));
    const services = await ensureServices(ctx, await wantedServices(ctx));
    const gatewayFailed = services.some((s) => s.service === 'gateway' && !s.ok);
    // A watcher that runs already learns the config now (models that sleep, swap groups, keys):
    // it puts away and wakes by it, and tells the gateway's wake hook which models it knows.
    await reloadWatcher(ctx);

    const pulled = await weights;
    const perHost = await Promise.all(
      parts.map(async (part) => {
        const publishOn = publishAddress(part.reached.host);
        const applyOptions: Parameters<typeof applyModelPlan>[2] = {
          network: config.network,
          // Models with vLLM's unprotected development routes (sleep mode) live on the stack's private network.
          ...(part.reached.host.local ? { privateNetwork: privateNetworkName(ctx.name) } : {}),
          extraLabels: ctx.labels,
          ...(publishOn ? { publishOn } : {}),
          // From here, only the default host's containers are reachable by their address (when its daemon runs here).
          probe: part.reached.host.local && ctx.local ? 'http' : 'healthcheck',
          readyTimeoutMs: options.readyTimeoutMs,
          signal: ctx.signal,
          onEvent: ctx.emit,
          // Before a serving container stops: traffic moves off it (to its replacement), then it drains.
          handOver: (old, next) => handOver(ctx, old, next, options.drainTimeoutMs),
          reroute: async (next) => {
            const sync = await syncIntegrations(ctx, { readyIds: new Set([next.id]) });
            if (sync.gateway.ok) ctx.emit({ type: 'routed', key: next.key });
          },
        };
        // A model whose weights could not be pulled does not start; the others start offline
        // where their weights are in the cache.
        const refused: ModelOutcome[] = [];
        const changes = part.changes.flatMap((c): HostedChange[] => {
          if (c.action !== 'create' && c.action !== 'recreate' && c.action !== 'start') return [c];
          const w = pulled(part.reached.host.name, c.key);
          if (!w) return [c];
          if (!w.ok) {
            const failure = { message: w.message, ...(w.hint ? { hint: w.hint } : {}), reason: 'docker' as const };
            ctx.emit({ type: 'failed', key: c.key, ...(c.replica ? { replica: c.replica } : {}), error: failure });
            refused.push({ key: c.key, ...(c.replica ? { replica: c.replica } : {}), action: c.action, outcome: 'failed', failure });
            return [];
          }
          return [c.action !== 'start' && Object.keys(w.startEnv).length > 0 ? { ...c, startEnv: w.startEnv } : c];
        });
        // Members of a swap group share their GPUs: each starts once the others of its group sleep.
        const { together, oneByOne } = swapGroupOrder(changes);
        const done = [...refused, ...(await applyModelPlan(part.reached.docker, together, applyOptions))];
        for (const change of oneByOne) {
          if (ctx.signal.aborted) break;
          const evicted = await putGroupPeersAway(ctx, change.spec, options.drainTimeoutMs);
          if (!evicted.ok) {
            const failure = { message: `${change.key} was not started: ${evicted.error}`, hint: 'try again once its swap-group peer has finished its requests', reason: 'docker' as const };
            ctx.emit({ type: 'failed', key: change.key, error: failure });
            done.push({ key: change.key, action: change.action, outcome: 'failed', failure });
            continue;
          }
          done.push(...(await applyModelPlan(part.reached.docker, [change], applyOptions)));
        }
        return done;
      }),
    );
    const models = perHost.flat();
    // Containers of the old tool this stack keeps are now its own: no other stack takes them.
    await Promise.all(
      parts.map(async (part) => {
        const adopted = part.changes
          .filter((c) => (c.action === 'keep' || c.action === 'start') && c.container.stack === undefined)
          .map((c) => (c as { container: { id: string } }).container.id);
        const own = identities.get(part.reached.host.name);
        if (adopted.length > 0 && own) await claimContainers(part.reached.docker, own, adopted, ctx.labels);
      }),
    );
    const interrupted = ctx.signal.aborted;
    // Register only what is ready; a model that failed is not routed to.
    const sync = interrupted
      ? undefined
      : await syncIntegrations(ctx, {
          readyIds: new Set(models.flatMap((o) => (o.outcome === 'done' && o.containerId ? [o.containerId] : []))),
          gatewayJustStarted: gatewayStarted(services),
          skipGateway: gatewayFailed,
        });
    const allServices = [...otherServices, ...services] as Array<ServiceOutcome & { host?: string }>;
    // Every host that failed anywhere in this call (unreachable, lock, plan): its models were not touched.
    const hosts = plan.hosts.map((h): HostPlanStatus => {
      const f = ctx.hostFailures.get(h.host);
      return f ? { host: h.host, ok: false, error: f.error, ...(f.hint ? { hint: f.hint } : {}) } : h;
    });
    const ok =
      !interrupted &&
      hosts.every((h) => h.ok) &&
      models.every((o) => o.outcome === 'done') &&
      allServices.every((s) => s.ok) &&
      (sync?.ok ?? true);
    return { ok, interrupted, plan: plan.changes, models, services: allServices, ...(sync ? { sync } : {}), hosts, elapsedMs: Date.now() - started };
  });
}

/** The stack's identity on each host: the default host's, and the same key recorded on the others. */
async function hostIdentities(ctx: StackContext, locked: readonly ReachedHost[], identity: StackIdentity): Promise<Map<string, StackIdentity>> {
  const out = new Map<string, StackIdentity>();
  await Promise.all(
    locked.map(async (r) => {
      if (r.host.local) return void out.set(r.host.name, identity);
      out.set(r.host.name, await ensureStackIdentity(r.docker, ctx.name, { hashKey: ctx.hashKey, home: identity.home, extraLabels: ctx.labels }));
    }),
  );
  return out;
}

/**
 * Each host's GPUs, asked once per run (the plan may have asked already) and only when needed (a
 * model that starts on GPUs, an exporter that asks): see hosts/gpus.ts.
 */
function gpusOfHosts(ctx: StackContext, parts: readonly HostPlanPart[]): (host: string) => Promise<GpuInfo[] | 'unavailable'> {
  return (name) => {
    const part = parts.find((p) => p.reached.host.name === name);
    if (!part) return Promise.resolve('unavailable');
    return hostGpus(ctx, part.reached, part.models.filter((m) => m.gpus.kind !== 'none').map((m) => m.image));
  };
}

/**
 * Before anything starts: on every host, every listed GPU exists and the requested memory fits
 * what is free now (as vLLM checks at start). Where no GPU answers (no NVIDIA runtime), skipped.
 */
async function gpuPreflight(ctx: StackContext, parts: readonly HostPlanPart[], gpusOf: (host: string) => Promise<GpuInfo[] | 'unavailable'>): Promise<void> {
  const problems = await Promise.all(
    parts.map(async (part) => {
      const changes = part.changes;
      const starting = changes.filter((c): c is Extract<ModelChange, { spec: unknown }> & HostedChange => c.action === 'create' || c.action === 'recreate' || c.action === 'start');
      if (!starting.some((c) => c.spec.gpus.kind !== 'none')) return [];
      const gpus = await gpusOf(part.reached.host.name);
      if (gpus === 'unavailable') {
        ctx.emit({ type: 'note', level: 'debug', message: `nvidia-smi did not answer on host ${part.reached.host.name} (no GPU, no NVIDIA runtime, or no image yet): GPU pre-flight skipped there` });
        return [];
      }
      const found = checkGpuPlacement({
        gpus,
        models: starting.map((c) => c.spec),
        replacing: changes.filter((c): c is Extract<ModelChange, { action: 'recreate' }> & HostedChange => c.action === 'recreate').map((c) => c.spec),
      });
      const lines = formatGpuProblems(found);
      return parts.length > 1 ? lines.map((l) => `host ${part.reached.host.name}: ${l}`) : lines;
    }),
  );
  const details = problems.flat();
  if (details.length > 0) throw new GpuPreflightError('GPU pre-flight failed; nothing was started', { details });
}

type StartingChange = Extract<ModelChange, { action: 'create' | 'recreate' | 'start' }>;

/**
 * The changes that may run at once, and the swap-group members that start one after the other
 * (each once the others of its group sleep): every starting member of a group that has another
 * member running or starting.
 */
export function swapGroupOrder(changes: readonly ModelChange[]): { together: ModelChange[]; oneByOne: StartingChange[] } {
  const starting = (c: ModelChange): c is StartingChange => c.action === 'create' || c.action === 'recreate' || c.action === 'start';
  const members = new Map<string, number>();
  for (const c of changes) {
    const group = 'spec' in c ? c.spec.swapGroup : undefined;
    const present = starting(c) || (c.action === 'keep' && c.container.state === 'running');
    if (group && present) members.set(group, (members.get(group) ?? 0) + 1);
  }
  const oneByOne = changes.filter((c): c is StartingChange => starting(c) && c.spec.swapGroup !== undefined && (members.get(c.spec.swapGroup) ?? 0) > 1);
  return { together: changes.filter((c) => !oneByOne.includes(c as StartingChange)), oneByOne };
}

/**
 * Put the other members of `spec`'s swap group away before `spec` starts (its GPU is theirs
 * too). The watcher owns putting models away: when one runs, it does it (and so knows that they
 * sleep); when none does, the same code runs here. A member that is still busy after the drain
 * is left serving, and `spec` is not started.
 */
async function putGroupPeersAway(ctx: StackContext, spec: ModelSpec, drainTimeoutMs?: number): Promise<{ ok: true } | { ok: false; error: string }> {
  const { askWatcher, runningWatcher } = await import('../watcher/client.js');
  const running = await runningWatcher(ctx);
  if (running) {
    const answer = await askWatcher(running, 'POST', '/evict', { model: spec.key }, (drainTimeoutMs ?? 60_000) + 60_000).catch((error: Error) => ({ status: 0, body: { error: error.message } }));
    if (answer.status === 200) return { ok: true };
    // A watcher that does not know the model yet (it was started before this config) cannot
    // have woken its peers for it either: fall through to doing it here only then.
    if (answer.status !== 404) return { ok: false, error: String(answer.body.error ?? `the watcher answered ${answer.status}`) };
  }
  const { createWatcher } = await import('../watcher/watcher.js');
  const result = await createWatcher(ctx).evictPeersOf(spec.key, { drainMs: drainTimeoutMs ?? 60_000 });
  return result.ok ? { ok: true } : { ok: false, error: result.error };
}

/** Have a running watcher read the config again; said as a note when it cannot. */
async function reloadWatcher(ctx: StackContext): Promise<void> {
  const { askWatcher, runningWatcher } = await import('../watcher/client.js');
  const running = await runningWatcher(ctx);
  if (!running) return;
  const answer = await askWatcher(running, 'POST', '/reload', undefined, 30_000).catch((error: Error) => ({ status: 0, body: { error: error.message } }));
  if (answer.status !== 200) {
    ctx.emit({ type: 'note', level: 'warn', message: `the stack's watcher did not read the new config (${String(answer.body.error ?? answer.status)}): it looks after the models it knew until it restarts` });
  }
}
