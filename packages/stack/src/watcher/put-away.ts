import type { ModelSpec } from '@inferstack/config';
import { IDLE_STOP_POLICY, setRestartPolicy, sleepModel, stopContainer, waitUntilDrained, type DockerClient, type ModelContainer, type ModelReach } from '@inferstack/docker-ops';

/*
 * Putting a model away: the one place that sleeps a model (vLLM sleep mode level 1 or 2) or
 * stops it for being idle, whoever asks: the watcher for an idle model, the watcher or `up` for
 * the other members of a swap group. Requests in flight finish first; a model that does not
 * drain in time is not put away (its requests would die with the engine).
 */

/** What putting a model away does to it. */
export type PutAwayAction = 'sleep' | 'deep-sleep' | 'stop';

/** How a model is put away: its idle policy says (`then`); a swap-group member without one sleeps. */
export function putAwayAction(spec: Pick<ModelSpec, 'idle'>): PutAwayAction {
  return spec.idle?.then ?? 'sleep';
}

/** What {@link putModelAway} came to. */
export type PutAwayResult = { ok: true; action: PutAwayAction } | { ok: false; inFlight: number };

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
  if (!drained.drained) return { ok: false, inFlight: drained.inFlight ?? 0 };
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
