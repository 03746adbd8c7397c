/**
 * Carrying out a model plan. Long on purpose: `applyModelPlan` is one sequence (leftovers,
 * images, then create / recreate / start with GPU-ordered waits, rolling replacements, abort
 * clean-up) whose steps share the run's state (what this run made, what is ready); split into
 * files, a reader would have to hold that state across them.
 */
import { randomBytes } from 'node:crypto';
import type { ModelSpec } from '@inferstack/config';
import type { DockerClient } from './client.js';
import { argvStyleForEntrypoint, hasDevRoutes, modelContainerOptions } from './container-spec.js';
import { classifyContainerError, followContainerLogs, removeContainer, stopContainer } from './containers.js';
import { ensureNetwork } from './networks.js';
import { diagnoseStartupFailure, type Diagnosis } from './diagnose.js';
import { DockerApiError, DockerOpsError, OperationAbortedError } from './errors.js';
import { ensureImage, type PullProgress } from './images.js';
import { gpusOverlap, replacementName, type ModelChange } from './plan.js';
import { LABEL_MODEL, LABEL_STACK } from './labels.js';
import { resolvePublishAddress } from './publish-address.js';
import type { ModelContainer } from './containers.js';
import { replicaLabel } from './replicas.js';
import { waitUntilReady, type NotReadyReason, type ProbeMode } from './readiness.js';
import { loadingPhaseReader, type LoadingPhase } from './loading-phases.js';

/** Progress of `apply`, one model at a time, for a terminal or a log. */
export type ApplyEvent =
  | { type: 'network-created'; network: string }
  | { type: 'pulling'; image: string; progress?: PullProgress }
  | { type: 'pulled'; image: string }
  | { type: 'removing'; key: string; reason: string; replica?: number }
  | { type: 'removed'; key: string; replica?: number }
  | { type: 'creating'; key: string; replica?: number }
  | { type: 'starting'; key: string; replica?: number }
  | { type: 'waiting'; key: string; replica?: number }
  /** A loading phase vLLM logged while it starts (see loading-phases.ts): started, or done with its duration. */
  | ({ type: 'loading'; key: string; replica?: number } & LoadingPhase)
  | { type: 'ready'; key: string; elapsedMs: number; replica?: number }
  | { type: 'kept'; key: string; replica?: number }
  /** A changed model is replaced: `rolling` beside the old one, or `in-place` (downtime: `why`). */
  | { type: 'replacing'; key: string; strategy: 'rolling' | 'in-place'; why?: string; replica?: number }
  /** A rolling replacement is done: the new container serves under the model's usual name. */
  | { type: 'replaced'; key: string; replica?: number }
  | { type: 'failed'; key: string; error: ModelFailure; replica?: number };

/** Why one model failed, with what to do. */
export interface ModelFailure {
  message: string;
  hint?: string;
  reason?: NotReadyReason | 'image' | 'docker' | 'aborted';
  exitCode?: number;
  diagnosis?: Diagnosis;
  /** The last log lines, for the user to read. */
  logs?: string;
}

/** What happened to one model. */
export interface ModelOutcome {
  key: string;
  /** The replica's index, for a model's replicas other than the first. */
  replica?: number;
  action: ModelChange['action'];
  outcome: 'done' | 'failed' | 'aborted';
  /** From the start of its work to ready (create/recreate/start). */
  elapsedMs?: number;
  containerId?: string;
  failure?: ModelFailure;
}

/** Options for {@link applyModelPlan}. */
export interface ApplyOptions {
  network: string;
  /** The stack's private network, where models with development routes live (see `modelNetwork`). */
  privateNetwork?: string;
  /**
   * Publish each model's vLLM port on this address of its Docker host (a port Docker picks; never
   * on every interface). A name is resolved first (see `resolvePublishAddress`); plan with the IP.
   */
  publishOn?: string;
  /** Labels added to every container and network made (e.g. a test session). */
  extraLabels?: Record<string, string>;
  /** @default 'http' */
  probe?: ProbeMode;
  /** Readiness timeout per model. @default 3_600_000 */
  readyTimeoutMs?: number;
  /** Seconds between SIGTERM and SIGKILL when stopping. @default 30 */
  stopTimeoutSeconds?: number;
  /** Models on disjoint GPUs started at once, at most. @default 8 */
  concurrency?: number;
  signal?: AbortSignal;
  onEvent?: (event: ApplyEvent) => void;
  /**
   * Called before a running container of the plan is stopped: with `next` (a rolling
   * replacement, once the new container is ready) traffic must go to `next` instead; without,
   * the model is taken out of traffic. Either way the old container's requests should finish
   * (drain) before this returns. Not called for containers that serve nothing (stopped, crashed).
   */
  handOver?: (old: ModelContainer, next?: { id: string; name: string }) => Promise<void>;
  /** Called when the new container of an in-place replacement is ready: route to it now. */
  reroute?: (next: { id: string; name: string; key: string }) => Promise<void>;
}

/**
 * Order model work so that models sharing a GPU start one after another (each waits for the
 * earlier ones on its GPUs), while models on disjoint GPUs may start together.
 */
export function startOrder(specs: readonly Pick<ModelSpec, 'key' | 'gpus'>[]): Map<string, string[]> {
  const deps = new Map<string, string[]>();
  specs.forEach((spec, i) => {
    deps.set(
      spec.key,
      specs.slice(0, i).filter((earlier) => gpusOverlap(earlier.gpus, spec.gpus)).map((e) => e.key),
    );
  });
  return deps;
}

function toFailure(error: unknown): ModelFailure {
  if (error instanceof OperationAbortedError) return { message: 'cancelled', reason: 'aborted' };
  if (error instanceof DockerOpsError) return { message: error.message, hint: error.hint, reason: 'docker' };
  return { message: error instanceof Error ? error.message : String(error), reason: 'docker' };
}

function notReadyMessage(reason: NotReadyReason, exitCode: number | undefined, timeoutMs: number): string {
  switch (reason) {
    case 'exited':
      return `the container exited with code ${exitCode ?? '?'} before it was ready`;
    case 'restarting':
      return 'the container restarted before it was ready';
    case 'unhealthy':
      return "Docker's health check reports it unhealthy";
    case 'removed':
      return 'the container was removed while it started';
    case 'timeout':
      return `it did not answer /health within ${Math.round(timeoutMs / 1000)} s`;
  }
}

class Limiter {
  private active = 0;
  private queue: Array<() => void> = [];
  constructor(private readonly max: number) {}
  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.active >= this.max) await new Promise<void>((resolve) => this.queue.push(resolve));
    this.active++;
    try {
      return await task();
    } finally {
      this.active--;
      this.queue.shift()?.();
    }
  }
}

/**
 * Carry out a plan: remove leftovers, pull missing images, then create / recreate / start the
 * models (GPU-sharing ones in order) and wait for each to be ready. Never throws for one
 * model's failure: every model gets an outcome (a `publishOn` that does not resolve throws
 * `PublishAddressError` before anything changes). On abort, containers made by this run that are
 * not ready yet are removed, and stopped ones it started are stopped again, so nothing half-made
 * is left behind.
 */
export async function applyModelPlan(docker: DockerClient, changes: readonly ModelChange[], options: ApplyOptions): Promise<ModelOutcome[]> {
  const emit = options.onEvent ?? (() => {});
  const signal = options.signal;
  // Docker would publish on every interface for a name: resolved once, before anything changes.
  const publishOn = options.publishOn === undefined ? undefined : (await resolvePublishAddress(options.publishOn)).ip;
  const outcomes = new Map<string, ModelOutcome>();
  const readyTimeoutMs = options.readyTimeoutMs ?? 3_600_000;
  // Containers started by this run and not ready yet: whether this run also made them.
  const inFlight = new Map<string, boolean>();

  // A running container is kept only once it is seen ready: a run killed while it waited leaves
  // one that may still be loading and has no restart policy yet. Those made by the old tool are
  // kept as they are.
  const work = changes.filter((c) => c.action !== 'remove' && !(c.action === 'keep' && (c.adopted || c.idle))) as Array<Extract<ModelChange, { spec: ModelSpec }>>;

  // Leftovers and models no longer configured go first: they may hold the GPUs we need.
  await Promise.all(
    changes
      .filter((c): c is Extract<ModelChange, { action: 'remove' }> => c.action === 'remove')
      .map(async (c) => {
        const who = whoOf(c);
        try {
          if (c.container.state === 'running' && c.container.health !== 'unhealthy') await options.handOver?.(c.container);
          emit({ type: 'removing', ...who, reason: c.reason });
          await removeContainer(docker, c.container.id, { timeoutSeconds: options.stopTimeoutSeconds });
          emit({ type: 'removed', ...who });
          if (!outcomes.has(unitOf(c))) outcomes.set(unitOf(c), { ...who, action: 'remove', outcome: 'done' });
        } catch (error) {
          outcomes.set(unitOf(c), { ...who, action: 'remove', outcome: 'failed', failure: toFailure(error) });
        }
      }),
  );
  for (const c of changes) {
    if (c.action === 'keep' && (c.adopted || c.idle)) {
      emit({ type: 'kept', ...whoOf(c) });
      outcomes.set(unitOf(c), { ...whoOf(c), action: 'keep', outcome: 'done', containerId: c.container.id });
    }
  }
  if (work.length === 0) return changes.map((c) => outcomes.get(unitOf(c))!).filter(uniqueByUnit());

  if (await ensureNetwork(docker, options.network, options.extraLabels)) emit({ type: 'network-created', network: options.network });
  if (options.privateNetwork && work.some((c) => hasDevRoutes(c.spec)) && (await ensureNetwork(docker, options.privateNetwork, options.extraLabels))) {
    emit({ type: 'network-created', network: options.privateNetwork });
  }

  // One pull per image, before any model starts.
  const argvStyles = new Map<string, ReturnType<typeof argvStyleForEntrypoint>>();
  const imageErrors = new Map<string, ModelFailure>();
  for (const image of new Set(work.filter((c) => c.action !== 'start' && c.action !== 'keep').map((c) => c.spec.image))) {
    const spec = work.find((c) => c.spec.image === image)!.spec;
    try {
      const { info, pulled } = await ensureImage(docker, image, {
        policy: spec.pullPolicy,
        platform: spec.platform,
        signal,
        onProgress: (progress) => emit({ type: 'pulling', image, progress }),
      });
      if (pulled) emit({ type: 'pulled', image });
      argvStyles.set(image, argvStyleForEntrypoint(info.Config?.Entrypoint));
    } catch (error) {
      if (error instanceof OperationAbortedError) throw error;
      imageErrors.set(image, { ...toFailure(error), reason: 'image' });
    }
  }

  const deps = workOrder(work);
  const done = new Map<string, Promise<void>>();
  const limiter = new Limiter(options.concurrency ?? 8);

  const runOne = async (change: (typeof work)[number]): Promise<void> => {
    const { key, spec } = change;
    const who = whoOf(change);
    const unit = unitOf(change);
    const started = Date.now();
    let containerId: string | undefined = change.action === 'start' || change.action === 'keep' ? change.container.id : undefined;
    try {
      if (signal?.aborted) throw new OperationAbortedError();
      // A run killed between removing the old container and renaming the new one left it
      // under its temporary name: it takes the usual one (it still answers to both).
      if (change.action !== 'create' && change.container.name === replacementName(spec.containerName)) {
        await docker
          .getContainer(change.container.id)
          .rename({ name: spec.containerName })
          .catch((error: unknown) => {
            throw new DockerApiError(`cannot rename ${change.container.name} to ${spec.containerName}`, error);
          });
      }
      if (change.action === 'keep' && (await seenReady(docker, change.container.id))) {
        emit({ type: 'kept', ...who });
        outcomes.set(unit, { ...who, action: 'keep', outcome: 'done', containerId });
        return;
      }
      const imageError = imageErrors.get(spec.image);
      if (imageError && change.action !== 'start' && change.action !== 'keep') {
        outcomes.set(unit, { ...who, action: change.action, outcome: 'failed', failure: imageError });
        emit({ type: 'failed', ...who, error: imageError });
        return;
      }
      const rolling = change.action === 'recreate' && change.strategy === 'rolling';
      const serving = (c: ModelContainer) => c.state === 'running' && c.health !== 'unhealthy';
      if (change.action === 'recreate') {
        emit({ type: 'replacing', ...who, strategy: change.strategy, ...(change.why ? { why: change.why } : {}) });
        if (!rolling) {
          if (serving(change.container)) await options.handOver?.(change.container);
          emit({ type: 'removing', ...who, reason: change.reason });
          await removeContainer(docker, change.container.id, { timeoutSeconds: options.stopTimeoutSeconds });
        } else {
          // A leftover of a run killed mid-replacement: ours (this model's), so it goes.
          await removeLeftover(docker, replacementName(spec.containerName), key, options.extraLabels?.[LABEL_STACK]);
        }
      }
      if (change.action !== 'start' && change.action !== 'keep') {
        emit({ type: 'creating', ...who });
        const name = rolling ? replacementName(spec.containerName) : spec.containerName;
        const create = modelContainerOptions(spec, {
          network: options.network,
          ...(options.privateNetwork ? { privateNetwork: options.privateNetwork } : {}),
          argvStyle: argvStyles.get(spec.image) ?? 'api-server',
          extraLabels: options.extraLabels,
          ...(publishOn ? { publishOn } : {}),
          ...(rolling ? { name } : {}),
          // Its own name on the network, which it keeps when renamed and no later container
          // takes: the gateway and Prometheus reach this generation of the model by it.
          generation: randomBytes(3).toString('hex'),
          ...(change.gpuDevices ? { gpuDevices: change.gpuDevices } : {}),
          ...(change.startEnv ? { startEnv: change.startEnv } : {}),
        });
        try {
          containerId = (await docker.createContainer(create)).id;
        } catch (error) {
          throw classifyContainerError(`cannot create ${spec.containerName}`, key, error);
        }
      }
      if (change.action !== 'keep') {
        inFlight.set(containerId!, change.action !== 'start');
        emit({ type: 'starting', ...who });
        try {
          await docker.getContainer(containerId!).start();
        } catch (error) {
          if ((error as { statusCode?: number }).statusCode !== 304) throw classifyContainerError(`cannot start ${spec.containerName}`, key, error);
        }
      }
      emit({ type: 'waiting', ...who });
      // vLLM's loading phases from its log while it starts (a started container's: a kept one has loaded).
      const following = new AbortController();
      const followed =
        change.action === 'keep'
          ? undefined
          : followContainerLogs(docker, containerId!, { signal: following.signal, onData: loadingPhaseReader((phase) => emit({ type: 'loading', ...who, ...phase })) }).catch(() => {});
      const result = await waitUntilReady(docker, containerId!, {
        network: options.network,
        probe: options.probe,
        timeoutMs: readyTimeoutMs,
        apiKey: spec.apiKey,
        servedModelName: spec.servedModelName,
        signal,
      }).finally(() => {
        following.abort();
      });
      await followed;
      if (result.ready) {
        // Running and serving: from now on Docker brings it back after a crash or reboot.
        await docker
          .getContainer(containerId!)
          .update({ RestartPolicy: { Name: 'unless-stopped' } })
          .catch((error: unknown) => {
            throw new DockerApiError(`cannot set the restart policy of ${spec.containerName}`, error);
          });
        inFlight.delete(containerId!);
        emit(change.action === 'keep' ? { type: 'kept', ...who } : { type: 'ready', ...who, elapsedMs: result.elapsedMs });
        if (rolling && change.action === 'recreate') {
          // The new one serves: traffic moves to it, the old one drains and goes, the new one
          // takes the model's usual name.
          const next = { id: containerId!, name: replacementName(spec.containerName) };
          try {
            if (serving(change.container)) await options.handOver?.(change.container, next);
          } catch (error) {
            // Traffic could not move: the old container serves on, the new one goes.
            await removeContainer(docker, containerId!, { timeoutSeconds: 5 }).catch(() => {});
            throw error;
          }
          emit({ type: 'removing', ...who, reason: change.reason });
          await removeContainer(docker, change.container.id, { timeoutSeconds: options.stopTimeoutSeconds });
          try {
            await docker.getContainer(containerId!).rename({ name: spec.containerName });
          } catch (error) {
            throw new DockerApiError(`cannot rename ${next.name} to ${spec.containerName}`, error);
          }
          emit({ type: 'replaced', ...who });
        } else if (change.action === 'recreate') {
          // In place, the model was out of traffic since its old container went: end that now.
          await options.reroute?.({ id: containerId!, name: spec.containerName, key });
        }
        const elapsedMs = Date.now() - started;
        outcomes.set(unit, { ...who, action: change.action, outcome: 'done', elapsedMs, containerId });
        return;
      }
      inFlight.delete(containerId!);
      const diagnosis = diagnoseStartupFailure(result.logs, { exitCode: result.exitCode, spec });
      const failure: ModelFailure = {
        message: diagnosis?.summary ?? notReadyMessage(result.reason, result.exitCode, readyTimeoutMs),
        reason: result.reason,
        exitCode: result.exitCode,
        diagnosis,
        logs: result.logs,
        hint: `see "serve logs ${key}"`,
      };
      // A hung or unhealthy server still holds its GPU memory: stop it, keep it for its logs.
      // The failed new container of a rolling replacement goes: the old one serves on.
      if (rolling) await removeContainer(docker, containerId!, { timeoutSeconds: 5 }).catch(() => {});
      else if (result.reason === 'timeout' || result.reason === 'unhealthy' || result.reason === 'restarting') {
        await docker.getContainer(containerId!).stop({ t: 5 }).catch(() => {});
      }
      outcomes.set(unit, { ...who, action: change.action, outcome: 'failed', elapsedMs: Date.now() - started, containerId, failure });
      emit({ type: 'failed', ...who, error: failure });
    } catch (error) {
      const failure = toFailure(error);
      outcomes.set(unit, { ...who, action: change.action, outcome: failure.reason === 'aborted' ? 'aborted' : 'failed', containerId, failure });
      if (failure.reason !== 'aborted') emit({ type: 'failed', ...who, error: failure });
    }
  };

  for (const change of work) {
    const before = (deps.get(unitOf(change)) ?? []).map((k) => done.get(k)!);
    done.set(
      unitOf(change),
      Promise.all(before).then(() => limiter.run(() => runOne(change))),
    );
  }
  await Promise.all(done.values());

  if (signal?.aborted && inFlight.size > 0) {
    // Ctrl-C: nothing half-made stays behind. What this run made goes; a stopped container it
    // only started is stopped again, as it was (with its logs).
    await Promise.all(
      [...inFlight].map(([id, made]) => (made ? removeContainer(docker, id, { timeoutSeconds: 2 }) : stopContainer(docker, id, 2)).catch(() => {})),
    );
  }
  return changes.map((c) => outcomes.get(unitOf(c))!).filter(uniqueByUnit());
}

/** Remove a container of `name` left by a killed run, when it is this model's. */
async function removeLeftover(docker: DockerClient, name: string, key: string, stack: string | undefined): Promise<void> {
  let info;
  try {
    info = await docker.getContainer(name).inspect();
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode === 404) return;
    throw new DockerApiError(`cannot inspect ${name}`, error);
  }
  if (info.Config.Labels?.[LABEL_MODEL] !== key) throw new DockerOpsError(`a container named ${name} is in the way and is not model ${key}'s`, { hint: 'remove or rename it' });
  // Another stack's replacement of a model of the same key is never ours to remove.
  const owner = info.Config.Labels?.[LABEL_STACK];
  if (owner !== undefined && owner !== stack) {
    throw new DockerOpsError(`a container named ${name} is in the way: it is stack ${owner}'s`, { hint: `rename model ${key} in one of the two stacks` });
  }
  await removeContainer(docker, info.Id, { timeoutSeconds: 5 });
}

/**
 * Whether a running container was made ready by a run that finished: it has the restart policy
 * `apply` gives a model only once it serves (a run killed while it loaded left `no`).
 */
async function seenReady(docker: DockerClient, id: string): Promise<boolean> {
  try {
    const info = await docker.getContainer(id).inspect();
    // We switch the restart policy to unless-stopped only once a model answered: that marks it.
    return info.State.Running && info.HostConfig.RestartPolicy?.Name === 'unless-stopped';
  } catch (error) {
    throw new DockerApiError(`cannot inspect container ${id.slice(0, 12)}`, error);
  }
}

function uniqueByUnit() {
  const seen = new Set<string>();
  return (o: ModelOutcome | undefined): o is ModelOutcome => {
    if (!o || seen.has(unitOf(o))) return false;
    seen.add(unitOf(o));
    return true;
  };
}

/** A change's model key and, for a replica other than the first, its index: what events and outcomes carry. */
function whoOf(c: { key: string; replica?: number }): { key: string; replica?: number } {
  return c.replica ? { key: c.key, replica: c.replica } : { key: c.key };
}

/** The model or replica a change is for: `key`, or `key#i` for replica i. */
function unitOf(c: { key: string; replica?: number }): string {
  return replicaLabel(c.key, c.replica);
}

/**
 * What each change waits for (by {@link unitOf}): the earlier changes on GPUs it shares (see
 * {@link startOrder}), and a replacement of a model's replica the replacement of the replica
 * before it, so that a changed model is replaced one replica at a time and the others serve on.
 */
function workOrder(work: readonly Extract<ModelChange, { spec: ModelSpec }>[]): Map<string, string[]> {
  const deps = new Map<string, string[]>();
  work.forEach((change, i) => {
    const earlier = work.slice(0, i);
    const waits = earlier.filter(
      (e) => gpusOverlap(e.spec.gpus, change.spec.gpus) || (e.key === change.key && e.action === 'recreate' && change.action === 'recreate'),
    );
    deps.set(unitOf(change), waits.map(unitOf));
  });
  return deps;
}
