import type { HostSpec, StackConfig } from '@inferstack/config';
import { ensureService, listServices, removeServiceContainer, type GpuInfo, type ServiceSpec } from '@inferstack/docker-ops';
import type { StackContext } from '../context.js';
import { ServiceError } from '../errors.js';
import { writeServiceFiles, type ServiceFile } from './files.js';

/** What `up` did with a service container. */
export type ServiceAction = 'created' | 'recreated' | 'started' | 'kept';

/**
 * One infrastructure service of a stack, declared once and read by every verb: `up` starts the
 * wanted ones in dependency order, `down --all` removes the configured ones, `status` lists
 * them with their URL, `exportCompose` writes them into the compose file.
 */
export interface ServiceDefinition {
  /** Stable name, e.g. `gateway`, `prometheus`. */
  readonly id: string;
  /** Whether this config runs it at all. */
  configured(config: StackConfig): boolean;
  /**
   * Whether `up` starts it now, for services that depend on the host (the DCGM exporter runs
   * only where there are GPUs). @default configured
   */
  wanted?(ctx: StackContext): Promise<boolean>;
  /** Its container name. */
  containerName(config: StackConfig): string;
  /** Services that must be up first (and ready, where they say how): when one fails, this one is not started. */
  readonly dependsOn?: readonly string[];
  /** Services started before this one when both run, without depending on them. */
  readonly after?: readonly string[];
  /**
   * The files it mounts (a config, provisioning), as they should be; reads, never writes. `up`
   * writes those that differ before the container is made or kept, and `plan` shows them (and
   * the reload they cause) without writing.
   */
  files?(ctx: StackContext): Promise<ServiceFile[]>;
  /**
   * Other work before its container is made or kept, after its {@link files} are written (a
   * directory it mounts). `changed`: a running container must reload (see {@link reload}).
   * `plan` cannot see what it does: give files through {@link files}.
   */
  prepare?(ctx: StackContext): Promise<{ changed: boolean }>;
  /** Its container: image, command, environment (secrets apart), mounts, ports. */
  spec(ctx: StackContext): ServiceSpec | Promise<ServiceSpec>;
  /** Its container as the compose and Kubernetes exports write it, when not {@link spec}. */
  exportSpec?(ctx: StackContext): ServiceSpec | Promise<ServiceSpec>;
  /** Wait until it serves, after it was created, recreated or started. */
  ready?(ctx: StackContext): Promise<void>;
  /** Make a kept container read the files that changed ({@link files}, {@link prepare}). */
  reload?(ctx: StackContext): Promise<void>;
  /** Where a user reaches it from this machine, if anywhere. */
  url?(config: StackConfig): string | undefined;
  /** Whether a missing container is normal for this config (it runs only where the host has GPUs). */
  absentIsNormal?(config: StackConfig): boolean;
  /**
   * Also run on every other Docker host (`hosts:`) that has an address: the exporters, which
   * Prometheus scrapes on each host (see services/host-services.ts).
   */
  onOtherHosts?: OtherHostService;
}

/** How a service runs on the other Docker hosts of a stack. */
export interface OtherHostService {
  /** The port Prometheus scrapes: published on the host's address, on a port Docker picks. */
  readonly port: number;
  /** Its container there. */
  spec(config: StackConfig, host: HostSpec & { address: string }): ServiceSpec;
  /** Whether it runs on this host, given the host's GPUs (`unavailable`: unknown). @default configured */
  wanted?(config: StackConfig, gpus: GpuInfo[] | 'unavailable'): boolean;
}

/** What happened to one service in `up`. */
export type ServiceOutcome =
  | { service: string; container: string; ok: true; action: ServiceAction; reloaded: boolean }
  | { service: string; container: string; ok: false; error: Error; skipped?: 'dependency-failed' };

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

/** What `down --all` did with one service container. */
export type ServiceRemoval = { service: string; container: string; ok: true } | { service: string; container: string; ok: false; error: Error };

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

/** One row of the infrastructure part of `status`. */
export interface ServiceStatus {
  service: string;
  container: string;
  /** Docker's state, or `absent`. */
  state: string;
  url: string | null;
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
