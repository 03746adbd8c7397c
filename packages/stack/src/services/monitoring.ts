import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LOCAL_HOST, WATCHER_PORT, type StackConfig } from '@inferstack/config';
import { signalContainer, type ServiceSpec } from '@inferstack/docker-ops';
import type { HostTarget } from '@inferstack/prometheus-sync';
import type { StackContext } from '../context.js';
import { serviceExtraNetworks } from '../models/networks.js';
import { watcherToken } from '../watcher/token.js';
import { needsWatcher } from '../watcher/wake-path.js';
import { hasSeveralHosts } from '../hosts/hosts.js';
import { otherHostExporters } from './host-services.js';
import { GATEWAY_CONTAINER_PORT } from './gateway.js';
import type { ServiceFile } from './files.js';
import type { ServiceDefinition } from './registry.js';

/** Where the generated Prometheus and Grafana files live, beside the project's config. */
export function stateDir(config: StackConfig, ...parts: string[]): string {
  return join(config.projectDir, '.inferstack', ...parts);
}

const PROM_CONFIG_DIR = '/etc/prometheus/inferstack';
const PROM_TARGETS_DIR = '/etc/prometheus/targets';
/** Each stack's targets file is its own, so that stacks sharing a Prometheus keep each other's. */
const targetsFileName = (stack: string) => `inferstack-${stack}.json`;
/** What every stack's targets file matches: the managed Prometheus reads them all. */
const TARGETS_GLOB = 'inferstack-*.json';
/** The one targets file of earlier versions, removed once a stack writes its own. */
export const OLD_TARGETS_FILE = 'vllm.json';
const GATEWAY_KEY_FILE = 'litellm-key';
/** The watcher's token, for Prometheus' scrape of it (0600). */
const WATCHER_TOKEN_FILE = 'watcher-token';
const NODE_EXPORTER_PORT = 9100;
const DCGM_EXPORTER_PORT = 9400;
/** The port Prometheus listens on in its container. */
export const PROMETHEUS_PORT = 9090;
const GRAFANA_PORT = 3000;

/** The file_sd file the stack writes its model targets to, on this machine. */
export function targetsFile(config: StackConfig): string {
  return join(config.monitoring.targetsDir, targetsFileName(config.name));
}

/** Whether the DCGM exporter runs: as configured, else where this machine's daemon has GPUs. */
export async function wantDcgm(ctx: StackContext): Promise<boolean> {
  const d = ctx.config.monitoring.dcgmExporter.enabled;
  if (d !== undefined) return d;
  const gpus = await ctx.localGpus();
  return gpus !== 'unavailable' && gpus.length > 0;
}

/**
 * prometheus.yml (and the gateway's scrape key, and the watcher's token when the stack runs one)
 * for the managed Prometheus, as `up` writes them.
 */
export async function prometheusFiles(config: StackConfig, dcgm: boolean, otherHosts?: ExporterTargets, watcher?: { token: string }): Promise<ServiceFile[]> {
  const { renderPrometheusConfig } = await import('@inferstack/prometheus-sync');
  const m = config.monitoring;
  const files: ServiceFile[] = [];
  const gatewayManaged = config.gateway.mode === 'managed';
  if (gatewayManaged && config.gateway.masterKey) {
    // The key LiteLLM wants on /metrics: in a file only root can read, never in prometheus.yml.
    files.push({ path: stateDir(config, 'prometheus', GATEWAY_KEY_FILE), text: `${config.gateway.masterKey}\n`, mode: 0o600, enforceMode: true });
  }
  const scrapeWatcher = watcher && config.watcher.mode === 'managed' && needsWatcher(config);
  // The watcher's token likewise.
  if (scrapeWatcher) files.push({ path: stateDir(config, 'prometheus', WATCHER_TOKEN_FILE), text: `${watcher.token}\n`, mode: 0o600, enforceMode: true });
  const text = renderPrometheusConfig({
    ...(gatewayManaged
      ? { gateway: { target: `${config.gateway.containerName}:${GATEWAY_CONTAINER_PORT}`, ...(config.gateway.masterKey ? { bearerTokenFile: `${PROM_CONFIG_DIR}/${GATEWAY_KEY_FILE}` } : {}) } }
      : {}),
    modelTargetsFile: `${PROM_TARGETS_DIR}/${TARGETS_GLOB}`,
    // With other hosts: each one's exporters too, every series labelled with its host.
    ...exporterTargets('nodeExporter', m.nodeExporter.enabled ? `${m.nodeExporter.containerName}:${NODE_EXPORTER_PORT}` : undefined, otherHosts?.nodeExporter),
    ...exporterTargets('dcgm', dcgm ? `${m.dcgmExporter.containerName}:${DCGM_EXPORTER_PORT}` : undefined, otherHosts?.dcgm),
    ...(scrapeWatcher ? { watcher: `${config.watcher.containerName}:${WATCHER_PORT}`, watcherTokenFile: `${PROM_CONFIG_DIR}/${WATCHER_TOKEN_FILE}` } : {}),
    extraScrapeConfigs: m.extraScrapeConfigs,
    scrapeInterval: config.settings.PROMETHEUS_SCRAPE_INTERVAL ?? '15s',
  });
  files.push({ path: stateDir(config, 'prometheus', 'prometheus.yml'), text, mode: 0o644, enforceMode: true, what: 'the Prometheus config' });
  return files;
}

/** The exporters of the other Docker hosts, as Prometheus reaches them (`address:port`). */
export interface ExporterTargets {
  nodeExporter: HostTarget[];
  dcgm: HostTarget[];
}

function exporterTargets(name: 'nodeExporter' | 'dcgm', local: string | undefined, others: HostTarget[] | undefined): Record<string, string | HostTarget[]> {
  if (others === undefined) return local ? { [name]: local } : {};
  const all = [...(local ? [{ target: local, host: LOCAL_HOST }] : []), ...others];
  return all.length > 0 ? { [name]: all } : {};
}

export function prometheusSpec(config: StackConfig): ServiceSpec {
  const m = config.monitoring;
  return {
    name: m.prometheusContainerName,
    kind: 'prometheus',
    image: m.prometheusImage,
    cmd: [`--config.file=${PROM_CONFIG_DIR}/prometheus.yml`, '--storage.tsdb.path=/prometheus', '--web.enable-lifecycle', `--web.listen-address=:${PROMETHEUS_PORT}`],
    // Root inside the container: the gateway key file is 0600.
    user: '0:0',
    binds: [`${stateDir(config, 'prometheus')}:${PROM_CONFIG_DIR}:ro`, `${m.targetsDir}:${PROM_TARGETS_DIR}:ro`, `${m.prometheusContainerName}-data:/prometheus`],
    ports: [{ container: PROMETHEUS_PORT, host: m.prometheusPort, hostIp: '127.0.0.1' }],
    network: config.network,
    // Grafana's provisioned data source finds it as "prometheus".
    aliases: ['prometheus'],
  };
}

export function nodeExporterSpec(config: StackConfig): ServiceSpec {
  const n = config.monitoring.nodeExporter;
  return {
    name: n.containerName,
    kind: 'node-exporter',
    image: n.image,
    cmd: ['--path.procfs=/host/proc', '--path.sysfs=/host/sys', '--path.rootfs=/host/root'],
    binds: ['/proc:/host/proc:ro', '/sys:/host/sys:ro', '/:/host/root:ro'],
    network: config.network,
  };
}

/** The name that reaches the Docker host from a container, given the extra host below. */
const DOCKER_HOST_NAME = 'host.docker.internal';

export function dcgmSpec(config: StackConfig): ServiceSpec {
  const d = config.monitoring.dcgmExporter;
  const env: Record<string, string> = { DCGM_EXPORTER_DEVICES_STR: d.devices, DCGM_EXPORTER_INTERVAL: String(d.intervalMs) };
  // The exporter uses a remote host engine whenever this variable exists, even empty: only when set.
  if (d.remoteHostengine) env.DCGM_REMOTE_HOSTENGINE_INFO = d.remoteHostengine;
  const host = d.remoteHostengine?.replace(/:[0-9]+$/, '');
  return {
    name: d.containerName,
    kind: 'dcgm-exporter',
    image: d.image,
    env,
    network: config.network,
    // Also with a remote host engine: exporter 4.4 initialises NVML at start-up in every mode.
    gpus: true,
    // Docker Desktop resolves host.docker.internal by itself; Linux needs the host-gateway entry.
    ...(host === DOCKER_HOST_NAME ? { extraHosts: [`${DOCKER_HOST_NAME}:host-gateway`] } : {}),
  };
}

/** Where Grafana's files come from: as given, else those `@inferstack/prometheus-sync` ships. */
async function grafanaAssets(ctx: StackContext): Promise<{ dashboards: string; provisioning: string }> {
  if (ctx.grafanaAssets) return ctx.grafanaAssets;
  const { DASHBOARDS_DIR, PROVISIONING_DIR } = await import('@inferstack/prometheus-sync');
  return { dashboards: DASHBOARDS_DIR, provisioning: PROVISIONING_DIR };
}

/** Grafana's provisioning files, with the data source pointed at this stack's Prometheus. */
function grafanaProvisioningFiles(ctx: StackContext, assets: string): ServiceFile[] {
  const dir = stateDir(ctx.config, 'grafana');
  const datasource = readFileSync(join(assets, 'datasources', 'prometheus.yaml'), 'utf8').replace('http://prometheus:9090', `http://${ctx.config.monitoring.prometheusContainerName}:${PROMETHEUS_PORT}`);
  return [
    { path: join(dir, 'provisioning', 'datasources', 'prometheus.yaml'), text: datasource, mode: 0o644, enforceMode: true },
    { path: join(dir, 'provisioning', 'dashboards', 'inferstack.yaml'), text: readFileSync(join(assets, 'dashboards', 'inferstack.yaml'), 'utf8'), mode: 0o644, enforceMode: true },
  ];
}

export function grafanaSpec(config: StackConfig, dashboardsDir: string): ServiceSpec {
  const g = config.monitoring.grafana;
  const dir = stateDir(config, 'grafana');
  return {
    name: g.containerName,
    kind: 'grafana',
    image: g.image,
    env: { GF_USERS_ALLOW_SIGN_UP: 'false', ...(g.adminUser ? { GF_SECURITY_ADMIN_USER: g.adminUser } : {}) },
    ...(g.adminPassword ? { secretEnv: { GF_SECURITY_ADMIN_PASSWORD: g.adminPassword } } : {}),
    binds: [`${join(dir, 'provisioning')}:/etc/grafana/provisioning:ro`, `${dashboardsDir}:/var/lib/grafana/dashboards/inferstack:ro`, `${g.containerName}-data:/var/lib/grafana`],
    ports: [{ container: GRAFANA_PORT, host: g.port, hostIp: '127.0.0.1' }],
    network: config.network,
  };
}

const managed = (config: StackConfig) => config.monitoring.mode === 'managed';

export const nodeExporterService: ServiceDefinition = {
  id: 'node-exporter',
  configured: (config) => managed(config) && config.monitoring.nodeExporter.enabled,
  containerName: (config) => config.monitoring.nodeExporter.containerName,
  spec: (ctx) => nodeExporterSpec(ctx.config),
  onOtherHosts: {
    port: NODE_EXPORTER_PORT,
    spec: (config, host) => ({ ...nodeExporterSpec(config), ports: [{ container: NODE_EXPORTER_PORT, host: 0, hostIp: host.address }] }),
  },
};

export const dcgmExporterService: ServiceDefinition = {
  id: 'dcgm-exporter',
  configured: (config) => managed(config) && config.monitoring.dcgmExporter.enabled !== false,
  wanted: wantDcgm,
  absentIsNormal: (config) => config.monitoring.dcgmExporter.enabled === undefined,
  containerName: (config) => config.monitoring.dcgmExporter.containerName,
  spec: (ctx) => dcgmSpec(ctx.config),
  onOtherHosts: {
    port: DCGM_EXPORTER_PORT,
    spec: (config, host) => ({ ...dcgmSpec(config), ports: [{ container: DCGM_EXPORTER_PORT, host: 0, hostIp: host.address }] }),
    // As on the default host: where configured, else where the host has NVIDIA GPUs.
    wanted: (config, gpus) => config.monitoring.dcgmExporter.enabled ?? (gpus !== 'unavailable' && gpus.length > 0),
  },
};

/** The managed Prometheus: its config is generated; a change is applied by a reload. */
export const prometheusService: ServiceDefinition = {
  id: 'prometheus',
  configured: managed,
  containerName: (config) => config.monitoring.prometheusContainerName,
  // Up before Prometheus, so that its first scrapes find them.
  after: ['node-exporter', 'dcgm-exporter'],
  async files(ctx) {
    const others = hasSeveralHosts(ctx.config) ? await otherHostExporters(ctx) : undefined;
    return prometheusFiles(ctx.config, await wantDcgm(ctx), others, { token: watcherToken(ctx.hashKey, ctx.name) });
  },
  async prepare(ctx) {
    mkdirSync(ctx.config.monitoring.targetsDir, { recursive: true, mode: 0o755 });
    return { changed: false };
  },
  spec: (ctx) => ({ ...prometheusSpec(ctx.config), extraNetworks: serviceExtraNetworks(ctx.config, ctx.name) }),
  // A Prometheus that never answers is a clear failure here, as for models.
  async ready(ctx) {
    const { prometheusClient } = await import('../sync/prometheus-client.js');
    await prometheusClient(ctx.config).waitUntilReady({ timeoutMs: 60_000 });
  },
  async reload(ctx) {
    const [{ prometheusClient }, { ReloadUnavailableError }] = await Promise.all([import('../sync/prometheus-client.js'), import('@inferstack/prometheus-sync')]);
    try {
      await prometheusClient(ctx.config).reload();
    } catch (error) {
      if (!(error instanceof ReloadUnavailableError)) throw error;
      await signalContainer(await ctx.docker(), ctx.config.monitoring.prometheusContainerName, 'SIGHUP');
    }
  },
  url: (config) => config.monitoring.prometheusUrl,
};

export const grafanaService: ServiceDefinition = {
  id: 'grafana',
  configured: (config) => managed(config) && config.monitoring.grafana.enabled,
  containerName: (config) => config.monitoring.grafana.containerName,
  dependsOn: ['prometheus'],
  files: async (ctx) => grafanaProvisioningFiles(ctx, (await grafanaAssets(ctx)).provisioning),
  spec: async (ctx) => grafanaSpec(ctx.config, (await grafanaAssets(ctx)).dashboards),
  url: (config) => `http://127.0.0.1:${config.monitoring.grafana.port}`,
};
