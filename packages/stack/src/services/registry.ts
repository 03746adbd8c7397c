import type { StackConfig } from '@inferstack/config';
import { ensureService, listServices, removeServiceContainer } from '@inferstack/docker-ops';
import type { ServiceDefinition, StackContext } from '../context.js';
import type { ServiceOutcome, ServiceRemoval, ServiceStatus } from './types.js';

export type { OtherHostService, ServiceDefinition } from '../context.js';
export type { ServiceAction, ServiceOutcome, ServiceRemoval, ServiceStatus } from './types.js';
import { ServiceError } from '../errors.js';
import { writeServiceFiles } from './files.js';

/**
 * The services of `registry` this config runs now, in an order where each comes after what it
 * depends on (registry order otherwise).
 */
export async function wantedServices(ctx: StackContext): Promise<ServiceDefinition[]> {
  const configured = ctx.services.filter((s) => s.configured(ctx.config));
  const wanted = await Promise.all(configured.map(async (s) => (s.wanted ? s.wanted(ctx) : true)));
  return dependencyOrder(configured.filter((_, i) => wanted[i]));
}

/** Registry order, moved where needed so that every service follows its dependencies. */
export function dependencyOrder(services: readonly ServiceDefinition[]): ServiceDefinition[] {
  const byId = new Map(services.map((s) => [s.id, s]));
  const out: ServiceDefinition[] = [];
  const visiting = new Set<string>();
  const visit = (s: ServiceDefinition) => {
    if (out.includes(s)) return;
    if (visiting.has(s.id)) throw new Error(`services depend on each other in a cycle through "${s.id}"`);
    visiting.add(s.id);
    for (const dep of [...(s.dependsOn ?? []), ...(s.after ?? [])]) {
      const d = byId.get(dep);
      if (d) visit(d);
    }
    visiting.delete(s.id);
    out.push(s);
  };
  for (const s of services) visit(s);
  return out;
}

/**
 * Make every wanted service match the config: create, recreate (spec changed), start, or keep
 * it (reloading its files when they changed), then wait for it where it says how. A failure is
 * reported, never thrown; services that depend on a failed one are skipped.
 */
export async function ensureServices(ctx: StackContext, services: readonly ServiceDefinition[]): Promise<ServiceOutcome[]> {
  const outcomes: ServiceOutcome[] = [];
  const failed = new Set<string>();
  if (services.length === 0) return outcomes;
  const docker = await ctx.docker();
  for (const service of services) {
    const container = service.containerName(ctx.config);
    const blocker = (service.dependsOn ?? []).find((d) => failed.has(d));
    if (blocker) {
      failed.add(service.id);
      const error = new ServiceError(service.id, `not started: ${blocker} failed`);
      outcomes.push({ service: service.id, container, ok: false, error, skipped: 'dependency-failed' });
      ctx.emit({ type: 'service-failed', service: service.id, container, error });
      continue;
    }
    try {
      const { changed } = await prepareService(ctx, service);
      const result = await ensureService(docker, await service.spec(ctx), { hashKey: ctx.hashKey, extraLabels: ctx.labels });
      let reloaded = false;
      if (result.action === 'kept' && changed && service.reload) {
        await service.reload(ctx);
        reloaded = true;
      }
      if (result.action !== 'kept') await service.ready?.(ctx);
      outcomes.push({ service: service.id, container, ok: true, action: result.action, reloaded });
      ctx.emit({ type: 'service-ready', service: service.id, container, action: result.action, reloaded, ...(service.url?.(ctx.config) ? { url: service.url(ctx.config)! } : {}) });
    } catch (error) {
      failed.add(service.id);
      outcomes.push({ service: service.id, container, ok: false, error: error as Error });
      ctx.emit({ type: 'service-failed', service: service.id, container, error: error as Error });
    }
  }
  return outcomes;
}

/**
 * Write a service's files where they differ and run its `prepare`. Returns whether a kept
 * container must reload: a file that asks for it was written, or `prepare` said so.
 */
export async function prepareService(ctx: StackContext, service: ServiceDefinition): Promise<{ changed: boolean }> {
  const written = await writeServiceFiles(ctx, (await service.files?.(ctx)) ?? []);
  const prepared = (await service.prepare?.(ctx)) ?? { changed: false };
  return { changed: prepared.changed || written.some((f) => f.reload !== false) };
}

/**
 * Remove the service containers this config runs (all configured ones, also those `up` did not
 * start here, such as the DCGM exporter of another host), with their named volumes on request.
 * Only containers that carry our service label are touched.
 */
export async function removeServices(ctx: StackContext, options: { volumes: boolean; timeoutSeconds?: number }): Promise<ServiceRemoval[]> {
  const configured = ctx.services.filter((s) => s.configured(ctx.config));
  if (configured.length === 0) return [];
  const docker = await ctx.docker();
  // Ours only: a container of that name made by someone else (or another stack) stays.
  const existing = (await listServices(docker)).filter((s) => s.stack === undefined || s.stack === ctx.name);
  // Dependents first: Grafana before Prometheus, the gateway before its database.
  const order = dependencyOrder(configured).reverse();
  const results: ServiceRemoval[] = [];
  await Promise.all(
    order.map(async (service) => {
      const container = service.containerName(ctx.config);
      const found = existing.find((c) => c.name === container);
      if (!found) return;
      try {
        await removeServiceContainer(docker, found.id, { volumes: options.volumes, timeoutSeconds: options.timeoutSeconds ?? 10 });
        results.push({ service: service.id, container, ok: true });
        ctx.emit({ type: 'service-removed', service: service.id, container, volumes: options.volumes });
      } catch (error) {
        results.push({ service: service.id, container, ok: false, error: error as Error });
        ctx.emit({ type: 'service-failed', service: service.id, container, error: error as Error });
      }
    }),
  );
  return order.flatMap((s) => results.filter((r) => r.service === s.id));
}

/**
 * The services this config runs, as they are on the daemon. A service whose absence is normal
 * (the DCGM exporter on a host without GPUs) is listed only when its container exists.
 */
export function serviceStatuses(
  config: StackConfig,
  services: readonly ServiceDefinition[],
  containers: ReadonlyArray<{ name: string; state: string }>,
): ServiceStatus[] {
  return services
    .filter((s) => s.configured(config))
    .flatMap((s) => {
      const container = s.containerName(config);
      const found = containers.find((c) => c.name === container);
      if (!found && s.absentIsNormal?.(config)) return [];
      return [{ service: s.id, container, state: found?.state ?? 'absent', url: s.url?.(config) ?? null }];
    });
}
