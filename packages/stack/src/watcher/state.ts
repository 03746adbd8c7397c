import type { ModelSpec } from '@inferstack/config';
import { LockHeldError, acquireLock, type ModelContainer, type ModelReach } from '@inferstack/docker-ops';
import type { StackContext } from '../context.js';
import { stackContainers } from '../models/containers.js';
import type { WakeLatency } from './wake-latency.js';
import type { ScaleTrack } from './scale.js';

/*
 * What a watcher knows, shared by the files of this folder: the models it looks after and their
 * phases, the queue each model (or swap group) waits in, and which member holds each swap group.
 * Nothing here imports another file of this folder but the types of wake-latency.ts and scale.ts.
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

/** What the watcher keeps of one model between two looks. */
export interface Tracked {
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

/** One watcher's memory (see the comment at the top). Lost on a restart: Docker holds the rest. */
export interface WatcherState {
  readonly ctx: StackContext;
  /** The least age of a model's last request before it is put away (see `WatcherOptions.settleMs`). */
  readonly settleMs: number;
  readonly tracked: Map<string, Tracked>;
  readonly queues: Map<string, Promise<unknown>>;
  /** The member of each swap group this watcher woke last (the others are asleep or stopped). */
  readonly holders: Map<string, string>;
  readonly latency: WakeLatency;
  /** The serving set at the last sync that went through: a change syncs again. */
  lastServing: string | undefined;
  /** The scaling models' queues and changes under way (see scale.ts), by model key. */
  readonly scaling: Map<string, ScaleTrack>;
}

/** The models a watcher looks after: those with an idle policy or a swap group. */
export function watchedSpecs(models: readonly ModelSpec[]): ModelSpec[] {
  return models.filter((m) => m.idle || m.swapGroup);
}

/**
 * How the watcher reaches a model. Models that sleep live on the stack's private network only
 * (this watcher is attached to it): their one address is used when they have none on the stack's
 * network.
 */
export function reach(ctx: StackContext): ModelReach {
  return { network: ctx.config.network, local: ctx.local };
}

/** What the watcher keeps of `spec`, made on first sight. */
export function track(s: WatcherState, spec: ModelSpec): Tracked {
  let t = s.tracked.get(spec.key);
  if (!t) {
    // A watcher (re)started knows of no request yet: the idle time counts from now. Until the
    // first look the phase is not known ('missing'): acquire takes the careful path.
    t = { key: spec.key, servedModelName: spec.servedModelName, phase: 'missing', lastActive: Date.now(), wakes: 0 };
    s.tracked.set(spec.key, t);
  }
  t.servedModelName = spec.servedModelName;
  return t;
}

/**
 * Run `fn` alone for the model: members of one swap group share one queue, so that two of
 * them never wake (or put each other away) at once.
 */
export function exclusive<T>(s: WatcherState, spec: ModelSpec, fn: () => Promise<T>): Promise<T> {
  const id = spec.swapGroup ? `group:${spec.swapGroup}` : `model:${spec.key}`;
  const run = (s.queues.get(id) ?? Promise.resolve()).then(fn, fn);
  s.queues.set(
    id,
    run.catch(() => {}),
  );
  return run;
}

/** The model's container as Docker has it now. */
export async function containerOf(ctx: StackContext, spec: ModelSpec): Promise<ModelContainer | undefined> {
  const list = await stackContainers(ctx, [spec.key]);
  return primary(list, spec);
}

/** The container that serves a model: the one with its usual name, else any of its containers. */
export function primary(containers: readonly ModelContainer[], spec: ModelSpec): ModelContainer | undefined {
  const own = containers.filter((c) => c.key === spec.key);
  return own.find((c) => c.name === spec.containerName) ?? own.find((c) => c.state === 'running') ?? own[0];
}

/** Wait `ms`, or reject with the signal's reason when it aborts first. */
export function delay(ms: number, signal?: AbortSignal): Promise<void> {
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

/**
 * Run `fn` holding the stack's lock, taken as `command`; nothing (undefined) when another run
 * holds it: a running `serve up` goes first, and syncs itself.
 */
export async function whenUnlocked<T>(ctx: StackContext, command: string, fn: () => Promise<T>): Promise<T | undefined> {
  let lock;
  try {
    lock = await acquireLock(await ctx.docker(), { command, waitMs: 0, extraLabels: ctx.labels, stack: ctx.name, signal: ctx.signal });
  } catch (error) {
    if (error instanceof LockHeldError) return undefined;
    throw error;
  }
  try {
    return await fn();
  } finally {
    await lock.release();
  }
}
