import type { HostSpec, StackConfig } from '@inferstack/config';
import { ensureService, listServices, removeServiceContainer, type GpuInfo, type ServiceContainer } from '@inferstack/docker-ops';
import type { HostTarget } from '@inferstack/prometheus-sync';
import type { StackContext } from '../context.js';
import { hostsOf, reachHosts, type ReachedHost } from '../hosts/hosts.js';
import type { ServiceDefinition, ServiceOutcome, ServiceRemoval, ServiceStatus } from './registry.js';

/*
 * The services that run on every Docker host of a stack, not only on the default one: the
 * exporters (`onOtherHosts` in the registry). On another host each publishes its port on the
 * host's address only, on a port Docker picks, and Prometheus (on the default host) scrapes it
 * there: the port is read back from Docker when prometheus.yml is written.
 */

/** A host other than the default one that has an address the default host reaches it on. */
export type AddressedHost = HostSpec & { address: string };

/** The other hosts that run the exporters: those with an address. */
export function exporterHosts(config: StackConfig): AddressedHost[] {
  return hostsOf(config).filter((h): h is AddressedHost => !h.local && h.address !== undefined);
}

/** The services of the registry that run on the other hosts too (and are configured). */
export function otherHostServices(ctx: StackContext): Array<ServiceDefinition & { onOtherHosts: NonNullable<ServiceDefinition['onOtherHosts']> }> {
  return ctx.services.filter((s): s is ServiceDefinition & { onOtherHosts: NonNullable<ServiceDefinition['onOtherHosts']> } => s.onOtherHosts !== undefined && s.configured(ctx.config));
}

/** A service outcome on one of the other hosts. */
export type HostServiceOutcome = ServiceOutcome & { host: string };

/**
 * Make the exporters run on each of `reached` that is another host with an address: created,
 * recreated, started or kept as on the default host. A failure is reported, never thrown.
 */
export async function ensureOtherHostServices(
  ctx: StackContext,
  reached: readonly ReachedHost[],
  gpus: (host: string) => Promise<GpuInfo[] | 'unavailable'>,
): Promise<HostServiceOutcome[]> {
  const services = otherHostServices(ctx);
  const hosts = reached.filter((r): r is ReachedHost & { host: AddressedHost } => !r.host.local && r.host.address !== undefined);
  if (services.length === 0 || hosts.length === 0) return [];
  const perHost = await Promise.all(
    hosts.map(async (r) => {
      const out: HostServiceOutcome[] = [];
      const hostGpus = await gpus(r.host.name);
      for (const service of services) {
        if (service.onOtherHosts.wanted && !service.onOtherHosts.wanted(ctx.config, hostGpus)) continue;
        const spec = service.onOtherHosts.spec(ctx.config, r.host);
        try {
          const result = await ensureService(r.docker, spec, { hashKey: ctx.hashKey, extraLabels: ctx.labels });
          out.push({ host: r.host.name, service: service.id, container: spec.name, ok: true, action: result.action, reloaded: false });
          ctx.emit({ type: 'service-ready', service: service.id, container: spec.name, action: result.action, reloaded: false, host: r.host.name });
        } catch (error) {
          out.push({ host: r.host.name, service: service.id, container: spec.name, ok: false, error: error as Error });
          ctx.emit({ type: 'service-failed', service: service.id, container: spec.name, error: error as Error, host: r.host.name });
        }
      }
      return out;
    }),
  );
  return perHost.flat();
}

/** The stack's service containers on a host (ours only: another stack's or a stranger's stay out). */
async function ownServices(ctx: StackContext, r: ReachedHost): Promise<ServiceContainer[]> {
  return (await listServices(r.docker)).filter((s) => s.stack === ctx.name);
}

/**
 * Where Prometheus reaches the exporters of the other hosts: each host's address and the port
 * its exporter publishes there. Hosts that cannot be reached now are left out (their series
 * come back with the next `up` that reaches them).
 */
export async function otherHostExporters(ctx: StackContext): Promise<{ nodeExporter: HostTarget[]; dcgm: HostTarget[] }> {
  const out = { nodeExporter: [] as HostTarget[], dcgm: [] as HostTarget[] };
  const services = otherHostServices(ctx);
  const hosts = exporterHosts(ctx.config);
  if (services.length === 0 || hosts.length === 0) return out;
  const { reached } = await reachHosts(ctx, { hosts });
  await Promise.all(
    reached.map(async (r) => {
      const address = (r.host as AddressedHost).address;
      const running = await ownServices(ctx, r).catch(() => []);
      for (const service of services) {
        const kind = service.onOtherHosts.spec(ctx.config, r.host as AddressedHost).kind;
        const found = running.find((c) => c.kind === kind && c.state === 'running');
        const port = found?.ports.find((p) => p.container === service.onOtherHosts.port)?.port;
        if (port === undefined) continue;
        const target = { target: `${address.includes(':') ? `[${address}]` : address}:${port}`, host: r.host.name };
        if (kind === 'node-exporter') out.nodeExporter.push(target);
        else if (kind === 'dcgm-exporter') out.dcgm.push(target);
      }
    }),
  );
  // Stable order: the same hosts give the same prometheus.yml (no needless reload).
  out.nodeExporter.sort((a, b) => (a.host < b.host ? -1 : 1));
  out.dcgm.sort((a, b) => (a.host < b.host ? -1 : 1));
  return out;
}

/** `down --all` on the other hosts: their exporters go (with their volumes on request). */
export async function removeOtherHostServices(ctx: StackContext, reached: readonly ReachedHost[], options: { volumes: boolean; timeoutSeconds?: number }): Promise<Array<ServiceRemoval & { host: string }>> {
  const services = otherHostServices(ctx);
  const results = await Promise.all(
    reached
      .filter((r) => !r.host.local)
      .map(async (r) => {
        const out: Array<ServiceRemoval & { host: string }> = [];
        const existing = await ownServices(ctx, r);
        for (const service of services) {
          const container = service.containerName(ctx.config);
          const found = existing.find((c) => c.name === container);
          if (!found) continue;
          try {
            await removeServiceContainer(r.docker, found.id, { volumes: options.volumes, timeoutSeconds: options.timeoutSeconds ?? 10 });
            out.push({ host: r.host.name, service: service.id, container, ok: true });
            ctx.emit({ type: 'service-removed', service: service.id, container, volumes: options.volumes, host: r.host.name });
          } catch (error) {
            out.push({ host: r.host.name, service: service.id, container, ok: false, error: error as Error });
            ctx.emit({ type: 'service-failed', service: service.id, container, error: error as Error, host: r.host.name });
          }
        }
        return out;
      }),
  );
  return results.flat();
}

/** The exporters of one other host, as `status` lists them (only those that exist there). */
export async function otherHostServiceStatuses(ctx: StackContext, r: ReachedHost): Promise<Array<ServiceStatus & { host: string }>> {
  if (r.host.local) return [];
  const existing = await ownServices(ctx, r);
  return otherHostServices(ctx).flatMap((service) => {
    const container = service.containerName(ctx.config);
    const found = existing.find((c) => c.name === container);
    if (!found) return [];
    const port = found.ports.find((p) => p.container === service.onOtherHosts.port);
    return [{ host: r.host.name, service: service.id, container, state: found.state, url: port ? `http://${port.address}:${port.port}/metrics` : null }];
  });
}
