import type { ModelSpec } from '@inferstack/config';
import { LABEL_STACK, inspectService, listServices, planService, type DockerClient, type ServiceChange, type ServiceSpec } from '@inferstack/docker-ops';
import type { StackContext } from '../context.js';
import type { ReachedHost } from '../hosts/hosts.js';
import { pendingFiles } from './files.js';
import { otherHostServices, type AddressedHost } from './host-services.js';
import { wantedServices, type ServiceDefinition } from './registry.js';

/*
 * The infrastructure part of a plan: per service, what `up` would do with its container, decided
 * by the very function `ensureService` carries out (`planService` of docker-ops), from the same
 * specs, and the files `up` would write for it, compared and not written.
 */

/** What `up` would do with one infrastructure service. */
export interface ServicePlan {
  /** The service's id in the registry (`gateway`, `prometheus`, ...). */
  service: string;
  container: string;
  /** Set for the exporters of a host other than the default one. */
  host?: string;
  /**
   * `create` (missing), `recreate` (its spec changed), `start` (stopped), `keep`, `reload` (kept,
   * and a file it mounts changes: it is told to read it again, no restart), `conflict` (a
   * container of that name is not this stack's: `up` leaves it and fails for this service).
   */
  action: 'create' | 'recreate' | 'start' | 'keep' | 'reload' | 'conflict';
  /**
   * `recreate`: the spec fields that differ (`image`, `ports`, `env`, `mounts`, `command`, ...;
   * `secrets` when only a secret did); empty for a container made before serve recorded them.
   */
  changed?: string[];
  /** The files it mounts that `up` would write (missing, or holding something else now). */
  files?: string[];
  /** `conflict`: the stack the container of that name belongs to; absent when serve did not make it. */
  owner?: string;
  /**
   * Another host's DCGM exporter in auto mode: `up` runs it only where it finds NVIDIA GPUs there,
   * which it asks with a short container; a plan creates none, so it cannot know.
   */
  ifGpus?: boolean;
}

/** Whether a service plan changes anything (for `plan --exit-code`). */
export function serviceChanges(services: readonly ServicePlan[]): boolean {
  return services.some((s) => s.action !== 'keep' || (s.files?.length ?? 0) > 0);
}

/**
 * One service's plan line from the decision on its container and the files `up` would write.
 * Pure. A kept container reloads when a written file asks for it and the service can reload.
 */
export function servicePlanLine(
  service: Pick<ServiceDefinition, 'id' | 'reload'>,
  container: string,
  change: ServiceChange,
  files: ReadonlyArray<{ path: string; reload?: boolean }> = [],
): ServicePlan {
  const written = files.length > 0 ? { files: files.map((f) => f.path) } : {};
  const base = { service: service.id, container };
  switch (change.action) {
    case 'recreate':
      return { ...base, action: 'recreate', changed: change.changed, ...written };
    case 'conflict':
      return { ...base, action: 'conflict', ...(change.owner !== undefined ? { owner: change.owner } : {}), ...written };
    case 'keep':
      return { ...base, action: service.reload && files.some((f) => f.reload !== false) ? 'reload' : 'keep', ...written };
    default:
      return { ...base, action: change.action, ...written };
  }
}

/**
 * What `up` would do with the infrastructure: the services of the default host (when reached),
 * then the exporters of the other hosts reached. `models`: per host, the models `up` would work
 * on there (another host's GPUs are asked only where it has GPU models). Writes nothing, creates
 * nothing; containers of the stack's services that `up` leaves alone are named in `warnings`.
 */
export async function planServices(
  ctx: StackContext,
  hosts: ReadonlyArray<{ reached: ReachedHost; models: readonly ModelSpec[] }>,
): Promise<{ services: ServicePlan[]; warnings: string[] }> {
  const services: ServicePlan[] = [];
  const warnings: string[] = [];
  const stack = ctx.labels[LABEL_STACK];
  const decide = async (docker: DockerClient, spec: ServiceSpec) =>
    planService(spec, await inspectService(docker, spec.name), { hashKey: ctx.hashKey, ...(stack ? { stack } : {}) });

  const home = hosts.find((h) => h.reached.host.local);
  if (home) {
    const wanted = await wantedServices(ctx);
    const lines = await Promise.all(
      wanted.map(async (service) => {
        const files = pendingFiles((await service.files?.(ctx)) ?? []);
        const spec = await service.spec(ctx);
        return servicePlanLine(service, spec.name, await decide(home.reached.docker, spec), files);
      }),
    );
    services.push(...lines);
    warnings.push(...(await leftovers(ctx, home.reached, lines, (s) => s.configured(ctx.config))));
  }

  const exporters = otherHostServices(ctx);
  const others = hosts.filter((h): h is { reached: ReachedHost & { host: AddressedHost }; models: readonly ModelSpec[] } => !h.reached.host.local && h.reached.host.address !== undefined);
  await Promise.all(
    others.map(async ({ reached, models }) => {
      const lines: ServicePlan[] = [];
      for (const service of exporters) {
        // As up: wanted where configured; in auto mode only where it finds GPUs, which it asks
        // (with a container) only where the host has GPU models.
        const wanted = service.onOtherHosts.wanted;
        const sure = !wanted || wanted(ctx.config, 'unavailable');
        if (!sure && !models.some((m) => m.gpus.kind !== 'none')) continue;
        const spec = service.onOtherHosts.spec(ctx.config, reached.host);
        lines.push({ ...servicePlanLine(service, spec.name, await decide(reached.docker, spec)), host: reached.host.name, ...(sure ? {} : { ifGpus: true }) });
      }
      services.push(...lines);
      warnings.push(...(await leftovers(ctx, reached, lines, (s) => s.onOtherHosts !== undefined && s.configured(ctx.config))));
    }),
  );
  return { services, warnings };
}

/**
 * The stack's service containers on a host that `up` would not touch: a service no longer
 * configured (neither `up` nor `down --all` removes it), or one configured that `up` does not
 * run here now (`down --all` removes it).
 */
async function leftovers(ctx: StackContext, reached: ReachedHost, planned: readonly ServicePlan[], removedByDown: (s: ServiceDefinition) => boolean): Promise<string[]> {
  const own = (await listServices(reached.docker)).filter((c) => c.stack === ctx.name && !planned.some((p) => p.container === c.name));
  const where = reached.host.local ? '' : ` on host ${reached.host.name}`;
  return own.map((c) => {
    const service = ctx.services.find((s) => s.containerName(ctx.config) === c.name);
    return service && removedByDown(service)
      ? `${c.name} (${c.kind})${where} is not run by up now; up leaves it as it is, down --all removes it`
      : `${c.name} (${c.kind})${where} is no longer configured; neither up nor down --all removes it ("docker rm -f ${c.name}" does)`;
  });
}
