import { waitUntilDrained, type ModelContainer } from '@inferstack/docker-ops';
import type { StackContext } from '../context.js';
import { StackError } from '../errors.js';
import { hostNamed } from '../hosts/hosts.js';
import { syncIntegrations } from '../sync/sync.js';

/** How long a model gets to finish its requests before it is stopped anyway. */
export const DEFAULT_DRAIN_TIMEOUT_MS = 60_000;

/** Wait until a model has finished its requests (or the drain timeout passed), with events. */
export async function drain(ctx: StackContext, container: ModelContainer, timeoutMs = DEFAULT_DRAIN_TIMEOUT_MS): Promise<void> {
  let announced = false;
  // On its own host; only the default host's containers are reachable by address from here.
  const onDefaultHost = hostNamed(ctx.config, container.host)?.local ?? true;
  const r = await waitUntilDrained(await ctx.docker(onDefaultHost ? undefined : container.host), container, {
    network: ctx.config.network,
    local: ctx.local && onDefaultHost,
    timeoutMs,
    signal: ctx.signal,
    onWait: (inFlight) => {
      if (announced) return;
      announced = true;
      ctx.emit({ type: 'draining', key: container.key, container: container.name, inFlight });
    },
  });
  if (announced || !r.drained) ctx.emit({ type: 'drained', key: container.key, container: container.name, elapsedMs: r.elapsedMs, drained: r.drained, ...(r.inFlight !== undefined ? { inFlight: r.inFlight } : {}) });
}

/**
 * Before a model container is stopped: the gateway and Prometheus stop pointing at it (and, in a
 * rolling replacement, point at `next` instead), then it finishes its requests. When the
 * gateway cannot be told, nothing is stopped: the replacement fails and the old one serves on.
 */
export async function handOver(
  ctx: StackContext,
  old: ModelContainer,
  next: { id: string } | undefined,
  drainTimeoutMs?: number,
  /** `defaultHostOnly`: sync the default host's routes only, leaving the others as they are (the watcher's way). */
  options: { defaultHostOnly?: boolean } = {},
): Promise<void> {
  const sync = await syncIntegrations(ctx, { excludingIds: new Set([old.id]), ...(next ? { readyIds: new Set([next.id]) } : {}), ...(options.defaultHostOnly ? { defaultHostOnly: true } : {}) });
  if (!sync.gateway.ok) throw new StackError(`the gateway could not be moved off ${old.name}; it was left serving`, { hint: sync.gateway.hint, cause: sync.gateway.error });
  await drain(ctx, old, drainTimeoutMs);
}
