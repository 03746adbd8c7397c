import type { ModelSpec } from '@inferstack/config';
import { isIdleStopped, metricsText, parseVllmLoad, type ModelContainer } from '@inferstack/docker-ops';
import { stackContainers } from '../models/containers.js';
import { servingModels } from '../models/serving.js';
import { forCall } from '../stack-context.js';
import { syncIntegrations } from '../sync/sync.js';
import { putAway } from './put-away.js';
import { scaleTick } from './scale.js';
import { exclusive, primary, reach, track, watchedSpecs, whenUnlocked, type WatcherState } from './state.js';

/*
 * One look at every model, each interval: its phase and last use from Docker and the model's
 * own counters, the idle ones put away (their idle policy's timer run out), and the gateway and
 * Prometheus re-pointed when the set of serving models changed.
 */

/** One look at every model: put idle ones away, re-sync when the serving set changed. */
export async function tick(s: WatcherState): Promise<void> {
  const { ctx, settleMs } = s;
  const docker = await ctx.docker();
  const containers = await stackContainers(ctx);
  const due: Array<{ spec: ModelSpec; container: ModelContainer }> = [];
  await Promise.all(
    watchedSpecs(ctx.config.models).map(async (spec) => {
      const t = track(s, spec);
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
      const text = await metricsText(docker, c, reach(ctx));
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
  // Models with a replica range: a lasting queue adds a replica, a long calm takes one away.
  await scaleTick(s, containers);
  // A model a request is starting keeps its route while it loads: the request waits for it.
  const starting = new Set([...s.tracked.values()].flatMap((t) => (t.startingId ? [t.startingId] : [])));
  const serving = await servingModels(containers, { network: ctx.config.network, local: ctx.local, readyIds: starting });
  const signature = JSON.stringify([serving.map((c) => c.id).sort(), containers.filter(isIdleStopped).map((c) => c.id).sort()]);
  if (due.length === 0 && signature === s.lastServing) return;
  // Changes wait for a running `serve up` (it holds the stack's lock, and syncs itself).
  await whenUnlocked(ctx, 'serve watch', async () => {
    let putAwayNow = false;
    for (const { spec, container } of due) {
      await exclusive(s, spec, async () => {
        // Asked for while waiting in the queue: it stays.
        if (Date.now() - track(s, spec).lastActive < Math.max(spec.idle?.afterMs ?? 0, settleMs)) return;
        if (await putAway(s, spec, container, 'idle', 0)) putAwayNow = true;
      }).catch((error: Error) => ctx.emit({ type: 'note', level: 'warn', message: `${spec.key} could not be put away: ${error.message}` }));
    }
    // What serves was read before the models went away: the next look syncs once, with what is.
    if (signature !== s.lastServing && !putAwayNow) {
      const before = s.lastServing ? (JSON.parse(s.lastServing) as string[][]) : undefined;
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
        s.lastServing = signature;
      }
    }
  });
}
