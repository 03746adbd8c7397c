import type { ModelSpec } from '@inferstack/config';
import {
  LockHeldError,
  acquireLock,
  isIdleStopped,
  metricsText,
  parseVllmLoad,
  setRestartPolicy,
  sleepState,
  startContainer,
  waitUntilReady,
  wakeModel,
  type Lock,
  type ModelContainer,
} from '@inferstack/docker-ops';
import { stackContainers } from '../models/containers.js';
import type { StackContext } from '../context.js';
import { forCall } from '../stack-context.js';
import { syncIntegrations } from '../sync/sync.js';
import { servingModels } from '../models/serving.js';
import { putModelAway } from './put-away.js';
import { WakeLatency } from './wake-latency.js';

/**
 * The watcher: the part of a stack that runs all the time. It puts models nobody asks for away
 * (vLLM sleep mode, or a stop), brings them back when a request comes through the gateway (the
 * gateway's wake hook asks {@link Watcher.acquire}), keeps the members of a swap group exclusive,
 * and re-points the gateway and Prometheus whenever the set of serving models changes (a crash, a
 * recovery, a wake from a stop). What it knows lives in Docker (containers, their state, the
 * models' own metrics): a watcher killed at any point and started again picks up from there.
 */

/** How a model is, as the watcher sees it. */
export type WatchedPhase =
  | 'awake'
  /** vLLM sleep mode level 1: weights in CPU memory, a wake takes about a second. */
  | 'asleep'
  /** Level 2: weights dropped, a wake reloads them. */
  | 'deep-asleep'
  /** Stopped because nobody asked for it: the next request starts it (its route stays). */
  | 'stopped-idle'
  /** Stopped by a user (`serve stop`) or crashed: not the watcher's to start. */
  | 'stopped'
  | 'waking'
  | 'going-to-sleep'
  /** No container (not deployed). */
  | 'missing';

/** One model the watcher looks after (it sleeps, stops when idle, or is in a swap group). */
export interface WatchedModel {
  key: string;
  servedModelName: string;
  container?: string;
  phase: WatchedPhase;
  /** When a request last came (through the wake hook, or seen in the model's counters); ISO 8601. */
  lastRequestAt: string | null;
  /** Wakes and starts since the watcher started. */
  wakes: number;
}

/** What {@link Watcher.acquire} answers. */
export type AcquireResult =
  | { ok: true; model: string; woke: false }
  | { ok: true; model: string; woke: true; from: 'asleep' | 'deep-asleep' | 'stopped-idle'; elapsedMs: number }
  | { ok: false; model: string; status: 404 | 503; error: string };

/** What {@link Watcher.evictPeersOf} answers: the other members of a swap group are put away, or why not. */
export type EvictResult = { ok: true; model: string } | { ok: false; model: string; status: 404 | 503; error: string };

/** Options of {@link createWatcher}. */
export interface WatcherOptions {
  /** Between two looks at the models. @default 2000 */
  intervalMs?: number;
  /**
   * A model is put away only when its last request is at least this old, whatever its idle
   * policy says, so that a request let through by the wake hook has reached it. @default 2000
   */
  settleMs?: number;
}

/** A stack's watcher: see the module comment. */
export interface Watcher {
  /** Make sure the model served as `servedModelName` serves (wake it or start it), within its wake timeout. */
  acquire(servedModelName: string): Promise<AcquireResult>;
  /**
   * Put the other members of model `key`'s swap group away (before `up` starts it), on behalf of
   * a caller that holds the stack's lock. Fails when one of them cannot be put away (still busy
   * after the drain): two members must never hold their GPUs at once.
   */
  evictPeersOf(key: string, options?: { drainMs?: number }): Promise<EvictResult>;
  /** Read the stack's config again (after `up` changed it). Returns whether it changed. */
  reload(): Promise<boolean>;
  /** One look at every model: put idle ones away, re-sync when the serving set changed. */
  tick(): Promise<void>;
  /** The models it looks after. */
  models(): WatchedModel[];
  /** Its own metrics (Prometheus text): wake latency, wakes, model phases. */
  metrics(): string;
  /** Tick until `signal` aborts. */
  run(signal: AbortSignal): Promise<void>;
}

interface Tracked {
  key: string;
  servedModelName: string;
  container?: string;
  /** The container being woken or started now (its route must stay while it loads). */
  startingId?: string;
  /** The model's container at the last look, while it sleeps: a wake needs no listing first. */
  sleeping?: ModelContainer;
  phase: WatchedPhase;
  lastActive: number;
  lastRequestAt?: number;
  finished?: number;
  wakes: number;
  acquiring?: Promise<AcquireResult>;
}

const MIN_SETTLE_MS = 2000;

/** The models a watcher looks after: those with an idle policy or a swap group. */
export function watchedSpecs(models: readonly ModelSpec[]): ModelSpec[] {
  return models.filter((m) => m.idle || m.swapGroup);
}

/** Make a watcher for the stack of `ctx`. */
export function createWatcher(ctx: StackContext, options: WatcherOptions = {}): Watcher {
  const settleMs = Math.max(options.settleMs ?? MIN_SETTLE_MS, 0);
  const tracked = new Map<string, Tracked>();
  const queues = new Map<string, Promise<unknown>>();
  /** The member of each swap group this watcher woke last (the others are asleep or stopped). */
  const holders = new Map<string, string>();
  const latency = new WakeLatency();
  let lastServing: string | undefined;
  // Models that sleep live on the stack's private network only (this watcher is attached to it):
  // their one address is used when they have none on the stack's network.
  const reach = () => ({ network: ctx.config.network, local: ctx.local });

  const track = (spec: ModelSpec): Tracked => {
    let t = tracked.get(spec.key);
    if (!t) {
      // A watcher (re)started knows of no request yet: the idle time counts from now. Until the
      // first look the phase is not known ('missing'): acquire takes the careful path.
      t = { key: spec.key, servedModelName: spec.servedModelName, phase: 'missing', lastActive: Date.now(), wakes: 0 };
      tracked.set(spec.key, t);
    }
    t.servedModelName = spec.servedModelName;
    return t;
  };

  /**
   * Run `fn` alone for the model: members of one swap group share one queue, so that two of
   * them never wake (or put each other away) at once.
   */
  const exclusive = <T>(spec: ModelSpec, fn: () => Promise<T>): Promise<T> => {
    const id = spec.swapGroup ? `group:${spec.swapGroup}` : `model:${spec.key}`;
    const run = (queues.get(id) ?? Promise.resolve()).then(fn, fn);
    queues.set(
      id,
      run.catch(() => {}),
    );
    return run;
  };

  const containerOf = async (spec: ModelSpec): Promise<ModelContainer | undefined> => {
    const list = await stackContainers(ctx, [spec.key]);
    return primary(list, spec);
  };

  /**
   * Put a model away (see put-away.ts). Returns false when it was used meanwhile, and says so
   * when it was still busy after the drain (it is then left serving).
   */
  const putAway = async (spec: ModelSpec, c: ModelContainer, reason: 'idle' | 'swap', drainMs: number): Promise<boolean> => {
    const t = track(spec);
    const docker = await ctx.docker();
    const before = t.phase;
    t.phase = 'going-to-sleep';
    try {
      const afterMs = reason === 'idle' ? Math.max(spec.idle?.afterMs ?? 0, settleMs) : settleMs;
      const usedLately = () => reason === 'idle' && Date.now() - t.lastActive < afterMs;
      if (usedLately()) {
        t.phase = before;
        return false;
      }
      // A request the wake hook let through just now may still be on its way to the model.
      const wait = t.lastActive + settleMs - Date.now();
      if (wait > 0) await delay(wait, ctx.signal);
      // Asked for while it settled: an idle model stays (the request waits in the queue anyway).
      if (usedLately()) {
        t.phase = before;
        return false;
      }
      const result = await putModelAway(docker, c, spec, { reach: reach(), drainMs, signal: ctx.signal });
      if (!result.ok) {
        t.phase = before;
        ctx.emit({ type: 'note', level: 'warn', message: `${spec.key} still has ${result.inFlight} request(s) in flight: not put away` });
        return false;
      }
      if (result.action === 'stop') t.phase = 'stopped-idle';
      else {
        t.phase = result.action === 'deep-sleep' ? 'deep-asleep' : 'asleep';
        t.sleeping = c;
      }
      if (spec.swapGroup && holders.get(spec.swapGroup) === spec.key) holders.delete(spec.swapGroup);
      ctx.emit({ type: 'model-put-away', key: spec.key, container: c.name, action: result.action, reason });
      return true;
    } catch (error) {
      t.phase = before;
      throw error;
    }
  };

  /**
   * Wake or start a model, first putting the other members of its swap group away (they get
   * until a second before `deadline` to finish their requests: a peer still busy then fails the
   * wake, with that reason).
   */
  const bringUp = async (spec: ModelSpec, deadline: number): Promise<AcquireResult> => {
    const t = track(spec);
    const docker = await ctx.docker();
    // Seen asleep at the last look (a tick, or our own sleep): no listing or question first, the
    // wake starts at once. Waking an awake model is harmless (vLLM says "not sleeping").
    let c = t.sleeping && (t.phase === 'asleep' || t.phase === 'deep-asleep') ? t.sleeping : undefined;
    let from: 'asleep' | 'deep-asleep' | 'stopped-idle' | undefined = c ? (t.phase as 'asleep' | 'deep-asleep') : undefined;
    if (!c) {
      c = await containerOf(spec);
      if (!c) return { ok: false, model: spec.servedModelName, status: 503, error: `${spec.key} is not deployed (run "serve up")` };
      if (isIdleStopped(c)) from = 'stopped-idle';
      else if (c.state !== 'running') {
        t.phase = 'stopped';
        return { ok: false, model: spec.servedModelName, status: 503, error: `${spec.key} is ${c.state}, not stopped for being idle: "serve up" starts it` };
      } else {
        const s = await sleepState(docker, c, reach());
        if (s.asleep) from = s.level === 2 ? 'deep-asleep' : 'asleep';
      }
    }
    t.container = c.name;
    if (spec.swapGroup) await evictPeers(spec, Math.max(0, deadline - Date.now() - 1000));
    if (!from) {
      t.phase = 'awake';
      if (spec.swapGroup) holders.set(spec.swapGroup, spec.key);
      return { ok: true, model: spec.servedModelName, woke: false };
    }
    const started = Date.now();
    const timeoutMs = spec.wakeTimeoutMs ?? 600_000;
    t.phase = 'waking';
    t.startingId = c.id;
    try {
      if (from === 'stopped-idle') {
        await startContainer(docker, c.id);
        const ready = await waitUntilReady(docker, c.id, {
          network: ctx.config.network,
          probe: ctx.local ? 'http' : 'healthcheck',
          timeoutMs,
          servedModelName: spec.servedModelName,
          ...(spec.apiKey ? { apiKey: spec.apiKey } : {}),
          signal: ctx.signal,
        });
        if (!ready.ready) throw new Error(`${spec.key} did not start (${ready.reason})`);
        await setRestartPolicy(docker, c.id, 'unless-stopped');
      } else {
        await wakeModel(docker, c, reach(), { level: from === 'deep-asleep' ? 2 : 1, timeoutMs });
      }
    } catch (error) {
      // What we knew is stale (the container was replaced, or stopped): look again next time.
      t.phase = 'missing';
      t.sleeping = undefined;
      throw error;
    } finally {
      t.startingId = undefined;
    }
    const elapsedMs = Date.now() - started;
    if (spec.swapGroup) holders.set(spec.swapGroup, spec.key);
    t.phase = 'awake';
    t.sleeping = undefined;
    t.lastActive = Date.now();
    t.wakes += 1;
    latency.observe(spec.servedModelName, from, elapsedMs / 1000);
    ctx.emit({ type: 'model-woken', key: spec.key, container: c.name, from, elapsedMs });
    return { ok: true, model: spec.servedModelName, woke: true, from, elapsedMs };
  };

  /**
   * The other members of `spec`'s swap group go to sleep (or stop) before it wakes. Throws when
   * one of them cannot be put away: the GPU they share holds one member at a time.
   */
  const evictPeers = async (spec: ModelSpec, drainMs: number): Promise<void> => {
    const peers = ctx.config.models.filter((m) => m.swapGroup === spec.swapGroup && m.key !== spec.key);
    if (peers.length === 0) return;
    const list = await stackContainers(ctx, peers.map((p) => p.key));
    const docker = await ctx.docker();
    for (const peer of peers) {
      const c = primary(list, peer);
      if (!c || c.state !== 'running') continue;
      const state = await sleepState(docker, c, reach()).catch(() => undefined);
      if (state?.asleep) {
        const t = track(peer);
        t.phase = state.level === 2 ? 'deep-asleep' : 'asleep';
        t.sleeping = c;
        continue;
      }
      // Asked to go, whatever its last request: the group's GPU is wanted by another member.
      if (!(await putAway(peer, c, 'swap', drainMs))) {
        throw new Error(`${peer.key}, of the same swap group (${spec.swapGroup}), is still serving requests: ${spec.key} cannot have its GPU now`);
      }
      ctx.emit({ type: 'model-swapped-out', key: peer.key, for: spec.key });
    }
  };

  /**
   * Hold the stack's lock while `fn` changes which member of a swap group holds its GPU: a
   * running `up` starts members one after the other under that lock, and must not see one woken
   * under it. Waits for the lock up to `waitMs`.
   */
  const underStackLock = async <T>(waitMs: number, command: string, fn: () => Promise<T>): Promise<T> => {
    let lock: Lock;
    try {
      lock = await acquireLock(await ctx.docker(), { command, waitMs, extraLabels: ctx.labels, stack: ctx.name, signal: ctx.signal });
    } catch (error) {
      if (error instanceof LockHeldError) throw new Error(`${command}: the stack is being changed ("${error.holder.command}" holds its lock)`);
      throw error;
    }
    try {
      return await fn();
    } finally {
      await lock.release();
    }
  };

  const acquire = async (servedModelName: string): Promise<AcquireResult> => {
    const spec = watchedSpecs(ctx.config.models).find((m) => m.servedModelName === servedModelName);
    if (!spec) return { ok: false, model: servedModelName, status: 404, error: `${servedModelName} is not a model of stack ${ctx.name} that sleeps or stops when idle` };
    const t = track(spec);
    t.lastActive = Date.now();
    t.lastRequestAt = t.lastActive;
    // The common case answers at once: the model is awake and nothing is putting it away.
    // (A member of a swap group: once it holds the group, the others being put away.)
    if (t.phase === 'awake' && !t.acquiring && (!spec.swapGroup || holders.get(spec.swapGroup) === spec.key)) return { ok: true, model: servedModelName, woke: false };
    // Concurrent first requests share one wake. A member of a swap group changes which member
    // holds the group's GPU: under the stack's lock, so that a running `up` is not crossed.
    const timeoutMs = spec.wakeTimeoutMs ?? 600_000;
    const deadline = Date.now() + timeoutMs;
    const wake = () => exclusive(spec, () => bringUp(spec, deadline));
    t.acquiring ??= (spec.swapGroup ? underStackLock(timeoutMs, `serve watch: wake ${spec.key}`, wake) : wake())
      .catch((error: Error) => ({ ok: false as const, model: servedModelName, status: 503 as const, error: error.message }))
      .finally(() => {
        t.acquiring = undefined;
        t.lastActive = Date.now();
      });
    let timer: NodeJS.Timeout | undefined;
    // A moment past the deadline: a wake that failed for a reason (a busy peer) says which.
    const timedOut = new Promise<AcquireResult>((resolve) => {
      timer = setTimeout(() => resolve({ ok: false, model: servedModelName, status: 503, error: `${spec.key} is not awake after ${Math.round(timeoutMs / 1000)} s (wake-timeout)` }), timeoutMs + 1000);
    });
    try {
      return await Promise.race([t.acquiring, timedOut]);
    } finally {
      clearTimeout(timer);
    }
  };

  const tick = async (): Promise<void> => {
    const docker = await ctx.docker();
    const containers = await stackContainers(ctx);
    const due: Array<{ spec: ModelSpec; container: ModelContainer }> = [];
    await Promise.all(
      watchedSpecs(ctx.config.models).map(async (spec) => {
        const t = track(spec);
        const c = primary(containers, spec);
        t.container = c?.name;
        const busy = t.acquiring !== undefined || t.phase === 'waking' || t.phase === 'going-to-sleep';
        if (!c) {
          if (!busy) t.phase = 'missing';
          return;
        }
        if (c.state !== 'running') {
          if (!busy) t.phase = isIdleStopped(c) ? 'stopped-idle' : 'stopped';
          return;
        }
        const text = await metricsText(docker, c, reach());
        const load = text ? parseVllmLoad(text) : undefined;
        if (!load) return;
        // vLLM's counter of finished requests moves: somebody uses it (also past the gateway).
        if (load.finished !== undefined && t.finished !== undefined && load.finished !== t.finished) {
          t.lastActive = Date.now();
          t.lastRequestAt = t.lastActive;
        }
        t.finished = load.finished;
        if (load.running + load.waiting > 0) t.lastActive = Date.now();
        if (busy) return;
        t.phase = load.sleepState === 'weights_offloaded' ? 'asleep' : load.sleepState === 'discard_all' ? 'deep-asleep' : 'awake';
        t.sleeping = t.phase === 'awake' ? undefined : c;
        const afterMs = spec.idle ? Math.max(spec.idle.afterMs, settleMs) : undefined;
        // Only a container made from the config as it is now: one that `up` has not replaced
        // yet (a new idle policy, say) may not even have sleep mode.
        const current = c.specHash === spec.specHash;
        if (current && afterMs !== undefined && t.phase === 'awake' && load.running + load.waiting === 0 && Date.now() - t.lastActive >= afterMs) due.push({ spec, container: c });
      }),
    );
    // A model a request is starting keeps its route while it loads: the request waits for it.
    const starting = new Set([...tracked.values()].flatMap((t) => (t.startingId ? [t.startingId] : [])));
    const serving = await servingModels(containers, { network: ctx.config.network, local: ctx.local, readyIds: starting });
    const signature = JSON.stringify([serving.map((c) => c.id).sort(), containers.filter(isIdleStopped).map((c) => c.id).sort()]);
    if (due.length === 0 && signature === lastServing) return;
    // Changes wait for a running `serve up` (it holds the stack's lock, and syncs itself).
    let lock;
    try {
      lock = await acquireLock(docker, { command: 'serve watch', waitMs: 0, extraLabels: ctx.labels, stack: ctx.name, signal: ctx.signal });
    } catch (error) {
      if (error instanceof LockHeldError) return;
      throw error;
    }
    try {
      let putAwayNow = false;
      for (const { spec, container } of due) {
        await exclusive(spec, async () => {
          // Asked for while waiting in the queue: it stays.
          if (Date.now() - track(spec).lastActive < Math.max(spec.idle?.afterMs ?? 0, settleMs)) return;
          if (await putAway(spec, container, 'idle', 0)) putAwayNow = true;
        }).catch((error: Error) => ctx.emit({ type: 'note', level: 'warn', message: `${spec.key} could not be put away: ${error.message}` }));
      }
      // What serves was read before the models went away: the next look syncs once, with what is.
      if (signature !== lastServing && !putAwayNow) {
        const before = lastServing ? (JSON.parse(lastServing) as string[][]) : undefined;
        const call = forCall(ctx);
        // The watcher looks after the default host's models: the other hosts' routes and targets
        // stay exactly as the last `up` or `sync` left them (it neither needs their keys nor
        // waits for a host that does not answer).
        const result = await syncIntegrations(call, { readyIds: starting, defaultHostOnly: true });
        if (result.gateway.ok && result.monitoring.ok) {
          if (before) {
            const was = new Set(before[0]);
            const now = new Set(serving.map((c) => c.id));
            const went = containers.filter((c) => was.has(c.id) && !now.has(c.id) && !isIdleStopped(c)).map((c) => c.key);
            const came = serving.filter((c) => !was.has(c.id)).map((c) => c.key);
            if (went.length || came.length) ctx.emit({ type: 'serving-changed', unrouted: went, routed: came });
          }
          lastServing = signature;
        }
      }
    } finally {
      await lock.release();
    }
  };

  const evictPeersOf = async (key: string, options: { drainMs?: number } = {}): Promise<EvictResult> => {
    const spec = watchedSpecs(ctx.config.models).find((m) => m.key === key);
    if (!spec) return { ok: false, model: key, status: 404, error: `${key} is not a model of stack ${ctx.name} that sleeps or stops when idle` };
    if (!spec.swapGroup) return { ok: true, model: key };
    try {
      await exclusive(spec, () => evictPeers(spec, options.drainMs ?? 60_000));
      // The member being started holds the group from now on (as a wake would).
      holders.set(spec.swapGroup, spec.key);
      return { ok: true, model: key };
    } catch (error) {
      return { ok: false, model: key, status: 503, error: (error as Error).message };
    }
  };

  return {
    acquire,
    evictPeersOf,
    reload: () => ctx.reloadConfig(),
    tick,
    models: () =>
      watchedSpecs(ctx.config.models).map((spec) => {
        const t = track(spec);
        return {
          key: t.key,
          servedModelName: t.servedModelName,
          ...(t.container ? { container: t.container } : {}),
          phase: t.phase,
          lastRequestAt: t.lastRequestAt ? new Date(t.lastRequestAt).toISOString() : null,
          wakes: t.wakes,
        };
      }),
    metrics: () => latency.text(watchedSpecs(ctx.config.models).map((spec) => ({ model: spec.servedModelName, phase: track(spec).phase }))),
    async run(signal) {
      while (!signal.aborted) {
        try {
          await tick();
        } catch (error) {
          ctx.emit({ type: 'note', level: 'warn', message: `watcher: ${(error as Error).message}` });
        }
        await delay(options.intervalMs ?? 2000, signal).catch(() => {});
      }
    },
  };
}

/** The container that serves a model: the one with its usual name, else any of its containers. */
function primary(containers: readonly ModelContainer[], spec: ModelSpec): ModelContainer | undefined {
  const own = containers.filter((c) => c.key === spec.key);
  return own.find((c) => c.name === spec.containerName) ?? own.find((c) => c.state === 'running') ?? own[0];
}

function delay(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
