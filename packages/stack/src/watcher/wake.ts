import type { ModelSpec } from '@inferstack/config';
import { LockHeldError, acquireLock, isIdleStopped, setRestartPolicy, sleepState, startContainer, waitUntilReady, wakeModel, type Lock } from '@inferstack/docker-ops';
import type { StackContext } from '../context.js';
import { stackContainers } from '../models/containers.js';
import { putAway } from './put-away.js';
import { containerOf, exclusive, primary, reach, track, watchedSpecs, type AcquireResult, type EvictResult, type WatcherState } from './state.js';

/*
 * The wake path: a request through the gateway asks the watcher for its model ({@link acquire}),
 * which wakes it or starts it, first putting the other members of its swap group away; `up`
 * asks the same of a member it is about to start ({@link evictPeersOf}).
 */

/** Make sure the model served as `servedModelName` serves (wake it or start it), within its wake timeout. */
export async function acquire(s: WatcherState, servedModelName: string): Promise<AcquireResult> {
  const { ctx, holders } = s;
  const spec = watchedSpecs(ctx.config.models).find((m) => m.servedModelName === servedModelName);
  if (!spec) return { ok: false, model: servedModelName, status: 404, error: `${servedModelName} is not a model of stack ${ctx.name} that sleeps or stops when idle` };
  const t = track(s, spec);
  t.lastActive = Date.now();
  t.lastRequestAt = t.lastActive;
  // The common case answers at once: the model is awake and nothing is putting it away.
  // (A member of a swap group: once it holds the group, the others being put away.)
  if (t.phase === 'awake' && !t.acquiring && (!spec.swapGroup || holders.get(spec.swapGroup) === spec.key)) return { ok: true, model: servedModelName, woke: false };
  // Concurrent first requests share one wake. A member of a swap group changes which member
  // holds the group's GPU: under the stack's lock, so that a running `up` is not crossed.
  const timeoutMs = spec.wakeTimeoutMs ?? 600_000;
  const deadline = Date.now() + timeoutMs;
  const wake = () => exclusive(s, spec, () => bringUp(s, spec, deadline));
  t.acquiring ??= (spec.swapGroup ? underStackLock(ctx, timeoutMs, `serve watch: wake ${spec.key}`, wake) : wake())
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
}

/**
 * Put the other members of model `key`'s swap group away (before `up` starts it), on behalf of
 * a caller that holds the stack's lock.
 */
export async function evictPeersOf(s: WatcherState, key: string, options: { drainMs?: number } = {}): Promise<EvictResult> {
  const { ctx, holders } = s;
  const spec = watchedSpecs(ctx.config.models).find((m) => m.key === key);
  if (!spec) return { ok: false, model: key, status: 404, error: `${key} is not a model of stack ${ctx.name} that sleeps or stops when idle` };
  if (!spec.swapGroup) return { ok: true, model: key };
  try {
    await exclusive(s, spec, () => evictPeers(s, spec, options.drainMs ?? 60_000));
    // The member being started holds the group from now on (as a wake would).
    holders.set(spec.swapGroup, spec.key);
    return { ok: true, model: key };
  } catch (error) {
    return { ok: false, model: key, status: 503, error: (error as Error).message };
  }
}

/**
 * Wake or start a model, first putting the other members of its swap group away (they get
 * until a second before `deadline` to finish their requests: a peer still busy then fails the
 * wake, with that reason).
 */
async function bringUp(s: WatcherState, spec: ModelSpec, deadline: number): Promise<AcquireResult> {
  const { ctx, holders, latency } = s;
  const t = track(s, spec);
  const docker = await ctx.docker();
  // Seen asleep at the last look (a tick, or our own sleep): no listing or question first, the
  // wake starts at once. Waking an awake model is harmless (vLLM says "not sleeping").
  let c = t.sleeping && (t.phase === 'asleep' || t.phase === 'deep-asleep') ? t.sleeping : undefined;
  let from: 'asleep' | 'deep-asleep' | 'stopped-idle' | undefined = c ? (t.phase as 'asleep' | 'deep-asleep') : undefined;
  if (!c) {
    c = await containerOf(ctx, spec);
    if (!c) return { ok: false, model: spec.servedModelName, status: 503, error: `${spec.key} is not deployed (run "serve up")` };
    if (isIdleStopped(c)) from = 'stopped-idle';
    else if (c.state !== 'running') {
      t.phase = 'stopped';
      return { ok: false, model: spec.servedModelName, status: 503, error: `${spec.key} is ${c.state}, not stopped for being idle: "serve up" starts it` };
    } else {
      const st = await sleepState(docker, c, reach(ctx));
      if (st.asleep) from = st.level === 2 ? 'deep-asleep' : 'asleep';
    }
  }
  t.container = c.name;
  if (spec.swapGroup) await evictPeers(s, spec, Math.max(0, deadline - Date.now() - 1000));
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
      await wakeModel(docker, c, reach(ctx), { level: from === 'deep-asleep' ? 2 : 1, timeoutMs });
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
}

/**
 * The other members of `spec`'s swap group go to sleep (or stop) before it wakes. Throws when
 * one of them cannot be put away: the GPU they share holds one member at a time.
 */
async function evictPeers(s: WatcherState, spec: ModelSpec, drainMs: number): Promise<void> {
  const { ctx } = s;
  const peers = ctx.config.models.filter((m) => m.swapGroup === spec.swapGroup && m.key !== spec.key);
  if (peers.length === 0) return;
  const list = await stackContainers(ctx, peers.map((p) => p.key));
  const docker = await ctx.docker();
  for (const peer of peers) {
    const c = primary(list, peer);
    if (!c || c.state !== 'running') continue;
    const state = await sleepState(docker, c, reach(ctx)).catch(() => undefined);
    if (state?.asleep) {
      const t = track(s, peer);
      t.phase = state.level === 2 ? 'deep-asleep' : 'asleep';
      t.sleeping = c;
      continue;
    }
    // Asked to go, whatever its last request: the group's GPU is wanted by another member.
    if (!(await putAway(s, peer, c, 'swap', drainMs))) {
      throw new Error(`${peer.key}, of the same swap group (${spec.swapGroup}), is still serving requests: ${spec.key} cannot have its GPU now`);
    }
    ctx.emit({ type: 'model-swapped-out', key: peer.key, for: spec.key });
  }
}

/**
 * Hold the stack's lock while `fn` changes which member of a swap group holds its GPU: a
 * running `up` starts members one after the other under that lock, and must not see one woken
 * under it. Waits for the lock up to `waitMs`.
 */
async function underStackLock<T>(ctx: StackContext, waitMs: number, command: string, fn: () => Promise<T>): Promise<T> {
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
}
