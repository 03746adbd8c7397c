import { defineCommand } from 'citty';
import { containersOfStack, listModelContainers, modelStatuses, type ModelStatus } from '@inferstack/docker-ops';
import { commonArgs, docker, loadStack, type CommandEnv } from '../context.js';
import { gatewayEntries } from '../stack/gateway.js';
import { modelLoads, type ModelLoad } from '../stack/metrics.js';
import { scrapeHealth } from '../stack/monitoring.js';
import { isLocalDaemon, listServices } from '@inferstack/docker-ops';
import type { StackConfig } from '@inferstack/config';
import { serviceNames } from './stop.js';
import { ExitCode } from '../errors.js';
import { table, type Output } from '../output.js';

export const statusArgs = {
  json: { type: 'boolean', description: 'Print the status as JSON' },
  ...commonArgs,
} as const;

function uptime(status: string): string {
  const m = /^Up (.+?)(?: \(|$)/.exec(status);
  return m?.[1] ?? '-';
}

function stateText(out: Output, s: ModelStatus): string {
  if (s.state === 'running') return s.health === 'unhealthy' ? out.red('running') : out.green('running');
  if (s.state === 'absent') return out.dim('absent');
  return out.yellow(s.state);
}

function syncText(out: Output, s: ModelStatus): string {
  switch (s.sync) {
    case 'in-sync':
      return out.green('in sync');
    case 'changed':
      return out.yellow(`changed (${s.changed.join(', ')})`);
    case 'adopted':
      return 'adopted';
    case 'orphan':
      return out.yellow('orphan');
    case 'missing':
      return out.dim('not created');
  }
}

/** `serve status`: one row per model, from one container listing. */
export async function status(ctx: CommandEnv, args: { file: string; json: boolean }): Promise<number> {
  const config = await loadStack(ctx, args.file);
  const client = await docker(ctx);
  const [daemonContainers, services, entries, scrapes] = await Promise.all([
    listModelContainers(client),
    listServices(client),
    config.gateway.mode === 'none' ? undefined : gatewayEntries(config),
    config.monitoring.mode === 'none' ? undefined : scrapeHealth(config),
  ]);
  const containers = containersOfStack(daemonContainers, { network: config.network, keys: config.models.map((m) => m.key) });
  const loads = isLocalDaemon({ env: ctx.env }) ? await modelLoads(containers, config.network) : new Map<string, ModelLoad>();
  const scrape = (r: ModelStatus) => (scrapes instanceof Map ? (scrapes.get(r.containerName) ?? null) : null);
  const scrapeError = scrapes instanceof Error ? scrapes.message : undefined;
  const rows = modelStatuses(config.models, containers);
  const out = ctx.output;
  const infra = infrastructure(config, services);
  // Whether the gateway routes to each model: an entry whose api_base names its container.
  const routed = (r: ModelStatus): boolean | null =>
    entries === undefined || entries instanceof Error ? null : entries.some((e) => e.litellm_params.api_base === `http://${r.containerName}:8000/v1`);
  const gatewayError = entries instanceof Error ? entries.message : undefined;
  if (args.json) {
    out.json({
      models: rows.map((r) => ({
        model: r.key,
        container: r.containerName,
        state: r.state,
        health: r.health,
        sync: r.sync,
        changed: r.changed,
        gpus: r.gpus,
        uptime: r.state === 'running' ? uptime(r.status) : null,
        image: r.image,
        endpoint: r.endpoint,
        servedModelName: r.servedModelName,
        routed: routed(r),
        scrape: scrape(r),
        load: loads.get(r.key) ?? null,
      })),
      services: infra,
      ...(gatewayError ? { gatewayError } : {}),
      ...(scrapeError ? { prometheusError: scrapeError } : {}),
    });
    return ExitCode.ok;
  }
  if (infra.length > 0) {
    for (const l of table(['SERVICE', 'CONTAINER', 'STATE', 'URL'], infra.map((i) => [i.service, i.container, i.state === 'running' ? out.green(i.state) : out.yellow(i.state), i.url ?? '-']))) out.print(l);
    out.print('');
  }
  if (rows.length === 0) {
    out.print('no models in the config and no model containers');
    return ExitCode.ok;
  }
  const gatewayText = (r: ModelStatus) => {
    if (entries === undefined) return '-';
    const v = routed(r);
    return v === null ? '?' : v ? out.green('routed') : r.state === 'running' ? out.yellow('not routed') : '-';
  };
  const scrapeText = (r: ModelStatus) => {
    if (scrapes === undefined) return '-';
    const s = scrape(r);
    return s === null ? (r.state === 'running' ? out.yellow('no target') : '-') : s.health === 'up' ? out.green('up') : out.yellow(s.health);
  };
  const loadText = (r: ModelStatus) => {
    const l = loads.get(r.key);
    return l ? `${l.running}/${l.waiting}${l.kvCacheUsage !== undefined ? ` kv ${(l.kvCacheUsage * 100).toFixed(0)}%` : ''}` : '-';
  };
  const lines = table(
    ['MODEL', 'STATE', 'HEALTH', 'GPUS', 'UPTIME', 'CONFIG', 'GATEWAY', 'SCRAPE', 'RUN/WAIT', 'IMAGE', 'ENDPOINT'],
    rows.map((r) => [
      r.key,
      stateText(out, r),
      r.health === 'none' ? '-' : r.health,
      r.gpus,
      r.state === 'running' ? uptime(r.status) : '-',
      syncText(out, r),
      gatewayText(r),
      scrapeText(r),
      loadText(r),
      r.image,
      r.endpoint,
    ]),
  );
  for (const l of lines) out.print(l);
  if (scrapeError) out.info(`${out.yellow('!')} Prometheus not reachable at ${config.monitoring.prometheusUrl}: ${scrapeError}`);
  if (gatewayError) out.info(`${out.yellow('!')} gateway not reachable at ${config.gateway.url}: ${gatewayError}`);
  return ExitCode.ok;
}

/** The infrastructure this config runs (gateway, Prometheus, exporters, Grafana), with URLs. */
function infrastructure(config: StackConfig, services: Awaited<ReturnType<typeof listServices>>) {
  const urls: Record<string, string | undefined> = {
    [config.gateway.containerName]: config.gateway.mode === 'managed' ? config.gateway.url : undefined,
    [config.monitoring.prometheusContainerName]: config.monitoring.mode === 'managed' ? config.monitoring.prometheusUrl : undefined,
    [config.monitoring.grafana.containerName]: config.monitoring.grafana.enabled ? `http://127.0.0.1:${config.monitoring.grafana.port}` : undefined,
  };
  return serviceNames(config).flatMap((name) => {
    const found = services.find((s) => s.name === name);
    if (!found) {
      // Run only where the host has GPUs: its absence elsewhere is normal.
      if (name === config.monitoring.dcgmExporter.containerName && config.monitoring.dcgmExporter.enabled === undefined) return [];
      return [{ service: name, container: name, state: 'absent', url: urls[name] ?? null }];
    }
    return [{ service: found.kind, container: name, state: found.state, url: urls[name] ?? null }];
  });
}

export const statusCommand = defineCommand({ meta: { name: 'status', alias: ['ps'], description: 'Show each model: state, health, GPUs, uptime, and whether it matches the config' }, args: statusArgs });
