import { dirname, resolve } from 'node:path';
import * as v from 'valibot';
import { type IssueCollector, reportSchemaIssues } from './_issues.js';
import { type ModelDefaults, parseVolume, replicaPolicy, type ReplicasValue } from './_model-spec.js';
import { type LEntry, locate, type Pos, toPlain } from './_yaml-tree.js';
import {
  DEFAULT_GATEWAY_BIND,
  DEFAULT_GATEWAY_PORT,
  DEFAULT_GRAFANA_IMAGE,
  DEFAULT_NODE_EXPORTER_IMAGE,
  DEFAULT_DCGM_EXPORTER_IMAGE,
  DEFAULT_DCGM_DEVICES,
  DEFAULT_DCGM_INTERVAL_MS,
  DEFAULT_DATABASE_IMAGE,
  DEFAULT_GRAFANA_PORT,
  DEFAULT_LITELLM_CONFIG_FILE,
  DEFAULT_LITELLM_IMAGE,
  DEFAULT_PROMETHEUS_IMAGE,
  DEFAULT_PROMETHEUS_PORT,
  DEFAULT_TARGETS_DIR,
  GATEWAY_CONTAINER_NAME,
} from './defaults.js';
import { parseDuration } from './_duration.js';
import { DefaultsSchema, GatewaySchema, MonitoringSchema } from './schema.js';
import type { GatewaySettings, MonitoringSettings } from './types.js';

/*
 * The sections of models.yaml besides models: and hosts: (defaults:, gateway:, monitoring:),
 * each validated against its schema and completed from the settings (`.env`) and the defaults;
 * and the two readers every section goes through. parse-config.ts calls them in order.
 */

/** What parsing a section needs besides its own entry. */
export interface SectionContext {
  out: IssueCollector;
  settings: Record<string, string>;
  projectDir: string;
  homeDir: string;
  /** Absolute path of models.yaml. */
  modelsFile: string;
}

/** Validates a section against its schema; returns the plain value, or `undefined` when absent or invalid. */
export function parseSection(entry: LEntry | undefined, schema: v.GenericSchema, out: IssueCollector): unknown {
  if (!entry) return undefined;
  const plain = toPlain(entry.value);
  const result = v.safeParse(schema, plain);
  if (result.success) return plain;
  reportSchemaIssues(out, schema as never, result.issues, entry.value, [entry.key], entry.key);
  return undefined;
}

/** Like {@link parseSection}, but keeps the valid fields of an invalid section. */
export function parseFields(entry: LEntry | undefined, schema: v.GenericSchema, out: IssueCollector): Record<string, unknown> {
  if (!entry) return {};
  const plain = toPlain(entry.value);
  if (plain === null) return {};
  const result = v.safeParse(schema, plain);
  if (result.success) return plain as Record<string, unknown>;
  reportSchemaIssues(out, schema as never, result.issues, entry.value, [entry.key], entry.key);
  if (plain === null || typeof plain !== 'object' || Array.isArray(plain)) return {};
  const bad = new Set(result.issues.map((i) => String(i.path?.[0]?.key)));
  const kept: Record<string, unknown> = {};
  for (const [k, value] of Object.entries(plain)) {
    if (bad.has(k)) continue;
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
      // Nested sections (monitoring.prometheus): drop their bad fields only.
      const nestedBad = new Set(
        result.issues.filter((i) => i.path?.[0]?.key === k).map((i) => String(i.path?.[1]?.key)),
      );
      kept[k] = Object.fromEntries(Object.entries(value).filter(([nk]) => !nestedBad.has(nk)));
    } else {
      kept[k] = value;
    }
  }
  return kept;
}

/** The `defaults:` section, applied to every model. */
export function parseDefaults(entry: LEntry | undefined, ctx: SectionContext): ModelDefaults {
  const raw = parseFields(entry, DefaultsSchema, ctx.out);
  const defaults: ModelDefaults = { env: [], volumes: [] };
  if (typeof raw.image === 'string') defaults.image = raw.image;
  if (typeof raw.pull === 'string') defaults.pull = raw.pull as ModelDefaults['pull'];
  if (typeof raw.replace === 'string') defaults.replace = raw.replace as ModelDefaults['replace'];
  if (raw.idle === 'none') defaults.idle = 'none';
  else if (raw.idle && typeof raw.idle === 'object') {
    // A bad duration is reported by the schema (and its field dropped): these parse.
    const idle = raw.idle as { after: string | number; then?: 'sleep' | 'deep-sleep' | 'stop' };
    defaults.idle = { afterMs: parseDuration(idle.after)!, then: idle.then ?? 'sleep' };
  }
  if (raw['wake-timeout'] !== undefined) defaults.wakeTimeoutMs = parseDuration(raw['wake-timeout'] as string | number)!;
  if (raw.routing !== undefined) defaults.routing = raw.routing as ModelDefaults['routing'];
  if (entry && raw.replicas !== undefined) {
    const { policy } = replicaPolicy(raw.replicas as ReplicasValue);
    const minPos = typeof raw.replicas === 'number' ? locate(entry.value, ['replicas']) : locate(entry.value, ['replicas', 'min']);
    const path = ['defaults', 'replicas', ...(typeof raw.replicas === 'number' ? [] : ['min'])];
    if (policy.min > policy.max) {
      ctx.out.add(minPos, path, 'replicas-range', `defaults: replicas min ${policy.min} is more than max ${policy.max}`, `lower min to at most ${policy.max}, or raise max`);
    }
    defaults.replicas = { policy, minPos, path };
  }
  if (entry && raw.env && typeof raw.env === 'object') {
    for (const [name, value] of Object.entries(raw.env as Record<string, unknown>)) {
      defaults.env.push({ name, value: String(value), pos: locate(entry.value, ['env', name], 'key'), path: ['defaults', 'env', name] });
    }
  }
  if (entry && Array.isArray(raw.volumes)) {
    (raw.volumes as string[]).forEach((text, i) => {
      const pos = locate(entry.value, ['volumes', i]);
      const mount = parseVolume(text, ctx, pos, ['defaults', 'volumes', i]);
      if (mount) defaults.volumes.push({ mount, pos, path: ['defaults', 'volumes', i] });
    });
  }
  return defaults;
}

/** `http://host:port` for a service published on `bind`. */
function localUrl(bind: string, port: number): string {
  if (bind === '0.0.0.0') return `http://127.0.0.1:${port}`;
  if (bind === '::') return `http://[::1]:${port}`;
  return bind.includes(':') ? `http://[${bind}]:${port}` : `http://${bind}:${port}`;
}

/** A port given in the settings (`.env`), when it is a valid one. */
export function settingPort(settings: Record<string, string>, name: string): number | undefined {
  const raw = settings[name];
  if (!raw) return undefined;
  const n = Number(raw);
  return Number.isInteger(n) && n >= 1 && n <= 65535 ? n : undefined;
}

/**
 * The first of `names` that is set (non-empty) in the settings: the reference tool's name and
 * ours are both accepted (they may not disagree; see `checkSettings`).
 */
export function setting(settings: Record<string, string>, ...names: string[]): string | undefined {
  for (const name of names) if (settings[name]) return settings[name];
  return undefined;
}

/** The `gateway:` section, with its settings from `.env` (keys, images, ports). */
export function parseGateway(entry: LEntry | undefined, ctx: SectionContext): GatewaySettings {
  const raw = parseFields(entry, GatewaySchema, ctx.out);
  const database = (raw.database ?? {}) as Record<string, unknown>;
  const mode = (raw.mode as GatewaySettings['mode'] | undefined) ?? 'managed';
  const port = (raw.port as number | undefined) ?? settingPort(ctx.settings, 'GATEWAY_PORT') ?? DEFAULT_GATEWAY_PORT;
  const bindAddress = (raw.bind as string | undefined) ?? DEFAULT_GATEWAY_BIND;
  let url = (raw.url as string | undefined)?.replace(/\/+$/, '');
  if (mode === 'external' && url === undefined && !(entry && hasInvalid(ctx.out, ['gateway', 'url']))) {
    ctx.out.add(entry ? locate(entry.value, ['mode']) : undefined, ['gateway', 'url'], 'missing-url', 'gateway mode external needs a url', 'add url: http://<host>:<port> of the LiteLLM proxy under gateway:');
  }
  if (url === undefined) url = mode === 'none' ? '' : localUrl(bindAddress, port);
  const configFile = resolve(ctx.projectDir, (raw['config-file'] as string | undefined) ?? DEFAULT_LITELLM_CONFIG_FILE);
  // A managed gateway mounts the config file's directory: it must hold nothing else of the
  // project (.env with every key lives in the project directory, models.yaml beside it).
  if (mode === 'managed' && entry && [ctx.projectDir, dirname(ctx.modelsFile)].includes(dirname(configFile))) {
    ctx.out.add(
      locate(entry.value, ['config-file']),
      ['gateway', 'config-file'],
      'config-file-dir',
      `the gateway mounts the directory of config-file, and ${dirname(configFile)} holds the project's .env or models.yaml`,
      'put the LiteLLM config in a directory of its own, e.g. config-file: litellm/config.yaml',
    );
  }
  const settings = ctx.settings;
  return {
    mode,
    sync: (raw.sync as GatewaySettings['sync'] | undefined) ?? 'config',
    url,
    port,
    bindAddress,
    image: (raw.image as string | undefined) ?? setting(settings, 'LITELLM_IMAGE') ?? DEFAULT_LITELLM_IMAGE,
    containerName: (raw['container-name'] as string | undefined) ?? GATEWAY_CONTAINER_NAME,
    configFile,
    ...(settings.LITELLM_MASTER_KEY ? { masterKey: settings.LITELLM_MASTER_KEY } : {}),
    ...(settings.LITELLM_SALT_KEY ? { saltKey: settings.LITELLM_SALT_KEY } : {}),
    ...optional('uiUsername', (raw['ui-username'] as string | undefined) ?? setting(settings, 'LITELLM_USERNAME')),
    ...optional('uiPassword', setting(settings, 'LITELLM_PASSWORD')),
    database: {
      image: (database.image as string | undefined) ?? setting(settings, 'POSTGRES_IMAGE', 'LITELLM_DB_IMAGE') ?? DEFAULT_DATABASE_IMAGE,
      ...optional('password', setting(settings, 'POSTGRES_PASSWORD', 'LITELLM_DB_PASSWORD')),
    },
  };
}

/** `{[key]: value}` when there is a value, else nothing (typed fields are absent, not undefined). */
function optional<K extends string>(key: K, value: string | undefined): { [P in K]?: string } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: string };
}

/** The `monitoring:` section, with its settings from `.env`. */
export function parseMonitoring(entry: LEntry | undefined, ctx: SectionContext): MonitoringSettings {
  const raw = parseFields(entry, MonitoringSchema, ctx.out);
  const mode = (raw.mode as MonitoringSettings['mode'] | undefined) ?? 'managed';
  const prom = (raw.prometheus ?? {}) as Record<string, unknown>;
  const graf = (raw.grafana ?? {}) as Record<string, unknown>;
  const node = (raw['node-exporter'] ?? {}) as Record<string, unknown>;
  const dcgm = (raw['dcgm-exporter'] ?? {}) as Record<string, unknown>;
  const prometheusPort = (prom.port as number | undefined) ?? settingPort(ctx.settings, 'PROMETHEUS_PORT') ?? DEFAULT_PROMETHEUS_PORT;
  let prometheusUrl = (prom.url as string | undefined)?.replace(/\/+$/, '');
  if (mode === 'external' && prometheusUrl === undefined && !hasInvalid(ctx.out, ['monitoring', 'prometheus', 'url'])) {
    ctx.out.add(
      entry ? locate(entry.value, ['mode']) : undefined,
      ['monitoring', 'prometheus', 'url'],
      'missing-url',
      'monitoring mode external needs prometheus.url',
      'add prometheus: {url: http://<host>:9090} under monitoring:',
    );
  }
  if (prometheusUrl === undefined) prometheusUrl = mode === 'none' ? '' : localUrl('127.0.0.1', prometheusPort);
  const settings = ctx.settings;
  const adminPassword = setting(settings, 'GRAFANA_ADMIN_PASSWORD', 'GF_SECURITY_ADMIN_PASSWORD');
  const interval = settings.DCGM_EXPORTER_INTERVAL;
  return {
    mode,
    prometheusUrl,
    prometheusPort,
    prometheusImage: (prom.image as string | undefined) ?? setting(settings, 'PROMETHEUS_IMAGE') ?? DEFAULT_PROMETHEUS_IMAGE,
    prometheusContainerName: (prom['container-name'] as string | undefined) ?? 'prometheus',
    targetsDir: resolve(ctx.projectDir, (prom['targets-dir'] as string | undefined) ?? DEFAULT_TARGETS_DIR),
    grafana: {
      enabled: (graf.enabled as boolean | undefined) ?? mode === 'managed',
      port: (graf.port as number | undefined) ?? settingPort(ctx.settings, 'GRAFANA_PORT') ?? DEFAULT_GRAFANA_PORT,
      image: (graf.image as string | undefined) ?? setting(settings, 'GRAFANA_IMAGE') ?? DEFAULT_GRAFANA_IMAGE,
      containerName: (graf['container-name'] as string | undefined) ?? 'grafana',
      ...optional('adminUser', (graf['admin-user'] as string | undefined) ?? setting(settings, 'GRAFANA_ADMIN_USER', 'GF_SECURITY_ADMIN_USER')),
      ...optional('adminPassword', adminPassword),
    },
    nodeExporter: {
      enabled: (node.enabled as boolean | undefined) ?? mode === 'managed',
      image: (node.image as string | undefined) ?? setting(settings, 'NODE_EXPORTER_IMAGE') ?? DEFAULT_NODE_EXPORTER_IMAGE,
      containerName: (node['container-name'] as string | undefined) ?? 'node-exporter',
    },
    dcgmExporter: {
      ...(typeof dcgm.enabled === 'boolean' ? { enabled: dcgm.enabled } : {}),
      image: (dcgm.image as string | undefined) ?? setting(settings, 'DCGM_EXPORTER_IMAGE') ?? DEFAULT_DCGM_EXPORTER_IMAGE,
      containerName: (dcgm['container-name'] as string | undefined) ?? 'dcgm-exporter',
      ...optional('remoteHostengine', (dcgm['remote-hostengine'] as string | undefined) ?? setting(settings, 'DCGM_REMOTE_HOSTENGINE_INFO')),
      devices: (dcgm.devices as string | undefined) ?? setting(settings, 'DCGM_EXPORTER_DEVICES_STR') ?? DEFAULT_DCGM_DEVICES,
      intervalMs: (dcgm.interval as number | undefined) ?? (interval && /^[1-9][0-9]*$/.test(interval) ? Number(interval) : DEFAULT_DCGM_INTERVAL_MS),
    },
    extraScrapeConfigs: Array.isArray(raw['scrape-configs']) ? (raw['scrape-configs'] as unknown[]) : [],
  };
}

function hasInvalid(out: IssueCollector, path: (string | number)[]): boolean {
  return out.issues.some((i) => path.every((p, k) => i.path[k] === p));
}

/** Managed services must not be published on the same host port. */
export function checkPorts(
  gateway: GatewaySettings,
  monitoring: MonitoringSettings,
  gatewayEntry: LEntry | undefined,
  monitoringEntry: LEntry | undefined,
  out: IssueCollector,
): void {
  const used: { what: string; port: number; pos?: Pos; path: string[] }[] = [];
  if (gateway.mode === 'managed') used.push({ what: 'gateway', port: gateway.port, ...(gatewayEntry ? { pos: locate(gatewayEntry.value, ['port']) } : {}), path: ['gateway', 'port'] });
  if (monitoring.mode === 'managed') {
    used.push({ what: 'prometheus', port: monitoring.prometheusPort, ...(monitoringEntry ? { pos: locate(monitoringEntry.value, ['prometheus', 'port']) } : {}), path: ['monitoring', 'prometheus', 'port'] });
  }
  if (monitoring.grafana.enabled) {
    used.push({ what: 'grafana', port: monitoring.grafana.port, ...(monitoringEntry ? { pos: locate(monitoringEntry.value, ['grafana', 'port']) } : {}), path: ['monitoring', 'grafana', 'port'] });
  }
  for (let i = 1; i < used.length; i++) {
    const a = used[i];
    const b = used.slice(0, i).find((u) => u.port === a?.port);
    if (a && b) {
      out.add(a.pos, a.path, 'port-conflict', `${a.what} and ${b.what} are both published on port ${a.port}`, `give ${a.what} another port`);
    }
  }
}
