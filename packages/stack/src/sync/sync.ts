import { isIdleStopped, type ModelContainer } from '@inferstack/docker-ops';
import { allStackContainers, stackContainers } from '../models/containers.js';
import type { StackContext } from '../context.js';
import type { GatewaySyncResult } from '../gateway/types.js';
import type { MonitoringSyncResult, SyncOutcome, SyncResult } from './types.js';

export type { SyncOutcome, SyncResult } from './types.js';
import { hostsOf, keptModels } from '../hosts/hosts.js';
import { servingModels } from '../models/serving.js';

/** Options of a sync. */
export interface SyncOptions {
  /** Change nothing; the results hold the plan. */
  dryRun?: boolean;
  /** Containers (ids) this run just saw ready. @internal */
  readyIds?: ReadonlySet<string>;
  /** Containers (ids) about to be stopped: deregistered first. @internal */
  excludingIds?: ReadonlySet<string>;
  /** The stack's model containers, when the caller has listed them already. @internal */
  containers?: ModelContainer[];
  /** With `containers`: the hosts that could not be listed. @internal */
  unknownHosts?: ReadonlySet<string>;
  /** The gateway was (re)started by this run. @internal */
  gatewayJustStarted?: boolean;
  /** The gateway failed to start: do not wait for it. @internal */
  skipGateway?: boolean;
  /**
   * Ask the default host only: the models of the other hosts keep their routes and targets as
   * they are (the watcher, which looks after the default host's models). @internal
   */
  defaultHostOnly?: boolean;
}

/**
 * Point the gateway and Prometheus at the models that really serve now. Never throws for an
 * integration: each reports its own error (also as an event).
 */
export async function syncIntegrations(ctx: StackContext, options: SyncOptions = {}): Promise<SyncResult> {
  for (const id of options.excludingIds ?? []) ctx.routing.excludedIds.add(id);
  for (const id of options.readyIds ?? []) ctx.routing.readyIds.add(id);
  // One at a time: each sees what the ones before it routed.
  const run = ctx.routing.last.then(() => syncNow(ctx, options));
  ctx.routing.last = run.catch(() => {});
  return run;
}

async function syncNow(ctx: StackContext, options: SyncOptions): Promise<SyncResult> {
  // This stack's models: those on its network (the gateway and Prometheus serve no other stack).
  let containers = options.containers;
  let unknownHosts = options.unknownHosts ?? new Set<string>();
  let notAsked = new Set<string>();
  if (!containers && options.defaultHostOnly) {
    containers = await stackContainers(ctx);
    notAsked = new Set(hostsOf(ctx.config).filter((h) => !h.local).map((h) => h.name));
  } else if (!containers) {
    const listed = await allStackContainers(ctx);
    containers = listed.containers;
    unknownHosts = new Set(listed.failed.map((f) => f.host));
  }
  // Read once the hosts were reached: their addresses resolved, the identity's key adopted.
  const { config } = ctx;
  const candidates = containers.filter((c) => !ctx.routing.excludedIds.has(c.id));
  const serving = await servingModels(candidates, { network: config.network, readyIds: ctx.routing.readyIds, local: ctx.local, config });
  // A model the watcher stopped because nobody asked for it keeps its route: the next request
  // through the gateway starts it (and waits for it). Prometheus has nothing to scrape there.
  const routed = [...serving, ...candidates.filter((c) => isIdleStopped(c) && config.models.some((m) => m.key === c.key && m.idle?.then === 'stop'))];
  // The models of a host that could not be asked keep their routes and targets as they were.
  const keep = keptModels(config, new Set([...unknownHosts, ...notAsked]));

  const gateway: SyncOutcome<GatewaySyncResult> =
    config.gateway.mode === 'none' || options.skipGateway
      ? { ok: true, skipped: true }
      : // Loaded only when there is a gateway: its HTTP client is not needed otherwise.
        await (await import('../gateway/sync.js')).syncGateway(ctx.docker, config, routed, {
          dryRun: options.dryRun,
          signal: ctx.signal,
          justStarted: options.gatewayJustStarted,
          keep,
          onNote: (message) => ctx.emit({ type: 'note', level: 'warn', message }),
          // The stack's key (read from its identity above): the same on every run and in the watcher.
          digestKey: ctx.hashKey,
        }).then(
          (result) => {
            ctx.emit({ type: 'gateway-synced', result });
            return { ok: true as const, result };
          },
          (error: Error) => {
            const hint = (error as { hint?: string }).hint ?? 'the model containers were left as they are; sync again ("serve sync") once the gateway answers';
            ctx.emit({ type: 'gateway-failed', error, hint });
            return { ok: false as const, error, hint };
          },
        );
  const monitoring: SyncOutcome<MonitoringSyncResult> =
    config.monitoring.mode === 'none'
      ? { ok: true, skipped: true }
      : await (await import('./monitoring.js')).syncMonitoring(ctx.docker, config, serving, { dryRun: options.dryRun, signal: ctx.signal, keep }).then(
          (result) => {
            ctx.emit({ type: 'prometheus-synced', result });
            return { ok: true as const, result };
          },
          async (error: Error) => {
            const { TargetsFileError } = await import('@inferstack/prometheus-sync');
            // Waiting for Prometheus does not help when the targets file cannot be written.
            const hint =
              error instanceof TargetsFileError
                ? 'monitoring.prometheus.targets-dir must be a directory serve can write; the deployment itself is fine, sync again ("serve sync") once it is'
                : 'the deployment itself is fine; sync again ("serve sync") once Prometheus answers';
            ctx.emit({ type: 'prometheus-failed', error, hint });
            return { ok: false as const, error, hint };
          },
        );
  return { serving, gateway, monitoring, unknownHosts: [...unknownHosts], ok: gateway.ok && monitoring.ok && unknownHosts.size === 0 };
}
