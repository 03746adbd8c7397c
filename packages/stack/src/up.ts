import {
  applyModelPlan,
  checkGpuPlacement,
  claimContainers,
  detectGpusViaDocker,
  formatGpuProblems,
  inspectImage,
  sleepModel,
  sleepState,
  waitUntilDrained,
  type GpuInfo,
  type ModelChange,
  type ModelOutcome,
} from '@inferstack/docker-ops';
import type { ModelSpec } from '@inferstack/config';
import { stackContainers } from './containers.js';
import type { StackContext } from './context.js';
import { GpuPreflightError } from './errors.js';
import { syncIntegrations, type SyncResult } from './integrations.js';
import { withLock } from './lock.js';
import { handOver } from './drain.js';
import { plan } from './plan.js';
import { selectedModels } from './select.js';
import { gatewayStarted, requireGatewayKey } from './services/gateway.js';
import { ensureServices, wantedServices, type ServiceOutcome } from './services/registry.js';
import { requireWakePath } from './watcher/wake-hook.js';

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
  /** Everything asked for was done: every model ready, every service and sync fine. */
  ok: boolean;
  /** The signal was aborted: what was started and not ready was removed again. */
  interrupted: boolean;
  /** The plan that was carried out (or would be, in a dry run). */
  plan: ModelChange[];
  /** Per model; empty in a dry run. */
  models: ModelOutcome[];
  services: ServiceOutcome[];
  /** The gateway and Prometheus sync; absent in a dry run or when interrupted. */
  sync?: SyncResult;
  elapsedMs: number;
}

/**
 * Make the running stack match the config: the infrastructure services, then the models
 * (created, recreated when their spec changed, started, or removed when no longer configured),
 * then the gateway and Prometheus pointed at the models that serve. Holds the daemon's lock
 * while it changes anything.
 */
export async function up(ctx: StackContext, options: UpOptions = {}): Promise<UpResult> {
  const started = Date.now();
  const { config } = ctx;
  // Bad input is found before anything is touched (not even the lock or the stack's identity).
  selectedModels(config, options.models, ctx.cwd);
  requireGatewayKey(config);
  requireWakePath(config);
  const docker = await ctx.docker();
  const planNow = async () => (await plan(ctx, { models: options.models, forceRecreate: options.forceRecreate })).changes;
  if (options.dryRun) return { ok: true, interrupted: false, plan: await planNow(), models: [], services: [], elapsedMs: Date.now() - started };

  return withLock(ctx, `serve up ${options.models?.join(' ') ?? ''}`.trim(), async () => {
    // The stack's key and home, recorded on its first up: every later run plans with them.
    const identity = await ctx.ensureIdentity();
    const changes = await planNow();
    await gpuPreflight(ctx, changes);

    const services = await ensureServices(ctx, await wantedServices(ctx));
    const gatewayFailed = services.some((s) => s.service === 'gateway' && !s.ok);

    const applyOptions: Parameters<typeof applyModelPlan>[2] = {
      network: config.network,
      extraLabels: ctx.labels,
      probe: ctx.local ? 'http' : 'healthcheck',
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
    // Members of a swap group share their GPUs: each starts once the others of its group sleep.
    const { together, oneByOne } = swapGroupOrder(changes);
    const models = await applyModelPlan(docker, together, applyOptions);
    for (const change of oneByOne) {
      if (ctx.signal.aborted) break;
      await sleepGroupPeers(ctx, change.spec);
      models.push(...(await applyModelPlan(docker, [change], applyOptions)));
    }
    // Containers of the old tool this stack keeps are now its own: no other stack takes them.
    const adopted = changes.filter((c) => (c.action === 'keep' || c.action === 'start') && c.container.stack === undefined).map((c) => (c as { container: { id: string } }).container.id);
    if (adopted.length > 0) await claimContainers(docker, identity, adopted, ctx.labels);
    const interrupted = ctx.signal.aborted;
    // Register only what is ready; a model that failed is not routed to.
    const sync = interrupted
      ? undefined
      : await syncIntegrations(ctx, {
          readyIds: new Set(models.flatMap((o) => (o.outcome === 'done' && o.containerId ? [o.containerId] : []))),
          gatewayJustStarted: gatewayStarted(services),
          skipGateway: gatewayFailed,
        });
    const ok = !interrupted && models.every((o) => o.outcome === 'done') && services.every((s) => s.ok) && (sync?.ok ?? true);
    return { ok, interrupted, plan: changes, models, services, ...(sync ? { sync } : {}), elapsedMs: Date.now() - started };
  });
}

/**
 * Before anything starts: every listed GPU exists and the requested memory fits what is free
 * now (as vLLM checks at start). Where no GPU answers (no NVIDIA runtime), skipped.
 */
async function gpuPreflight(ctx: StackContext, changes: readonly ModelChange[]): Promise<void> {
  const starting = changes.filter((c): c is Extract<ModelChange, { spec: unknown }> => c.action === 'create' || c.action === 'recreate' || c.action === 'start');
  const gpuModels = starting.filter((c) => c.spec.gpus.kind !== 'none');
  if (gpuModels.length === 0) return;
  let gpus: GpuInfo[] | 'unavailable';
  if (ctx.local) {
    gpus = await ctx.localGpus();
  } else {
    // A remote daemon: ask a short --gpus all container, with an image already there.
    const docker = await ctx.docker();
    const image = (await Promise.all(gpuModels.map(async (c) => ((await inspectImage(docker, c.spec.image)) ? c.spec.image : undefined)))).find(Boolean);
    gpus = image ? await detectGpusViaDocker(docker, image, { labels: ctx.labels }) : 'unavailable';
  }
  if (gpus === 'unavailable') {
    ctx.emit({ type: 'note', level: 'debug', message: 'nvidia-smi did not answer (no GPU, no NVIDIA runtime, or no image yet): GPU pre-flight skipped' });
    return;
  }
  const problems = checkGpuPlacement({
    gpus,
    models: starting.map((c) => c.spec),
    replacing: changes.filter((c): c is Extract<ModelChange, { action: 'recreate' }> => c.action === 'recreate').map((c) => c.spec),
  });
  if (problems.length > 0) throw new GpuPreflightError('GPU pre-flight failed; nothing was started', { details: formatGpuProblems(problems) });
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

/** Put the running, awake members of `spec`'s swap group to sleep (before `spec` starts). */
async function sleepGroupPeers(ctx: StackContext, spec: ModelSpec): Promise<void> {
  const peers = ctx.config.models.filter((m) => m.swapGroup === spec.swapGroup && m.key !== spec.key);
  const docker = await ctx.docker();
  const reach = { network: ctx.config.network, local: ctx.local };
  for (const c of await stackContainers(ctx, peers.map((p) => p.key))) {
    if (c.state !== 'running') continue;
    const peer = peers.find((p) => p.key === c.key);
    if (!peer || (await sleepState(docker, c, reach)).asleep) continue;
    // A request still running on it would die with the engine: let it finish.
    await waitUntilDrained(docker, c, { ...reach, timeoutMs: 60_000, signal: ctx.signal });
    const deep = peer.idle?.then === 'deep-sleep';
    await sleepModel(docker, c, reach, deep ? 2 : 1);
    ctx.emit({ type: 'model-put-away', key: c.key, container: c.name, action: deep ? 'deep-sleep' : 'sleep', reason: 'swap' });
  }
}
