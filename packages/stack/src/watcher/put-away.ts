import type { ModelSpec } from '@inferstack/config';
import { IDLE_STOP_POLICY, setRestartPolicy, sleepModel, stopContainer, waitUntilDrained, type DockerClient, type ModelContainer, type ModelReach } from '@inferstack/docker-ops';
import { delay, reach, track, type WatcherState } from './state.js';

/*
 * Putting a model away: the one place that sleeps a model (vLLM sleep mode level 1 or 2) or
 * stops it for being idle, whoever asks: the watcher for an idle model, the watcher or `up` for
 * the other members of a swap group. Requests in flight finish first; a model that does not
 * drain in time is not put away (its requests would die with the engine). {@link putAway} is
 * the watcher's side of it: the model's phase while it goes, the settle time, the events.
 */

/** What putting a model away does to it. */
export type PutAwayAction = 'sleep' | 'deep-sleep' | 'stop';

/** How a model is put away: its idle policy says (`then`); a swap-group member without one sleeps. */
export function putAwayAction(spec: Pick<ModelSpec, 'idle'>): PutAwayAction {
  return spec.idle?.then ?? 'sleep';
}

/** What {@link putModelAway} came to; `inFlight`: the requests at the last look (undefined when the model was too busy to say). */
export type PutAwayResult = { ok: true; action: PutAwayAction } | { ok: false; inFlight?: number };

/**
 * Drain a model (up to `drainMs`), then put it away as its policy says. A model still busy after
 * the drain is left as it is (`ok: false`). A stopped model gets the restart policy that marks it
 * idle-stopped (the next request starts it).
 */
export async function putModelAway(
  docker: DockerClient,
  container: ModelContainer,
  spec: Pick<ModelSpec, 'idle'>,
  options: { reach: ModelReach; drainMs: number; signal?: AbortSignal },
): Promise<PutAwayResult> {
  const drained = await waitUntilDrained(docker, container, { ...options.reach, timeoutMs: options.drainMs, signal: options.signal });
  if (!drained.drained) return { ok: false, ...(drained.inFlight !== undefined ? { inFlight: drained.inFlight } : {}) };
  const action = putAwayAction(spec);
  if (action === 'stop') {
    // The restart policy tells an idle stop from a user's `serve stop` (see IDLE_STOP_POLICY).
    await setRestartPolicy(docker, container.id, IDLE_STOP_POLICY);
    await stopContainer(docker, container.id, 30);
  } else {
    await sleepModel(docker, container, options.reach, action === 'deep-sleep' ? 2 : 1);
  }
  return { ok: true, action };
}

/**
 * Put a model away (see {@link putModelAway}). Returns false when it was used meanwhile, and says so
 * when it was still busy after the drain (it is then left serving). `drainMs` counts from now, the
 * settle time included: a wake that evicts a peer answers within its wake timeout.
 */
export async function putAway(s: WatcherState, spec: ModelSpec, c: ModelContainer, reason: 'idle' | 'swap', drainMs: number): Promise<boolean> {
  const { ctx, settleMs } = s;
  // The settle time below is part of the drain: a swap's caller has a deadline to keep.
  const drainEnd = Date.now() + drainMs;
  const t = track(s, spec);
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
    const result = await putModelAway(docker, c, spec, { reach: reach(ctx), drainMs: Math.max(0, drainEnd - Date.now()), signal: ctx.signal });
    if (!result.ok) {
      t.phase = before;
      ctx.emit({ type: 'note', level: 'warn', message: `${spec.key} still has ${result.inFlight ?? 'some'} request(s) in flight: not put away` });
      return false;
    }
    if (result.action === 'stop') t.phase = 'stopped-idle';
    else {
      t.phase = result.action === 'deep-sleep' ? 'deep-asleep' : 'asleep';
      t.sleeping = c;
    }
    if (spec.swapGroup && s.holders.get(spec.swapGroup) === spec.key) s.holders.delete(spec.swapGroup);
    ctx.emit({ type: 'model-put-away', key: spec.key, container: c.name, action: result.action, reason });
    return true;
  } catch (error) {
    t.phase = before;
    throw error;
  }
}
