import { LOCAL_HOST, vllmMaxNumSeqs, type ModelSpec } from '@inferstack/config';
import {
  applyModelPlan,
  hasDevRoutes,
  metricsText,
  parseVllmLoad,
  removeContainer,
  replicaSpecs,
  type DockerClient,
  type ModelContainer,
} from '@inferstack/docker-ops';
import type { StackContext } from '../context.js';
import { stackContainers } from '../models/containers.js';
import { handOver } from '../models/drain.js';
import { privateNetworkName } from '../models/networks.js';
import { forCall } from '../stack-context.js';
import { syncIntegrations } from '../sync/sync.js';
import { reach, whenUnlocked, type WatcherState } from './state.js';

/*
 * Autoscaling (`replicas: {min, max, down-after}`): each look, the watcher sums vLLM's queue
 * (`vllm:num_requests_waiting`) over a model's running replicas. A queue that lasts
 * `scaleUpAfterMs` adds a replica (up to `max`); once there has been no queue for `down-after` and
 * the requests in flight would fit in one replica fewer, the highest replica is unrouted,
 * drained and removed (down to `min`, at least one: with `min: 0` the last one goes as the
 * model's idle policy says). One change per model at a time; each holds the stack's lock (a
 * running `serve up` goes first), and the gateway routes a new replica once it is ready.
 */

/** vLLM's `--max-num-seqs` when a model does not set it (the V1 engine's default on most GPUs). */
const DEFAULT_MAX_NUM_SEQS = 256;

/** What the watcher keeps of one scaling model between looks. */
export interface ScaleTrack {
  /** Since when requests have waited, without a break. */
  queuedSince?: number;
  /** Since when no request has waited. */
  calmSince?: number;
  /** A replica being added or removed now. */
  changing?: Promise<void>;
}

/** The models a watcher scales: a `min`–`max` range, on the default host (the watcher's). */
export function scaledSpecs(models: readonly ModelSpec[]): ModelSpec[] {
  return models.filter((m) => m.replicas.min < m.replicas.max && (m.host ?? LOCAL_HOST) === LOCAL_HOST);
}

/** What one look decides for a model: add a replica, take one away, or nothing. */
export function scaleDecision(
  spec: Pick<ModelSpec, 'replicas' | 'vllmArgs'>,
  t: Pick<ScaleTrack, 'queuedSince' | 'calmSince'>,
  now: { replicas: number; running: number; waiting: number; at: number },
  options: { upAfterMs: number },
): 'up' | 'down' | undefined {
  const { min, max, downAfterMs = 300_000 } = spec.replicas;
  if (now.replicas < max && now.waiting > 0 && t.queuedSince !== undefined && now.at - t.queuedSince >= options.upAfterMs) return 'up';
  const floor = Math.max(min, 1);
  const fits = now.running <= (now.replicas - 1) * (vllmMaxNumSeqs(spec) ?? DEFAULT_MAX_NUM_SEQS);
  if (now.replicas > floor && now.waiting === 0 && fits && t.calmSince !== undefined && now.at - t.calmSince >= downAfterMs) return 'down';
  return undefined;
}

/** One look at every scaling model: measure its queue, and add or take away a replica when it is time. */
export async function scaleTick(s: WatcherState, containers: readonly ModelContainer[]): Promise<void> {
  const { ctx } = s;
  const docker = await ctx.docker();
  const upAfterMs = Number(ctx.config.settings.INFERSTACK_SCALE_UP_AFTER_MS ?? 5000);
  await Promise.all(
    scaledSpecs(ctx.config.models).map(async (spec) => {
      const t = scaleTrack(s, spec.key);
      if (t.changing) return;
      const mine = containers.filter((c) => c.key === spec.key && c.state === 'running');
      const parsed = await Promise.all(
        mine.map(async (c) => {
          const text = await metricsText(docker, c, reach(ctx));
          return text ? parseVllmLoad(text) : undefined;
        }),
      );
      // A replica that does not answer yet (loading) counts as one, with nothing in flight.
      const running = parsed.reduce((n, l) => n + (l?.running ?? 0), 0);
      const waiting = parsed.reduce((n, l) => n + (l?.waiting ?? 0), 0);
      const at = Date.now();
      if (waiting > 0) {
        t.queuedSince ??= at;
        t.calmSince = undefined;
      } else {
        t.queuedSince = undefined;
        t.calmSince ??= at;
      }
      const decision = scaleDecision(spec, t, { replicas: mine.length, running, waiting, at }, { upAfterMs });
      if (!decision) return;
      t.changing = (decision === 'up' ? addReplica(ctx, spec, mine, waiting) : removeReplica(ctx, spec, mine))
        .catch((error: Error) => ctx.emit({ type: 'note', level: 'warn', message: `${spec.key}: could not scale ${decision}: ${error.message}` }))
        .finally(() => {
          t.changing = undefined;
          t.queuedSince = undefined;
          t.calmSince = undefined;
        });
    }),
  );
}

/** What the watcher keeps of a scaling model, made on first sight. */
function scaleTrack(s: WatcherState, key: string): ScaleTrack {
  let t = s.scaling.get(key);
  if (!t) {
    t = {};
    s.scaling.set(key, t);
  }
  return t;
}

/** Start the lowest free replica of `spec`, wait until it is ready, and route it. */
async function addReplica(ctx: StackContext, spec: ModelSpec, running: readonly ModelContainer[], waiting: number): Promise<void> {
  const call = forCall(ctx);
  await whenUnlocked(call, 'serve watch (scaling)', async () => {
    const docker = await call.docker();
    // The lowest index no container of the model has, in any state (a stopped one is `up`'s to start or remove).
    const taken = (await stackContainers(call, [spec.key])).map((c) => c.replica);
    const index = [...Array(spec.replicas.max).keys()].find((i) => !taken.includes(i));
    if (index === undefined) return;
    call.emit({ type: 'scaling', key: spec.key, replica: index, direction: 'up', replicas: running.length + 1, why: `${waiting} request(s) waiting` });
    const startEnv = await offlineLike(docker, running);
    const change = { action: 'create' as const, key: spec.key, replica: index, spec: replicaSpecs(spec, [index])[0]!, ...(startEnv ? { startEnv } : {}) };
    const [outcome] = await applyModelPlan(docker, [change], {
      network: call.config.network,
      ...(hasDevRoutes(spec) ? { privateNetwork: privateNetworkName(call.name) } : {}),
      extraLabels: call.labels,
      probe: call.local ? 'http' : 'healthcheck',
      signal: call.signal,
      onEvent: call.emit,
    });
    if (!outcome || outcome.outcome !== 'done' || !outcome.containerId) return;
    const sync = await syncIntegrations(call, { readyIds: new Set([outcome.containerId]), defaultHostOnly: true });
    if (sync.gateway.ok) call.emit({ type: 'scaled', key: spec.key, replica: index, direction: 'up', replicas: running.length + 1 });
  });
}

/**
 * `HF_HUB_OFFLINE=1` when a running replica got it from `up` (its weights were complete in the
 * cache, which every replica on this host mounts): the added one then starts without the network
 * too. Not in the spec, so the replica's hash matches the others'.
 */
async function offlineLike(docker: DockerClient, running: readonly ModelContainer[]): Promise<Record<string, string> | undefined> {
  for (const c of running) {
    const env: string[] = await docker
      .getContainer(c.id)
      .inspect()
      .then((info) => info.Config.Env ?? [], () => []);
    if (env.includes('HF_HUB_OFFLINE=1')) return { HF_HUB_OFFLINE: '1' };
  }
  return undefined;
}

/** Unroute the highest replica of `spec`, let it finish its requests, and remove it. */
async function removeReplica(ctx: StackContext, spec: ModelSpec, running: readonly ModelContainer[]): Promise<void> {
  const call = forCall(ctx);
  const last = [...running].sort((a, b) => b.replica - a.replica)[0];
  if (!last) return;
  await whenUnlocked(call, 'serve watch (scaling)', async () => {
    call.emit({ type: 'scaling', key: spec.key, replica: last.replica, direction: 'down', replicas: running.length - 1, why: 'no request waited for down-after' });
    await handOver(call, last, undefined, undefined, { defaultHostOnly: true });
    await removeContainer(await call.docker(), last.id, { timeoutSeconds: 10 });
    call.emit({ type: 'scaled', key: spec.key, replica: last.replica, direction: 'down', replicas: running.length - 1 });
  });
}
