import { randomBytes } from 'node:crypto';
import { homedir } from 'node:os';
import { loadConfig, MAX_STACK_NAME_LENGTH, type LoadConfigOptions, type StackConfig } from '@inferstack/config';
import type { DockerClient } from '@inferstack/docker-ops';
import type { GrafanaAssets, StackContext } from './context.js';
import { createContext, forCall, rehashed } from './stack-context.js';
import type { StackEventHandler } from './events.js';
import type { ComposeExport } from './export/compose/export.js';
import type { KubernetesExport, KubernetesExportOptions } from './export/kubernetes/export.js';
import { StackInputError } from './errors.js';
import { labelsFromEnv, legacyHashKey } from './hash-key.js';
import { syncIntegrations, type SyncResult } from './sync/sync.js';
import { withLock } from './hosts/lock.js';
import type { BenchOptions, BenchResult } from './verbs/bench.js';
import type { PullOptions, PullResult } from './verbs/pull.js';
import type { LogsOptions } from './verbs/logs.js';
import { plan, type PlanOptions, type StackPlan } from './verbs/plan.js';
import { secretValues } from './secrets.js';
import { DEFAULT_SERVICES } from './services/default-services.js';
import type { ServiceDefinition } from './services/registry.js';
import { status, type StackStatus, type StatusOptions } from './verbs/status.js';
import { stopOrDown, type DownOptions, type StopOptions, type StopResult } from './verbs/stop.js';
import { up, type UpOptions, type UpResult } from './verbs/up.js';
import { GATEWAY_CONTAINER_PORT } from './services/gateway.js';
import { PROMETHEUS_PORT } from './services/monitoring.js';
import type { WatcherProgram } from './services/watcher.js';
import type { WatchOptions } from './watcher/watch.js';

/** Options of {@link openStack}. */
export interface OpenStackOptions {
  /** The models file, relative to `cwd` (ignored when `config` is given). @default 'model_config/models.yaml' */
  configPath?: string;
  /** A configuration loaded already (`loadConfig` of `@inferstack/config`). */
  config?: StackConfig;
  /**
   * How the models file is loaded, each time the stack needs it (with this run's key and home,
   * then with the stack's own when they differ): a program may keep parsed configs (the CLI's
   * cache of them). It must behave as `loadConfig`.
   * @default loadConfig of `@inferstack/config`
   */
  loadConfig?: (options: LoadConfigOptions) => Promise<StackConfig>;
  /** @default process.cwd() */
  cwd?: string;
  /** Environment: settings (it overrides `.env`), `DOCKER_HOST`, `INFERSTACK_*`. @default process.env */
  env?: NodeJS.ProcessEnv;
  /** A Docker client to use. @default one for `DOCKER_HOST` (or the default socket), made on first use */
  docker?: DockerClient;
  /** Aborting it stops what runs, leaving nothing half-made (as Ctrl-C in the CLI). */
  signal?: AbortSignal;
  /** Receives the progress of every call (each call can take its own handler too). */
  onEvent?: StackEventHandler;
  /**
   * Key of the keyed digests of secrets in spec hashes.
   * @default INFERSTACK_HASH_KEY (environment or .env), else the stack's own key, kept in Docker
   */
  hashKey?: string;
  /** The stack's name (`-p`). @default `name:` in models.yaml, else the project directory's name */
  name?: string;
  /** Labels added to every container, network and volume created. @default from env.INFERSTACK_LABELS */
  labels?: Record<string, string>;
  /** The infrastructure services. @default DEFAULT_SERVICES */
  services?: readonly ServiceDefinition[];
  /** Where Grafana's dashboards and provisioning files are. @default those of `@inferstack/prometheus-sync` */
  grafanaAssets?: GrafanaAssets;
  /** The program `up` runs the managed watcher with (the CLI gives its own bundle). @default none: idle models need "serve watch" */
  watcherProgram?: WatcherProgram;
  /**
   * This process runs inside the stack's network (the managed watcher): the managed gateway and
   * Prometheus are reached by their container names, not their published ports.
   * @default env.INFERSTACK_IN_NETWORK === '1'
   */
  inNetwork?: boolean;
}

/** Options every call takes besides its own. */
export interface CallOptions {
  onEvent?: StackEventHandler;
  signal?: AbortSignal;
}

/**
 * One stack: a `models.yaml` (and its `.env`) bound to a Docker daemon. One method per thing a
 * user does with it; each returns typed results and reports progress as events. Never prints,
 * never exits.
 */
export interface Stack {
  /** The loaded configuration (holds secrets: do not print it). */
  readonly config: StackConfig;
  /** The stack's name: it labels everything the stack creates. */
  readonly name: string;
  /** Every secret value of the configuration, for masking what is shown. */
  readonly secrets: readonly string[];
  /** What `up` would change. */
  plan(options?: PlanOptions & CallOptions): Promise<StackPlan>;
  /** Bring the stack to the config: services, models, then the gateway and Prometheus. */
  up(options?: UpOptions & CallOptions): Promise<UpResult>;
  /** Deregister, then stop the models (containers kept). */
  stop(options?: StopOptions & CallOptions): Promise<StopResult>;
  /** Deregister, then remove the models (with `all`, the whole stack). */
  down(options?: DownOptions & CallOptions): Promise<StopResult>;
  /** Point the gateway and Prometheus at the models that serve now, nothing else. */
  sync(options?: { dryRun?: boolean } & CallOptions): Promise<SyncResult>;
  /** Models and services as they are. */
  status(options?: StatusOptions & CallOptions): Promise<StackStatus>;
  /** A model's log (or, with `follow`, its lines as they come). */
  logs(model: string, options?: LogsOptions & CallOptions): Promise<string>;
  /** Send streaming chat requests to a model through the gateway and measure latency, throughput and which replica answered. */
  bench(options?: BenchOptions & CallOptions): Promise<BenchResult>;
  /** Images and weights of the models, on their hosts, into their Hugging Face cache: see verbs/pull.ts. */
  pull(options?: PullOptions & CallOptions): Promise<PullResult>;
  /** The stack as a docker compose file, without secrets. */
  exportCompose(options?: CallOptions): Promise<ComposeExport>;
  /** The stack as a Kustomize directory for Kubernetes, without secrets unless asked; with `outDir`, what changes there (written unless `dryRun`). */
  exportKubernetes(options?: KubernetesExportOptions & CallOptions): Promise<KubernetesExport>;
  /**
   * Run the stack's watcher until the signal aborts: idle models are put to sleep (or stopped)
   * and woken by requests, the gateway and Prometheus follow the models that serve.
   */
  watch(options?: WatchOptions & CallOptions): Promise<void>;
}

/**
 * Open a stack from a models file (or a loaded config). Loads and validates the config at once:
 * bad input throws `ConfigValidationError` (every problem, with file:line) before anything
 * touches Docker. Docker itself is contacted on the first call that needs it.
 *
 * @example
 * const stack = await openStack({ configPath: 'model_config/models.yaml' });
 * const result = await stack.up({ onEvent: (e) => console.log(e.type) });
 * if (!result.ok) process.exitCode = 1;
 */
export async function openStack(options: OpenStackOptions = {}): Promise<Stack> {
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  if (options.name !== undefined && !new RegExp(`^[a-z0-9][a-z0-9_-]{0,${MAX_STACK_NAME_LENGTH - 1}}$`).test(options.name)) {
    const long = options.name.length > MAX_STACK_NAME_LENGTH ? ` (${options.name.length} characters)` : '';
    throw new StackInputError(`"${options.name}" is not a stack name${long}`, {
      hint: `use lower-case letters, digits, _ and - (starting with a letter or digit), at most ${MAX_STACK_NAME_LENGTH} characters: the watcher's container is <name>-watcher, a host name the gateway resolves`,
    });
  }
  // Until the stack's identity is read from Docker: this run's key and home. A stack made
  // before identities existed keeps the per-user key it was made with.
  const inNetwork = options.inNetwork ?? env.INFERSTACK_IN_NETWORK === '1';
  const load = async ({ hashKey, home }: { hashKey: string; home: string }) => {
    // The watcher container looks after the default host's models only: it neither mounts nor
    // needs the other hosts' TLS and SSH files.
    const loaded = await (options.loadConfig ?? loadConfig)({ cwd, env, hashKey, homeDir: home, ...(inNetwork ? { checkHostFiles: false } : {}), ...(options.configPath !== undefined ? { file: options.configPath } : {}) });
    return inNetwork ? fromInsideNetwork(loaded) : loaded;
  };
  const home = env.HOME || homedir();
  let fixedHashKey = options.hashKey ?? (env.INFERSTACK_HASH_KEY || undefined);
  const provisional = { hashKey: fixedHashKey ?? legacyHashKey(env) ?? randomBytes(32).toString('hex'), home };
  let config = options.config ?? (await load(provisional));
  // INFERSTACK_HASH_KEY may also come from .env: the same config, hashed with it.
  if (!options.config && fixedHashKey === undefined && config.settings.INFERSTACK_HASH_KEY) {
    fixedHashKey = config.settings.INFERSTACK_HASH_KEY;
    provisional.hashKey = fixedHashKey;
    config = rehashed(config, fixedHashKey);
  }
  const ctx: StackContext = createContext({
    config,
    ...(options.config ? {} : { source: { load, provisional, ...(fixedHashKey !== undefined ? { fixedHashKey } : {}) } }),
    ...(options.name !== undefined ? { name: options.name } : {}),
    env,
    cwd,
    hashKey: provisional.hashKey,
    extraLabels: options.labels ?? labelsFromEnv(env),
    signal: options.signal ?? new AbortController().signal,
    services: options.services ?? DEFAULT_SERVICES,
    ...(options.grafanaAssets ? { grafanaAssets: options.grafanaAssets } : {}),
    ...(options.docker ? { docker: options.docker } : {}),
    ...(env.INFERSTACK_LOCK_WAIT_MS ? { lockWaitMs: Number(env.INFERSTACK_LOCK_WAIT_MS) } : {}),
    ...(options.onEvent ? { onEvent: options.onEvent } : {}),
    ...(options.watcherProgram ? { watcherProgram: options.watcherProgram } : {}),
  });
  // Every call that touches Docker starts from the stack's identity (read once per stack): the
  // config its verb sees is final, hashed with the stack's key and read with its home.
  const begin = async (o: CallOptions): Promise<StackContext> => {
    const call = forCall(ctx, o);
    await call.resolve();
    return call;
  };
  return {
    get config() {
      return ctx.config;
    },
    get name() {
      return ctx.name;
    },
    secrets: secretValues(config),
    plan: async (o = {}) => plan(await begin(o), o),
    up: async (o = {}) => up(await begin(o), o),
    stop: async (o = {}) => stopOrDown(await begin(o), 'stop', o),
    down: async (o = {}) => stopOrDown(await begin(o), 'down', o),
    sync: async (o = {}) => {
      const c = await begin(o);
      // A dry run changes nothing, so it needs no lock.
      return o.dryRun ? syncIntegrations(c, { dryRun: true }) : withLock(c, 'serve sync', () => syncIntegrations(c));
    },
    status: async (o = {}) => status(await begin(o), o),
    logs: async (model, o = {}) => (await import('./verbs/logs.js')).logs(await begin(o), model, o),
    bench: async (o = {}) => (await import('./verbs/bench.js')).bench(await begin(o), o),
    pull: async (o = {}) => (await import('./verbs/pull.js')).pull(await begin(o), o),
    // Loaded when called: `serve status` and `serve up` start without the exporters (and the
    // HTTP client the Kubernetes export's renderers bring), the watcher, the log follower or the benchmark.
    // The exports render the config as the files say: they need no Docker, so no identity.
    exportCompose: async (o = {}) => (await import('./export/compose/export.js')).exportCompose(forCall(ctx, o)),
    exportKubernetes: async (o = {}) => (await import('./export/kubernetes/export.js')).exportKubernetes(forCall(ctx, o), o),
    watch: async (o = {}) => (await import('./watcher/watch.js')).watch(await begin(o), o),
  };
}

/** The config as seen from a container on the stack's network: managed services by name. */
function fromInsideNetwork(config: StackConfig): StackConfig {
  return {
    ...config,
    gateway: config.gateway.mode === 'managed' ? { ...config.gateway, url: `http://${config.gateway.containerName}:${GATEWAY_CONTAINER_PORT}` } : config.gateway,
    monitoring:
      config.monitoring.mode === 'managed' ? { ...config.monitoring, prometheusUrl: `http://${config.monitoring.prometheusContainerName}:${PROMETHEUS_PORT}` } : config.monitoring,
  };
}
