import { homedir } from 'node:os';
import { dirname, resolve } from 'node:path';
import * as v from 'valibot';
import { didYouMean } from './_did-you-mean.js';
import { resolveVllmImage } from './_image-ref.js';
import { IssueCollector, reportSchemaIssues } from './_issues.js';
import { type ModelDefaults, type ParsedModel, parseModel, parseVolume, replicaPolicy, type ReplicasValue } from './_model-spec.js';
import { checkModelHosts, hostNamesIn, type ParsedHosts, parseHosts } from './_hosts.js';
import { decodeSource } from './_source-text.js';
import { getEntry, type LEntry, type LMap, type LNode, locate, parseYamlTree, type Pos, toPlain } from './_yaml-tree.js';
import { isModelKeyTooLong, MAX_STACK_NAME_LENGTH, modelKeyProblem } from './container-name.js';
import {
  DEFAULT_WATCHER_IMAGE,
  DEFAULT_GATEWAY_BIND,
  DEFAULT_GATEWAY_PORT,
  DEFAULT_GPU_MEMORY_UTILIZATION,
  DEFAULT_GRAFANA_IMAGE,
  DEFAULT_NODE_EXPORTER_IMAGE,
  DEFAULT_DCGM_EXPORTER_IMAGE,
  DEFAULT_DCGM_DEVICES,
  DEFAULT_DCGM_INTERVAL_MS,
  DEFAULT_DATABASE_IMAGE,
  DEFAULT_GRAFANA_PORT,
  DEFAULT_LITELLM_CONFIG_FILE,
  DEFAULT_LITELLM_IMAGE,
  DEFAULT_NETWORK,
  DEFAULT_PROMETHEUS_IMAGE,
  DEFAULT_PROMETHEUS_PORT,
  DEFAULT_TARGETS_DIR,
  FALLBACK_HASH_KEY,
  GATEWAY_CONTAINER_NAME,
  ANY_HOST,
  LOCAL_HOST,
} from './defaults.js';
import { type ConfigIssue, ConfigValidationError } from './errors.js';
import { parseDuration } from './_duration.js';
import { hashModelSpec } from './hash-model-spec.js';
import { unknownModelIssue } from './select-models.js';
import {
  DCGM_DEVICES_PATTERN,
  DefaultsSchema,
  GatewaySchema,
  HOSTENGINE_PATTERN,
  IMAGE_PATTERN,
  MonitoringSchema,
  NetworkSchema,
  StackNameSchema,
  WatcherSchema,
  TOP_LEVEL_KEYS,
} from './schema.js';
import { ENVIRONMENT_SOURCE } from './settings.js';
import { projectDirFor, stackNameFor } from './project-dir.js';

export { projectDirFor, stackNameFor };
import type { GatewaySettings, ModelSpec, MonitoringSettings, SourceLocation, StackConfig } from './types.js';

/** Options of {@link parseConfig}. */
export interface ParseConfigOptions {
  /**
   * Path of the models file as it should appear in messages; relative paths are resolved
   * against {@link ParseConfigOptions.cwd} for {@link StackConfig.file}.
   * @default 'models.yaml'
   */
  file?: string;
  /** @default process.cwd() */
  cwd?: string;
  /**
   * Where relative paths (volumes, config-file, targets-dir, HUGGINGFACE_CACHE) are resolved.
   * @default the parent of `model_config/` when the file is `<dir>/model_config/<name>`, else the file's directory
   */
  projectDir?: string;
  /**
   * Settings (`.env` merged with the environment), e.g. from {@link mergeSettings}.
   * @default {}
   */
  settings?: Record<string, string>;
  /** Where each setting came from, for messages about bad values. */
  settingLocations?: Record<string, SourceLocation>;
  /** Model keys to keep (the CLI's `serve up a b`); all models are validated regardless. */
  select?: readonly string[];
  /**
   * Key for the secret digests in spec hashes.
   * @default settings.INFERSTACK_HASH_KEY, else {@link FALLBACK_HASH_KEY}
   */
  hashKey?: string;
  /** Home directory for `~` in paths. @default os.homedir() */
  homeDir?: string;
  /**
   * Checks that the files a host names (TLS, SSH) exist; `loadConfig` passes `existsSync`.
   * @default none: files are not looked at (parsing stays pure)
   */
  fileExists?: (path: string) => boolean;
}


/**
 * Validates and normalises the text of a models file. Pure: reads no files and no
 * environment (pass `settings`).
 *
 * @throws {@link ConfigValidationError} with every problem found.
 */
export function parseConfig(source: string | Uint8Array, options: ParseConfigOptions = {}): StackConfig {
  const { config, issues } = buildConfig(source, options);
  if (issues.length > 0 || !config) throw new ConfigValidationError(issues);
  return config;
}

/**
 * {@link parseConfig} without the throw, so that {@link loadConfig} can add `.env` issues.
 * @internal
 */
export function buildConfig(
  source: string | Uint8Array,
  options: ParseConfigOptions,
): { config?: StackConfig; issues: ConfigIssue[] } {
  const file = options.file ?? 'models.yaml';
  const cwd = options.cwd ?? process.cwd();
  const absFile = resolve(cwd, file);
  const projectDir = options.projectDir ? resolve(cwd, options.projectDir) : projectDirFor(absFile);
  const settings = { ...(options.settings ?? {}) };
  const homeDir = options.homeDir ?? homedir();
  const out = new IssueCollector(file);
  const settingIssues = checkSettings(settings, options.settingLocations ?? {});

  const decoded = decodeSource(source, file);
  if (decoded.issue) return { issues: [decoded.issue, ...settingIssues] };
  const tree = parseYamlTree(decoded.text, file);
  if (tree.issues.length > 0 || tree.root === null) {
    if (tree.issues.length === 0) {
      out.add({ line: 1, column: 1 }, [], 'empty-file', 'the file has no models', 'add a models: section; see the @inferstack/config README');
    }
    return { issues: [...tree.issues, ...out.issues, ...settingIssues] };
  }
  out.issues.push(...tree.issues);
  const root = tree.root;

  if (root.kind !== 'map') {
    if (root.kind === 'scalar' && root.value === null) {
      out.add({ line: 1, column: 1 }, [], 'empty-file', 'the file has no models', 'add a models: section; see the @inferstack/config README');
    } else {
      out.add(root.pos, [], 'invalid-type', 'the file must be a map with a models: section', 'start the file with "models:" followed by the models, indented');
    }
    return { issues: [...out.issues, ...settingIssues] };
  }

  reportDuplicateKeys(root, [], out);
  for (const entry of root.entries) {
    // `x-` keys are free, as in compose files: a place for YAML anchors shared by models.
    if (!(TOP_LEVEL_KEYS as readonly string[]).includes(entry.key) && !entry.key.startsWith('x-')) {
      out.add(entry.keyPos, [entry.key], 'unknown-key', `unknown top-level key "${entry.key}"`, didYouMean(entry.key, TOP_LEVEL_KEYS) || `allowed: ${TOP_LEVEL_KEYS.join(', ')}, and x-<anything> for YAML anchors`);
    }
  }

  const ctxBase = { out, settings, projectDir, homeDir, modelsFile: absFile };
  const defaults = parseDefaults(getEntry(root, 'defaults'), ctxBase);
  const gateway = parseGateway(getEntry(root, 'gateway'), ctxBase);
  const monitoring = parseMonitoring(getEntry(root, 'monitoring'), ctxBase);
  const watcherRaw = parseFields(getEntry(root, 'watcher'), WatcherSchema, out);
  const network = parseSection(getEntry(root, 'network'), NetworkSchema, out) as string | undefined;
  const name = parseSection(getEntry(root, 'name'), StackNameSchema, out) as string | undefined;
  checkPorts(gateway, monitoring, getEntry(root, 'gateway'), getEntry(root, 'monitoring'), out);

  const hostsEntry = getEntry(root, 'hosts');
  const hosts = parseHosts(hostsEntry, { out, projectDir, homeDir, ...(options.fileExists ? { fileExists: options.fileExists } : {}) });
  const brokenHosts = new Set([...hostNamesIn(hostsEntry)].filter((n) => !hosts.hosts.some((h) => h.name === n)));

  const { parsed, keys } = parseModels(getEntry(root, 'models'), root, { ...ctxBase, defaults });
  for (const m of parsed) placeOnHosts(m, hosts, out);
  // GPU indices are per machine: models on different hosts never share one.
  const hostOf = (m: ParsedModel) => m.spec.host ?? LOCAL_HOST;
  for (const host of new Set(parsed.map(hostOf))) checkGpuMemory(parsed.filter((m) => hostOf(m) === host), out, host);
  checkModelHosts(
    parsed.map((m) => ({
      key: m.spec.key,
      hosts:
        m.placement?.kind === 'list'
          ? m.placement.names.map((name, i) => ({ name, pos: m.placement?.kind === 'list' ? m.placement.positions[i] : undefined }))
          : (m.spec.placementHosts ?? [hostOf(m)]).map((name) => ({ name, pos: m.hostPos })),
      placed: m.placement !== undefined,
      path: m.path,
      hasApiKey: m.spec.apiKey !== undefined || m.apiKeyGiven,
    })),
    hosts,
    hostsEntry,
    out,
    brokenHosts,
  );

  const select = options.select ? [...new Set(options.select)] : undefined;
  for (const name of select ?? []) {
    if (!keys.includes(name)) out.issues.push(unknownModelIssue(file, name, keys));
  }

  const issues = dedupe([...out.issues, ...settingIssues]);
  if (issues.length > 0) return { issues };

  const hashKey = options.hashKey ?? (settings.INFERSTACK_HASH_KEY || FALLBACK_HASH_KEY);
  const models: ModelSpec[] = parsed
    .filter((m) => !select || select.includes(m.spec.key))
    .map((m) => ({ ...m.spec, specHash: hashModelSpec(m.spec, hashKey) }));
  return {
    issues: [],
    config: {
      file: absFile,
      projectDir,
      name: name ?? stackNameFor(projectDir),
      models,
      hosts: hosts.hosts,
      network: network ?? DEFAULT_NETWORK,
      gateway,
      monitoring,
      watcher: {
        mode: (watcherRaw.mode as 'managed' | 'none' | undefined) ?? 'managed',
        image: (watcherRaw.image as string | undefined) ?? DEFAULT_WATCHER_IMAGE,
        containerName: (watcherRaw['container-name'] as string | undefined) ?? `${name ?? stackNameFor(projectDir)}-watcher`,
      },
      settings,
    },
  };
}

interface SectionContext {
  out: IssueCollector;
  settings: Record<string, string>;
  projectDir: string;
  homeDir: string;
  /** Absolute path of models.yaml. */
  modelsFile: string;
}

/** Validates a section against its schema; returns the plain value, or `undefined` when absent or invalid. */
function parseSection(entry: LEntry | undefined, schema: v.GenericSchema, out: IssueCollector): unknown {
  if (!entry) return undefined;
  const plain = toPlain(entry.value);
  const result = v.safeParse(schema, plain);
  if (result.success) return plain;
  reportSchemaIssues(out, schema as never, result.issues, entry.value, [entry.key], entry.key);
  return undefined;
}

/** Like {@link parseSection}, but keeps the valid fields of an invalid section. */
function parseFields(entry: LEntry | undefined, schema: v.GenericSchema, out: IssueCollector): Record<string, unknown> {
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

function parseDefaults(entry: LEntry | undefined, ctx: SectionContext): ModelDefaults {
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

function settingPort(settings: Record<string, string>, name: string): number | undefined {
  const raw = settings[name];
  if (!raw) return undefined;
  const n = Number(raw);
  return Number.isInteger(n) && n >= 1 && n <= 65535 ? n : undefined;
}

/**
 * The first of `names` that is set (non-empty) in the settings: the reference tool's name and
 * ours are both accepted (they may not disagree; see `checkSettings`).
 */
function setting(settings: Record<string, string>, ...names: string[]): string | undefined {
  for (const name of names) if (settings[name]) return settings[name];
  return undefined;
}

function parseGateway(entry: LEntry | undefined, ctx: SectionContext): GatewaySettings {
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

function parseMonitoring(entry: LEntry | undefined, ctx: SectionContext): MonitoringSettings {
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
function checkPorts(
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

/** Duplicate keys anywhere in the document; the models map gets its own wording. */
function reportDuplicateKeys(node: LNode, path: (string | number)[], out: IssueCollector): void {
  if (node.kind === 'seq') {
    node.items.forEach((item, i) => reportDuplicateKeys(item, [...path, i], out));
    return;
  }
  if (node.kind !== 'map') return;
  const isModels = path.length === 1 && path[0] === 'models';
  for (const { entry, first } of (node as LMap).duplicates) {
    out.add(
      entry.keyPos,
      [...path, entry.key],
      isModels ? 'duplicate-model' : 'duplicate-key',
      isModels
        ? `model "${entry.key}" is defined twice: at line ${first.keyPos.line}, column ${first.keyPos.column} and here`
        : `key "${entry.key}" is given twice: at line ${first.keyPos.line}, column ${first.keyPos.column} and here`,
      isModels ? 'rename one of them: each model key becomes a container name' : 'keep one of them (YAML would silently use the last)',
    );
  }
  for (const entry of node.entries) reportDuplicateKeys(entry.value, [...path, entry.key], out);
}

function parseModels(
  entry: LEntry | undefined,
  root: LNode,
  ctx: SectionContext & { defaults: ModelDefaults },
): { parsed: ParsedModel[]; keys: string[] } {
  const { out } = ctx;
  const none = { parsed: [], keys: [] };
  if (!entry) {
    out.add(root.pos, ['models'], 'no-models', 'the file has no models: section', 'add models: with at least one model; see the @inferstack/config README');
    return none;
  }
  const node = entry.value;
  const found: { key: string; keyPos: Pos; value: LNode; path: (string | number)[] }[] = [];
  if (node.kind === 'seq') {
    node.items.forEach((item, i) => {
      if (item.kind !== 'map') {
        out.add(
          item.pos,
          ['models', i],
          'invalid-type',
          `models item ${i + 1} must be "- <key>:" with the model's options below, got ${item.kind === 'seq' ? 'a list' : JSON.stringify(item.value)}`,
          item.kind === 'scalar' && typeof item.value === 'string'
            ? `write "- ${item.value}:" and indent model: <repo id> under it`
            : 'write "- <key>:" and indent its options under it',
        );
        return;
      }
      if (item.entries.length === 0) {
        out.add(item.pos, ['models', i], 'invalid-type', `models item ${i + 1} is empty`, 'write "- <key>:" and indent its options under it');
        return;
      }
      const [head, ...rest] = item.entries;
      if (!head) return;
      if (rest.length > 0) {
        const misindented = head.value.kind === 'scalar' && head.value.value === null;
        out.add(
          rest[0]?.keyPos ?? item.pos,
          ['models', i],
          'model-item-keys',
          misindented
            ? `the options of model "${head.key}" are not indented under it`
            : `models item ${i + 1} has ${item.entries.length} keys (${item.entries.map((e) => e.key).join(', ')}); each item is one model`,
          misindented
            ? `indent ${rest.map((e) => e.key).join(', ')} further than "${head.key}" (e.g. 4 spaces after "- ")`
            : 'start every model with its own "- <key>:" line',
        );
        if (misindented) return;
      }
      found.push({ key: head.key, keyPos: head.keyPos, value: head.value, path: ['models', i, head.key] });
    });
  } else if (node.kind === 'map') {
    for (const e of node.entries) found.push({ key: e.key, keyPos: e.keyPos, value: e.value, path: ['models', e.key] });
  } else if (node.value === null) {
    out.add(entry.keyPos, ['models'], 'no-models', 'models: is empty', 'add at least one model: "- <key>:" with model: <repo id> under it');
    return none;
  } else {
    out.add(
      node.pos,
      ['models'],
      'invalid-type',
      `models must be a list of "- <key>: {options}" items or a map of "<key>: {options}", got ${JSON.stringify(node.value)}`,
      'write the models under models:, indented, as in the README',
    );
    return none;
  }
  if (found.length === 0) {
    if (!out.issues.some((i) => i.path[0] === 'models')) {
      out.add(entry.keyPos, ['models'], 'no-models', 'models: is empty', 'add at least one model: "- <key>:" with model: <repo id> under it');
    }
    return none;
  }

  const seen = new Map<string, Pos>();
  const parsed: ParsedModel[] = [];
  for (const m of found) {
    const problem = modelKeyProblem(m.key);
    if (problem !== undefined && isModelKeyTooLong(m.key)) {
      out.add(
        m.keyPos,
        m.path,
        'model-key-too-long',
        `model key ${JSON.stringify(m.key)} ${problem}`,
        `shorten the key (the name clients ask for is served-model-name, which may stay long; "/" in the key counts twice, as "--")`,
      );
    } else if (problem !== undefined) {
      out.add(
        m.keyPos,
        m.path,
        'invalid-model-key',
        `model key ${JSON.stringify(m.key)} ${problem}`,
        'use letters, digits, -, _, . and / (e.g. qwen-4b or Qwen/Qwen3-4B); the key becomes the container name inference-<key>',
      );
    }
    const first = seen.get(m.key);
    if (first && node.kind === 'seq') {
      out.add(
        m.keyPos,
        m.path,
        'duplicate-model',
        `model "${m.key}" is defined twice: at line ${first.line}, column ${first.column} and here`,
        'rename one of them: each model key becomes a container name',
      );
    }
    if (!first) seen.set(m.key, m.keyPos);
    const model = parseModel(m.key, problem === undefined, m.keyPos, m.value, m.path, ctx);
    if (model && !first) parsed.push(model);
  }
  return { parsed, keys: [...seen.keys()] };
}

/**
 * The hosts serve may place a `gpus: auto` model on (`placementHosts`): `any` is the default host
 * and every host of `hosts:` the gateway can reach (one with an address), a list is its names,
 * and one name (or none) is that host. The model's `host` is the first of them. A model that may
 * leave the default host must not sleep: idle policies, swap groups and vLLM's development
 * routes work on the default host only (the watcher reaches its models only; the routes are
 * unprotected and a model of another host is published on its address). `serve` checks a
 * model's one `host` for that too; this is the same rule for the hosts it is not told about.
 */
function placeOnHosts(m: ParsedModel, hosts: ParsedHosts, out: IssueCollector): void {
  if (m.spec.gpus.kind !== 'auto') return;
  const names =
    m.placement?.kind === 'any'
      ? [LOCAL_HOST, ...hosts.hosts.filter((h) => !h.local && !hosts.unreachable.has(h.name)).map((h) => h.name)]
      : m.placement?.kind === 'list'
        ? m.placement.names
        : [m.spec.host ?? LOCAL_HOST];
  m.spec.placementHosts = names;
  m.spec.host = names[0] ?? LOCAL_HOST;
  if (!m.placement) return;
  const away = names.filter((n) => n !== LOCAL_HOST);
  const sleeps = m.spec.idle !== undefined || m.spec.swapGroup !== undefined || m.spec.env.VLLM_SERVER_DEV_MODE === '1';
  if (away.length === 0 || !sleeps) return;
  const what = m.spec.idle ? 'an idle policy' : m.spec.swapGroup ? 'a swap group' : 'VLLM_SERVER_DEV_MODE=1 (vLLM\'s unprotected development routes)';
  const written = m.placement.kind === 'any' ? ANY_HOST : `[${m.placement.names.join(', ')}]`;
  out.add(
    m.hostPos,
    [...m.path, 'host'],
    'placement-off-default-host',
    `model "${m.spec.key}" has ${what}, which works on the default host (${LOCAL_HOST}) only for now, and host: ${written} may place it on ${away.join(', ')}`,
    `keep it on the default host (host: ${LOCAL_HOST}), or remove ${m.spec.idle ? 'idle' : m.spec.swapGroup ? 'swap-group' : 'VLLM_SERVER_DEV_MODE from its env'}`,
  );
}

/**
 * Models sharing a GPU must not ask for more than all of its memory. Every replica of a model
 * with fixed GPUs gets those GPUs, so it counts once per replica (at most `max` run). `gpus:
 * auto` models are left out: serve places them at `up` on GPUs with room, seeing the memory the
 * models counted here hold (docker-ops' `planPlacement`), so they cannot oversubscribe a GPU, and
 * how many GPUs a host has is not known here. Whether they fit at all is said then.
 */
function checkGpuMemory(models: ParsedModel[], out: IssueCollector, host: string): void {
  const withGpus = models.filter((m) => m.spec.gpus.kind !== 'none' && m.spec.gpus.kind !== 'auto');
  const everyGpu = withGpus.filter((m) => m.spec.gpus.kind === 'all');
  const listed = new Set<number>();
  for (const m of withGpus) if (m.spec.gpus.kind === 'devices') m.spec.gpus.indices.forEach((i) => listed.add(i));
  const groups: { gpu: string; members: ParsedModel[] }[] = [...listed]
    .sort((a, b) => a - b)
    .map((gpu) => ({
      gpu: `GPU ${gpu}`,
      members: withGpus.filter((m) => m.spec.gpus.kind === 'all' || (m.spec.gpus.kind === 'devices' && m.spec.gpus.indices.includes(gpu))),
    }));
  // Replicas of a model with fixed GPUs all get those GPUs (a swap group's members run one container each).
  const copies = (m: ParsedModel) => (m.spec.swapGroup ? 1 : m.spec.replicas.max);
  const containers = (list: ParsedModel[]) => list.reduce((n, m) => n + copies(m), 0);
  // Models on every GPU share even the GPUs nobody lists.
  if (containers(everyGpu) > 1) groups.push({ gpu: 'every GPU (gpus: all)', members: everyGpu });
  // Named by host only where there is more than one.
  if (host !== LOCAL_HOST) for (const g of groups) g.gpu = `${g.gpu} of host ${host}`;
  const reported = new Set<ParsedModel>();
  for (let { gpu, members } of groups) {
    if (containers(members) < 2) continue;
    // Members of a swap group never hold the GPU together: the group counts as its largest member.
    const largest = new Map<string, ParsedModel>();
    for (const m of members) {
      const g = m.spec.swapGroup;
      if (!g) continue;
      const u = (x: ParsedModel) => x.spec.gpuMemoryUtilization ?? DEFAULT_GPU_MEMORY_UTILIZATION;
      const best = largest.get(g);
      if (!best || u(m) > u(best)) largest.set(g, m);
    }
    members = members.filter((m) => !m.spec.swapGroup || largest.get(m.spec.swapGroup) === m);
    if (containers(members) < 2) continue;
    let sum = 0;
    const parts: string[] = [];
    for (const m of members) {
      const u = m.spec.gpuMemoryUtilization ?? DEFAULT_GPU_MEMORY_UTILIZATION;
      sum += u * copies(m);
      parts.push(`${m.spec.key} ${u}${m.spec.gpuMemoryUtilization === undefined ? ' (default)' : ''}${copies(m) > 1 ? ` × ${copies(m)} replicas` : ''}`);
      if (sum > 1 + 1e-9) {
        if (!reported.has(m)) {
          reported.add(m);
          const share = Math.floor((1 / containers(members)) * 100) / 100;
          out.add(
            m.utilizationPos,
            [...m.path, 'gpu-memory-utilization'],
            'gpu-oversubscribed',
            `${gpu} is shared by ${members.map((x) => `"${x.spec.key}"${copies(x) > 1 ? ` (${copies(x)} replicas)` : ''}`).join(', ')} whose gpu-memory-utilization adds up to more than 1 (${parts.join(' + ')} …)`,
            `lower gpu-memory-utilization so the models on ${gpu} sum to at most 1 (e.g. ${share} each; ~0.95 leaves room for CUDA), or give them different GPUs${members.some((x) => copies(x) > 1) ? ' (gpus: auto spreads replicas over GPUs with room)' : ''}`,
          );
        }
        break;
      }
    }
  }
}

/** Settings with values that cannot work. */
function checkSettings(settings: Record<string, string>, locations: Record<string, SourceLocation>): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const add = (name: string, message: string, hint: string) => {
    const at = locations[name] ?? { file: ENVIRONMENT_SOURCE, line: 0, column: 0 };
    issues.push({ file: at.file, line: at.line, column: at.column, path: [name], code: 'invalid-setting', message, hint });
  };
  for (const name of ['GATEWAY_PORT', 'PROMETHEUS_PORT', 'GRAFANA_PORT']) {
    const raw = settings[name];
    if (raw && settingPort(settings, name) === undefined) add(name, `${name}=${raw} is not a port number`, 'use a number between 1 and 65535');
  }
  const workers = settings.LITELLM_NUM_WORKERS;
  if (workers && !/^[1-9][0-9]*$/.test(workers)) add('LITELLM_NUM_WORKERS', `LITELLM_NUM_WORKERS=${workers} is not a positive whole number`, 'use a number such as 1 or 4');
  const imagePattern = new RegExp(IMAGE_PATTERN);
  const image = settings.VLLM_IMAGE;
  if (image && !imagePattern.test(resolveVllmImage(image))) {
    add('VLLM_IMAGE', `VLLM_IMAGE=${image} is not an image reference`, 'use a full reference like vllm/vllm-openai:v0.32.0-cu129, or just a tag like v0.32.0-cu129');
  }
  const images: Record<string, string> = {
    LITELLM_IMAGE: DEFAULT_LITELLM_IMAGE,
    POSTGRES_IMAGE: DEFAULT_DATABASE_IMAGE,
    LITELLM_DB_IMAGE: DEFAULT_DATABASE_IMAGE,
    PROMETHEUS_IMAGE: DEFAULT_PROMETHEUS_IMAGE,
    NODE_EXPORTER_IMAGE: DEFAULT_NODE_EXPORTER_IMAGE,
    DCGM_EXPORTER_IMAGE: DEFAULT_DCGM_EXPORTER_IMAGE,
    GRAFANA_IMAGE: DEFAULT_GRAFANA_IMAGE,
  };
  for (const [name, example] of Object.entries(images)) {
    const value = settings[name];
    if (value && !imagePattern.test(value)) add(name, `${name}=${value} is not an image reference`, `use a full reference like ${example}`);
  }
  // The reference tool's name and ours for the same thing: two different values would leave one silently unused.
  for (const [old, ours] of [['POSTGRES_PASSWORD', 'LITELLM_DB_PASSWORD'], ['POSTGRES_IMAGE', 'LITELLM_DB_IMAGE']] as const) {
    if (settings[old] && settings[ours] && settings[old] !== settings[ours]) {
      // Never the values: one pair is passwords.
      add(ours, `${old} and ${ours} are both set, to different values; they name the same setting`, `keep one of them (${old} is the reference tool's name)`);
    }
  }
  const hostengine = settings.DCGM_REMOTE_HOSTENGINE_INFO;
  if (hostengine && !new RegExp(HOSTENGINE_PATTERN).test(hostengine)) {
    add('DCGM_REMOTE_HOSTENGINE_INFO', `DCGM_REMOTE_HOSTENGINE_INFO=${hostengine} is not host:port`, 'use the address of an nv-hostengine, e.g. host.docker.internal:5555 (IPv6 in brackets: [::1]:5555)');
  }
  const devices = settings.DCGM_EXPORTER_DEVICES_STR;
  if (devices && !new RegExp(DCGM_DEVICES_PATTERN).test(devices)) {
    add('DCGM_EXPORTER_DEVICES_STR', `DCGM_EXPORTER_DEVICES_STR=${devices} is not a device selection`, 'use f (every GPU or its MIG instances), g, i, or a list such as g:0,2-3');
  }
  const interval = settings.DCGM_EXPORTER_INTERVAL;
  if (interval && !/^[1-9][0-9]*$/.test(interval)) {
    add('DCGM_EXPORTER_INTERVAL', `DCGM_EXPORTER_INTERVAL=${interval} is not a whole number of milliseconds`, 'use milliseconds, e.g. 30000 for 30 seconds');
  }
  const platform = settings.VLLM_PLATFORM;
  if (platform && !/^[a-z0-9]+\/[a-z0-9_]+(\/[a-z0-9]+)?$/.test(platform)) {
    add('VLLM_PLATFORM', `VLLM_PLATFORM=${platform} is not a platform`, 'use os/arch, e.g. linux/amd64 or linux/arm64');
  }
  return issues;
}

function dedupe(issues: ConfigIssue[]): ConfigIssue[] {
  const seen = new Set<string>();
  return issues.filter((i) => {
    const k = `${i.file}:${i.line}:${i.column}:${i.code}:${i.message}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}
