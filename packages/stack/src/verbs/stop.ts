import { LOCAL_HOST } from '@inferstack/config';
import { isIdleStopped, removeContainer, removeNetwork, removeStackIdentity, setRestartPolicy, stopContainer, type ModelContainer } from '@inferstack/docker-ops';
import { stackContainers } from '../models/containers.js';
import type { StackContext } from '../context.js';
import { shownPath } from '../_paths.js';
import { StackInputError } from '../errors.js';
import { drain } from '../models/drain.js';
import { privateNetworkName } from '../models/networks.js';
import { syncIntegrations, type SyncResult } from '../sync/sync.js';
import { hasSeveralHosts, hostsOf, onEachHost, reachHosts } from '../hosts/hosts.js';
import { withHostLocks } from '../hosts/lock.js';
import type { HostPlanStatus } from './plan.js';
import { removeOtherHostServices } from '../services/host-services.js';
import { removeServices, type ServiceRemoval } from '../services/registry.js';

/** Options of `stop`. */
export interface StopOptions {
  /** Only these models. @default every model container of the stack */
  models?: readonly string[];
  /** Seconds vLLM gets to shut down before SIGKILL. @default 30 */
  timeoutSeconds?: number;
  /** How long each model gets to finish its requests (after it is unrouted) before it is stopped. @default 60_000 */
  drainTimeoutMs?: number;
}

/** Options of `down`. */
export interface DownOptions extends StopOptions {
  /** Also remove the infrastructure (gateway, Prometheus, exporters, Grafana) and the network. */
  all?: boolean;
  /** With `all`: also their named volumes (database, Prometheus and Grafana data). */
  volumes?: boolean;
}

/** What happened to one model container in `stop` / `down` (`host`: with several Docker hosts, which one). */
export type ModelStopOutcome = { model: string; container: string; ok: true; host?: string } | { model: string; container: string; ok: false; error: Error; host?: string };

/** What `stop` / `down` did. */
export interface StopResult {
  ok: boolean;
  models: ModelStopOutcome[];
  /** `down --all`: the service containers removed (`host`: on another Docker host than the default one). */
  services: Array<ServiceRemoval & { host?: string }>;
  /** The deregistration from the gateway and Prometheus, before anything stopped. */
  sync?: SyncResult;
  /** Each Docker host: done, or why not (it could not be reached: its models were left as they are). */
  hosts: HostPlanStatus[];
}

/**
 * The containers `stop`/`down` act on: the named models (an unknown name that has no container
 * is an error, not a silent skip), or every model container.
 */
function targets(ctx: StackContext, models: readonly string[] | undefined, all: ModelContainer[]): ModelContainer[] {
  if (!models || models.length === 0) return all;
  const { config } = ctx;
  const notInConfig = models.filter((m) => !all.some((c) => c.key === m) && !config.models.some((s) => s.key === m));
  if (notInConfig.length > 0) {
    // Names in the config that merely are not running are fine; others are a typo.
    throw new StackInputError(`no model named ${notInConfig.map((m) => `"${m}"`).join(', ')} in ${shownPath(ctx.cwd, config.file)} and no container of that name`, {
      hint: `models: ${[...new Set([...config.models.map((s) => s.key), ...all.map((c) => c.key)])].join(', ') || 'none'}`,
    });
  }
  return all.filter((c) => models.includes(c.key));
}

/** Whether every model and service went as asked. */
function clean(models: readonly { ok: boolean }[], services: readonly { ok: boolean }[]): boolean {
  return models.every((m) => m.ok) && services.every((s) => s.ok);
}

/**
 * `stop` and `down`: deregister the models from the gateway and Prometheus first (so nothing is
 * routed to a server that goes away), then stop (or remove) their containers. `down --all` also
 * removes the stack's services and, once nothing else uses it, its network.
 */
export async function stopOrDown(ctx: StackContext, mode: 'stop' | 'down', options: DownOptions = {}): Promise<StopResult> {
  if (options.volumes && !options.all) throw new StackInputError('--volumes goes with --all', { hint: 'serve down --all --volumes' });
  if (options.all && options.models?.length) throw new StackInputError('--all removes the whole stack: name no models with it');
  const { config } = ctx;
  const requested = options.models?.length ? ` ${options.models.join(' ')}` : '';
  const { reached } = await reachHosts(ctx, { requireDefault: true, distinct: true });
  const several = hasSeveralHosts(config);
  return withHostLocks(ctx, reached, `serve ${mode}${requested}`, async (locked) => {
    const listed = await onEachHost(ctx, locked, (r) => stackContainers(ctx, undefined, { host: r.host.name, docker: r.docker }));
    const all = listed.results.flatMap((r) => r.value);
    const clientOf = new Map(listed.results.map((r) => [r.host.name, locked.find((l) => l.host === r.host)!.docker]));
    const unknownHosts = new Set(ctx.hostFailures.keys());
    const containers = targets(ctx, options.models, all);
    // With --all a managed gateway and Prometheus go too: nothing to deregister from. An external
    // one stays (shared, maybe, with other stacks): our models leave it first.
    const external = config.gateway.mode === 'external' || config.monitoring.mode === 'external';
    const sync =
      containers.length > 0 && (!options.all || external)
        ? await syncIntegrations(ctx, { excludingIds: new Set(containers.map((c) => c.id)), containers: all, unknownHosts })
        : undefined;
    // Requests in flight finish before the servers go (vLLM cuts them on SIGTERM).
    await Promise.all(containers.filter((c) => c.state === 'running').map((c) => drain(ctx, c, options.drainTimeoutMs)));
    const timeoutSeconds = options.timeoutSeconds ?? 30;
    const models = await Promise.all(
      containers.map(async (c): Promise<ModelStopOutcome> => {
        const docker = clientOf.get(c.host ?? LOCAL_HOST)!;
        try {
          if (mode === 'stop') {
            // A model the watcher stopped for being idle is a user's stop from now on: it is no
            // longer routed, and no request starts it again (the restart policy marks it).
            if (isIdleStopped(c)) await setRestartPolicy(docker, c.id, 'unless-stopped');
            await stopContainer(docker, c.id, timeoutSeconds);
            ctx.emit({ type: 'stopped', key: c.key, container: c.name });
          } else {
            await removeContainer(docker, c.id, { timeoutSeconds });
            ctx.emit({ type: 'removed', key: c.key });
          }
          return { model: c.key, container: c.name, ok: true, ...(several ? { host: c.host ?? LOCAL_HOST } : {}) };
        } catch (error) {
          ctx.emit({ type: 'stop-failed', key: c.key, container: c.name, error: error as Error });
          return { model: c.key, container: c.name, ok: false, error: error as Error, ...(several ? { host: c.host ?? LOCAL_HOST } : {}) };
        }
      }),
    );
    const services = options.all
      ? [
          ...(await removeServices(ctx, { volumes: Boolean(options.volumes), timeoutSeconds: options.timeoutSeconds })),
          ...(await removeOtherHostServices(ctx, locked, { volumes: Boolean(options.volumes), timeoutSeconds: options.timeoutSeconds })),
        ]
      : [];
    if (options.all && config.gateway.mode === 'managed' && clean(models, services)) {
      // The stack's routes, keys and wake file in the gateway's directory go with it.
      (await import('../gateway/files.js')).removeStackGatewayFiles(config, ctx.name);
    }
    if (options.all) {
      // The stack's network goes with it once nothing else is attached (another stack may share
      // it); then its identity: nothing of the stack is left to recognise. On every host.
      const cleanNow = clean(models, services);
      await Promise.all(
        locked.map(async (r) => {
          await removeNetwork(r.docker, config.network, { stack: ctx.name });
          if (r.host.local) await removeNetwork(r.docker, privateNetworkName(ctx.name), { stack: ctx.name });
          if (cleanNow) await removeStackIdentity(r.docker, ctx.name);
        }),
      );
    }
    const hosts = hostsOf(config).map((h): HostPlanStatus => {
      const f = ctx.hostFailures.get(h.name);
      return f ? { host: h.name, ok: false, error: f.error, ...(f.hint ? { hint: f.hint } : {}) } : { host: h.name, ok: true };
    });
    const ok = hosts.every((h) => h.ok) && models.every((m) => m.ok) && services.every((s) => s.ok) && (sync?.ok ?? true);
    return { ok, models, services, ...(sync ? { sync } : {}), hosts };
  });
}
