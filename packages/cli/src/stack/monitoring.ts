import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { GpuSelection, StackConfig } from '@inferstack/config';
import {
  detectGpusLocally,
  ensureService,
  isLocalDaemon,
  signalContainer,
  type DockerClient,
  type ModelContainer,
  type ServiceSpec,
} from '@inferstack/docker-ops';
import { createPrometheusClient, renderPrometheusConfig, syncPrometheusTargets, ReloadUnavailableError, type PrometheusClient } from '@inferstack/prometheus-sync';
import { extraLabels, hashKey, type CommandEnv } from '../context.js';
import { GATEWAY_CONTAINER_PORT } from './gateway.js';

/** Where the generated Prometheus and Grafana files live, beside the project's config. */
function stateDir(config: StackConfig, ...parts: string[]): string {
  return join(config.projectDir, '.inferstack', ...parts);
}

const PROM_CONFIG_DIR = '/etc/prometheus/inferstack';
const PROM_TARGETS_DIR = '/etc/prometheus/targets';
const TARGETS_FILE = 'vllm.json';
const GATEWAY_KEY_FILE = 'litellm-key';

/** The file_sd file Prometheus reads the model targets from. */
export function targetsFile(config: StackConfig): string {
  return join(config.monitoring.targetsDir, TARGETS_FILE);
}

function writeIfChanged(file: string, text: string, mode: number): boolean {
  mkdirSync(dirname(file), { recursive: true, mode: 0o755 });
  if (existsSync(file) && readFileSync(file, 'utf8') === text) {
    chmodSync(file, mode);
    return false;
  }
  writeFileSync(file, text, { mode });
  chmodSync(file, mode);
  return true;
}

/** The Grafana files shipped in the bin's dist (copied there at build). */
function grafanaAssets(): string {
  return fileURLToPath(new URL('./grafana/', import.meta.url));
}

export async function wantDcgm(ctx: CommandEnv, config: StackConfig): Promise<boolean> {
  const d = config.monitoring.dcgmExporter.enabled;
  if (d !== undefined) return d;
  if (!isLocalDaemon({ env: ctx.env })) return false;
  const gpus = await detectGpusLocally();
  return gpus !== 'unavailable' && gpus.length > 0;
}

/** Render prometheus.yml (and the gateway's scrape key) for the managed Prometheus. */
export function renderConfig(config: StackConfig, dcgm: boolean): { changed: boolean } {
  const m = config.monitoring;
  let changed = false;
  const gatewayManaged = config.gateway.mode === 'managed';
  if (gatewayManaged && config.gateway.masterKey) {
    // The key LiteLLM wants on /metrics: in a file only root can read, never in prometheus.yml.
    changed = writeIfChanged(stateDir(config, 'prometheus', GATEWAY_KEY_FILE), `${config.gateway.masterKey}\n`, 0o600) || changed;
  }
  const text = renderPrometheusConfig({
    ...(gatewayManaged
      ? { gateway: { target: `${config.gateway.containerName}:${GATEWAY_CONTAINER_PORT}`, ...(config.gateway.masterKey ? { bearerTokenFile: `${PROM_CONFIG_DIR}/${GATEWAY_KEY_FILE}` } : {}) } }
      : {}),
    modelTargetsFile: `${PROM_TARGETS_DIR}/${TARGETS_FILE}`,
    ...(m.nodeExporter.enabled ? { nodeExporter: `${m.nodeExporter.containerName}:9100` } : {}),
    ...(dcgm ? { dcgm: `${m.dcgmExporter.containerName}:9400` } : {}),
    extraScrapeConfigs: m.extraScrapeConfigs,
    scrapeInterval: config.settings.PROMETHEUS_SCRAPE_INTERVAL ?? '15s',
  });
  changed = writeIfChanged(stateDir(config, 'prometheus', 'prometheus.yml'), text, 0o644) || changed;
  return { changed };
}

export function prometheusSpec(config: StackConfig): ServiceSpec {
  const m = config.monitoring;
  return {
    name: m.prometheusContainerName,
    kind: 'prometheus',
    image: m.prometheusImage,
    cmd: [`--config.file=${PROM_CONFIG_DIR}/prometheus.yml`, '--storage.tsdb.path=/prometheus', '--web.enable-lifecycle', '--web.listen-address=:9090'],
    // Root inside the container: the gateway key file is 0600.
    user: '0:0',
    binds: [`${stateDir(config, 'prometheus')}:${PROM_CONFIG_DIR}:ro`, `${m.targetsDir}:${PROM_TARGETS_DIR}:ro`, `${m.prometheusContainerName}-data:/prometheus`],
    ports: [{ container: 9090, host: m.prometheusPort, hostIp: '127.0.0.1' }],
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

export function dcgmSpec(config: StackConfig): ServiceSpec {
  const d = config.monitoring.dcgmExporter;
  return { name: d.containerName, kind: 'dcgm-exporter', image: d.image, network: config.network, gpus: true };
}

export function grafanaSpec(config: StackConfig): ServiceSpec {
  const g = config.monitoring.grafana;
  const dir = stateDir(config, 'grafana');
  const assets = grafanaAssets();
  writeIfChanged(
    join(dir, 'provisioning', 'datasources', 'prometheus.yaml'),
    readFileSync(join(assets, 'provisioning', 'datasources', 'prometheus.yaml'), 'utf8').replace('http://prometheus:9090', `http://${config.monitoring.prometheusContainerName}:9090`),
    0o644,
  );
  writeIfChanged(join(dir, 'provisioning', 'dashboards', 'inferstack.yaml'), readFileSync(join(assets, 'provisioning', 'dashboards', 'inferstack.yaml'), 'utf8'), 0o644);
  return {
    name: g.containerName,
    kind: 'grafana',
    image: g.image,
    env: { GF_USERS_ALLOW_SIGN_UP: 'false' },
    ...(g.adminPassword ? { secretEnv: { GF_SECURITY_ADMIN_PASSWORD: g.adminPassword } } : {}),
    binds: [`${join(dir, 'provisioning')}:/etc/grafana/provisioning:ro`, `${join(assets, 'dashboards')}:/var/lib/grafana/dashboards/inferstack:ro`, `${g.containerName}-data:/var/lib/grafana`],
    ports: [{ container: 3000, host: g.port, hostIp: '127.0.0.1' }],
    network: config.network,
  };
}

/**
 * Start the managed monitoring stack where needed: Prometheus with a generated config, the
 * exporters, Grafana. Returns one line per service for the progress output.
 */
export async function ensureMonitoring(ctx: CommandEnv, docker: DockerClient, config: StackConfig): Promise<string[]> {
  const m = config.monitoring;
  const options = { hashKey: hashKey(ctx.env), extraLabels: extraLabels(ctx.env) };
  const dcgm = await wantDcgm(ctx, config);
  mkdirSync(m.targetsDir, { recursive: true, mode: 0o755 });
  const { changed } = renderConfig(config, dcgm);
  const lines: string[] = [];
  if (m.nodeExporter.enabled) lines.push(`${pad('node-exporter')} ${(await ensureService(docker, nodeExporterSpec(config), options)).action}`);
  if (dcgm) lines.push(`${pad('dcgm-exporter')} ${(await ensureService(docker, dcgmSpec(config), options)).action}`);
  const prom = await ensureService(docker, prometheusSpec(config), options);
  if (prom.action === 'kept' && changed) await reloadPrometheus(docker, config, prometheusClient(config));
  // Readiness, as for models: a Prometheus that never answers is a clear failure here.
  if (prom.action !== 'kept') await prometheusClient(config).waitUntilReady({ timeoutMs: 60_000 });
  lines.push(`${pad('prometheus')} ${prom.action}${prom.action === 'kept' && changed ? ' (config reloaded)' : ''}, ${m.prometheusUrl}`);
  if (m.grafana.enabled) {
    const g = await ensureService(docker, grafanaSpec(config), options);
    lines.push(`${pad('grafana')} ${g.action}, http://127.0.0.1:${m.grafana.port}`);
  }
  return lines;
}

function pad(name: string): string {
  return name.padEnd(12);
}

function prometheusClient(config: StackConfig): PrometheusClient {
  return createPrometheusClient({ baseUrl: config.monitoring.prometheusUrl, timeoutMs: Number(config.settings.INFERSTACK_PROMETHEUS_TIMEOUT_MS ?? 5000) });
}

async function reloadPrometheus(docker: DockerClient, config: StackConfig, client: PrometheusClient): Promise<void> {
  try {
    await client.reload();
  } catch (error) {
    if (!(error instanceof ReloadUnavailableError) || config.monitoring.mode !== 'managed') throw error;
    await signalContainer(docker, config.monitoring.prometheusContainerName, 'SIGHUP');
  }
}

/** What a monitoring sync did. */
export interface MonitoringSyncResult {
  changed: boolean;
  targets: Array<{ target: string; model: string; health: string; lastError?: string }>;
  warnings: string[];
}

function gpusFromLabel(label: string | undefined): GpuSelection {
  if (!label || label === 'all') return { kind: 'all' };
  if (label === 'none') return { kind: 'none' };
  return { kind: 'devices', indices: label.split(',').map(Number) };
}

/**
 * Point Prometheus at exactly the model containers that serve now: write the file_sd targets
 * (only when changed), reload, and read back from Prometheus which targets it knows and whether
 * they are up.
 */
export async function syncMonitoring(
  ctx: CommandEnv,
  docker: DockerClient,
  config: StackConfig,
  serving: readonly ModelContainer[],
  options: { dryRun?: boolean },
): Promise<MonitoringSyncResult> {
  const models = serving.map((c) => ({
    key: c.key,
    containerName: c.name,
    servedModelName: c.servedModelName ?? config.models.find((m) => m.key === c.key)?.servedModelName ?? c.key,
    gpus: gpusFromLabel(c.gpus),
  }));
  if (options.dryRun) return { changed: false, targets: models.map((m) => ({ target: `${m.containerName}:8000`, model: m.key, health: 'planned' })), warnings: [] };
  const client = prometheusClient(config);
  const result = await syncPrometheusTargets({
    models,
    targetsFile: targetsFile(config),
    client,
    ...(config.monitoring.mode === 'managed' ? { reload: () => signalContainer(docker, config.monitoring.prometheusContainerName, 'SIGHUP') } : {}),
    confirm: { timeoutMs: Number(config.settings.INFERSTACK_PROMETHEUS_CONFIRM_MS ?? 20_000) },
    signal: ctx.signal,
  });
  return {
    changed: result.changed,
    targets: result.targets.map((t) => ({ target: t.target, model: t.model, health: t.health, ...(t.lastError ? { lastError: t.lastError } : {}) })),
    warnings: result.warnings,
  };
}

/** Scrape health of each model target as Prometheus reports it, by container name, or the error. */
export async function scrapeHealth(config: StackConfig): Promise<Map<string, { health: string; lastError: string }> | Error> {
  try {
    const result = await createPrometheusClient({ baseUrl: config.monitoring.prometheusUrl, timeoutMs: 3000 }).targets();
    const out = new Map<string, { health: string; lastError: string }>();
    for (const t of result.activeTargets) {
      const container = t.labels.container ?? t.discoveredLabels.container;
      if (container) out.set(container, { health: t.health, lastError: t.lastError });
    }
    return out;
  } catch (error) {
    return error as Error;
  }
}
