import type { StackContext } from '../context.js';
import { delay, track, watchedSpecs, type AcquireResult, type EvictResult, type Tracked, type WatchedModel, type WatcherState } from './state.js';
import { tick } from './tick.js';
import { acquire, evictPeersOf } from './wake.js';
import { WakeLatency } from './wake-latency.js';

/**
 * The watcher: the part of a stack that runs all the time. It puts models nobody asks for away
 * (vLLM sleep mode, or a stop), brings them back when a request comes through the gateway (the
 * gateway's wake hook asks {@link Watcher.acquire}), keeps the members of a swap group exclusive,
 * and re-points the gateway and Prometheus whenever the set of serving models changes (a crash, a
 * recovery, a wake from a stop). What it knows lives in Docker (containers, their state, the
 * models' own metrics): a watcher killed at any point and started again picks up from there.
 *
 * This file puts it together; the parts are state.ts (what it knows), tick.ts (the look each
 * interval, idle timers, re-sync), wake.ts (acquire and swap groups) and put-away.ts.
 */

export { watchedSpecs } from './state.js';
export type { AcquireResult, EvictResult, WatchedModel, WatchedPhase } from './state.js';

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

const MIN_SETTLE_MS = 2000;

/** Make a watcher for the stack of `ctx`. */
export function createWatcher(ctx: StackContext, options: WatcherOptions = {}): Watcher {
  const s: WatcherState = {
    ctx,
    settleMs: Math.max(options.settleMs ?? MIN_SETTLE_MS, 0),
    tracked: new Map<string, Tracked>(),
    queues: new Map<string, Promise<unknown>>(),
    holders: new Map<string, string>(),
    latency: new WakeLatency(),
    lastServing: undefined,
    scaling: new Map(),
  };

  return {
    acquire: (servedModelName) => acquire(s, servedModelName),
    evictPeersOf: (key, o = {}) => evictPeersOf(s, key, o),
    reload: () => ctx.reloadConfig(),
    tick: () => tick(s),
    models: () =>
      watchedSpecs(ctx.config.models).map((spec) => {
        const t = track(s, spec);
        return {
          key: t.key,
          servedModelName: t.servedModelName,
          ...(t.container ? { container: t.container } : {}),
          phase: t.phase,
          lastRequestAt: t.lastRequestAt ? new Date(t.lastRequestAt).toISOString() : null,
          wakes: t.wakes,
        };
      }),
    metrics: () => s.latency.text(watchedSpecs(ctx.config.models).map((spec) => ({ model: spec.servedModelName, phase: track(s, spec).phase }))),
    async run(signal) {
      while (!signal.aborted) {
        try {
          await tick(s);
        } catch (error) {
          ctx.emit({ type: 'note', level: 'warn', message: `watcher: ${(error as Error).message}` });
        }
        await delay(options.intervalMs ?? 2000, signal).catch(() => {});
      }
    },
  };
}
