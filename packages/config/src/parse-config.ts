import { homedir } from 'node:os';
import { resolve } from 'node:path';
import { didYouMean } from './_did-you-mean.js';
import { resolveVllmImage } from './_image-ref.js';
import { IssueCollector } from './_issues.js';
import { type ModelDefaults, type ParsedModel, parseModel } from './_model-spec.js';
import { checkModelHosts, hostNamesIn, type ParsedHosts, parseHosts } from './_hosts.js';
import { decodeSource } from './_source-text.js';
import { getEntry, type LEntry, type LMap, type LNode, parseYamlTree, type Pos } from './_yaml-tree.js';
import { checkPorts, parseDefaults, parseFields, parseGateway, parseMonitoring, parseSection, setting, settingPort, type SectionContext } from './_sections.js';
import { isModelKeyTooLong, modelKeyProblem } from './container-name.js';
import {
  DEFAULT_WATCHER_IMAGE,
  DEFAULT_GPU_MEMORY_UTILIZATION,
  DEFAULT_GRAFANA_IMAGE,
  DEFAULT_NODE_EXPORTER_IMAGE,
  DEFAULT_DCGM_EXPORTER_IMAGE,
  DEFAULT_DATABASE_IMAGE,
  DEFAULT_LITELLM_IMAGE,
  DEFAULT_NETWORK,
  DEFAULT_PROMETHEUS_IMAGE,
  FALLBACK_HASH_KEY,
  ANY_HOST,
  LOCAL_HOST,
} from './defaults.js';
import { type ConfigIssue, ConfigValidationError } from './errors.js';
import { hashModelSpec } from './hash-model-spec.js';
import { unknownModelIssue } from './select-models.js';
import {
  DCGM_DEVICES_PATTERN,
  HOSTENGINE_PATTERN,
  IMAGE_PATTERN,
  NetworkSchema,
  StackNameSchema,
  WatcherSchema,
  TOP_LEVEL_KEYS,
} from './schema.js';
import { ENVIRONMENT_SOURCE } from './settings.js';
import { projectDirFor, stackNameFor } from './project-dir.js';

export { projectDirFor, stackNameFor };
import type { ModelSpec, SourceLocation, StackConfig } from './types.js';

/*
 * models.yaml from text to a StackConfig in one pass: the sections in order (defaults:, gateway:,
 * monitoring: are read in _sections.ts, one model in _model-spec.ts, hosts: in _hosts.ts), then
 * the checks that span models or sources (GPU memory per host, settings that disagree). It stays
 * one file of ~450 lines because those steps share one issue collector and the YAML positions,
 * and read best top to bottom in the order the file is checked.
 */

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
  checkReplicaNames(parsed, out);
  checkScalingHosts(parsed, out);
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
 * A model that scales (`replicas: {min, max}` with min < max) is scaled by the stack's watcher,
 * which runs beside the default host's daemon and looks after that host's models only.
 */
function checkScalingHosts(models: ParsedModel[], out: IssueCollector): void {
  for (const m of models) {
    const { min, max } = m.spec.replicas;
    const away = (m.spec.placementHosts ?? [m.spec.host ?? LOCAL_HOST]).filter((h) => h !== LOCAL_HOST);
    if (min === max || away.length === 0) continue;
    out.add(
      m.hostPos ?? m.keyPos,
      [...m.path, 'host'],
      'scaling-off-default-host',
      `model "${m.spec.key}" scales (replicas: {min: ${min}, max: ${max}}), which works on the default host (${LOCAL_HOST}) only for now, and it may run on ${away.join(', ')}`,
      `keep it on the default host, or give it a fixed count (replicas: ${max})`,
    );
  }
}

/**
 * Replica i of a model runs as `<container name>-r<i>` (docker-ops' `replicaContainerName`):
 * no other model's container may be named so (a model `qwen-r1` beside `qwen` with two
 * replicas), or one of them could not be created.
 */
function checkReplicaNames(models: ParsedModel[], out: IssueCollector): void {
  const byName = new Map(models.map((m) => [m.spec.containerName, m]));
  for (const m of models) {
    for (let i = 1; i < m.spec.replicas.max; i++) {
      const other = byName.get(`${m.spec.containerName}-r${i}`);
      if (!other) continue;
      out.add(
        other.keyPos,
        other.path,
        'replica-name-taken',
        `model "${other.spec.key}" has the container name ${other.spec.containerName}, which replica ${i} of model "${m.spec.key}" (replicas: ${m.spec.replicas.max === m.spec.replicas.min ? m.spec.replicas.max : `max ${m.spec.replicas.max}`}) needs`,
        `rename model "${other.spec.key}", or give "${m.spec.key}" at most ${i} replicas`,
      );
    }
  }
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
