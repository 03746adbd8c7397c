/**
 * The normalised, typed result of loading `models.yaml` and `.env`. Everything later layers
 * (docker-ops, litellm-sync, prometheus-sync, the CLI) need comes from here; none of them reads
 * the YAML or the environment again.
 */

/** Where something was written in a file, for error messages (1-based). */
export interface SourceLocation {
  file: string;
  line: number;
  column: number;
}

/**
 * GPUs a model container gets: every GPU, none (CPU / stand-in), the listed indices, or `auto`:
 * `count` GPUs (as many as vLLM uses, see `vllmWorldSize`) that serve picks where memory is free
 * when it places each replica. Which ones is a run-time decision kept on the container, never
 * part of the spec (nor of its hash).
 */
export type GpuSelection =
  | { kind: 'all' }
  | { kind: 'none' }
  | { kind: 'devices'; indices: number[] }
  | { kind: 'auto'; count: number };

/**
 * How many containers (replicas) of a model run (`replicas:`). A fixed count has `min === max`
 * and no `downAfterMs`; otherwise serve scales between `min` and `max` on load. `min: 0` lets the
 * last replica go as the model's idle policy says (which it then has), woken by a request.
 */
export interface ReplicaPolicy {
  /** At least this many run (0: none while idle). */
  min: number;
  /** At most this many run; never less than `min`, at least 1. */
  max: number;
  /**
   * How long the load must stay low before a replica is taken away (autoscaled models only).
   * @default DEFAULT_REPLICA_DOWN_AFTER_MS
   */
  downAfterMs?: number;
}

/**
 * How the gateway spreads a model's requests over its replicas (`routing:`). `least-busy`: to
 * the replica with the fewest requests in flight. `prefix`: requests that start alike to the
 * same replica, whose KV cache already holds that prefix (vLLM's prefix caching).
 */
export type RoutingStrategy = 'least-busy' | 'prefix';

/** When to pull the model image. `missing` is the reference tool's behaviour. */
export type PullPolicy = 'missing' | 'always' | 'never';

/** A bind mount or named volume given to a model container. */
export interface VolumeMount {
  /** Host path (absolute) or named volume. */
  source: string;
  /** Path inside the container. */
  target: string;
  readOnly: boolean;
}

/** What happens to a model nobody asks for (`idle:`). */
export interface IdlePolicy {
  /** Without a request for this long, the model is put away. */
  afterMs: number;
  /** `sleep`: vLLM sleep level 1; `deep-sleep`: level 2; `stop`: the container stops. */
  then: 'sleep' | 'deep-sleep' | 'stop';
}

/** One model, fully resolved: exactly what will be given to Docker. */
export interface ModelSpec {
  /** The key in models.yaml, e.g. `qwen-vl-4b-instruct` or `org/name`. */
  key: string;
  /** `inference-<key>` with `/` turned into `--` (reference naming, reversible). */
  containerName: string;
  /** Hugging Face repo id or path given to vLLM as the model. */
  model: string;
  /** The name vLLM serves the model as (`served-model-name`, else `model`). */
  servedModelName: string;
  /**
   * The revision vLLM loads (`--revision`, from the `revision` key or additional_flags): a branch,
   * tag or commit of the Hugging Face repo; unset: the repo's default branch, `main`. What `serve
   * pull` fetches. Not part of the hash (the flag is).
   */
  revision?: string;
  /** Image reference, from the model, the defaults, or `VLLM_IMAGE` (+ platform). */
  image: string;
  /** Docker platform (`VLLM_PLATFORM`), if any. */
  platform?: string;
  pullPolicy: PullPolicy;
  /**
   * `in-place` (`replace: in-place`): a changed model's old container goes before the new one
   * starts. Otherwise the replacement is rolling where the GPUs allow. Not part of the hash.
   */
  replace?: 'in-place';
  /** Its idle policy (`idle:`); unset: always on. Not part of the hash (sleep mode's flag is). */
  idle?: IdlePolicy;
  /** Its swap group: waking it puts the others of the group to sleep first. */
  swapGroup?: string;
  /** How long a request waits for it to wake. @default DEFAULT_WAKE_TIMEOUT_MS */
  wakeTimeoutMs?: number;
  gpus: GpuSelection;
  /**
   * How many replicas run (`replicas:`, else `defaults.replicas`). Not part of the hash: changing
   * it adds or removes replicas and leaves the running ones alone.
   * @default { min: 1, max: 1 }
   */
  replicas: ReplicaPolicy;
  /**
   * Which replica this spec is: set by docker-ops' `replicaSpecs` on the per-replica copies of a
   * model (its `containerName` is then the replica's). Absent (0) for the first replica and in
   * every spec `parseConfig` returns. Not part of the hash.
   */
  replica?: number;
  /** How the gateway spreads requests over the replicas. Not part of the hash. @default 'least-busy' */
  routing: RoutingStrategy;
  /** `cpuset-cpus` as Docker's string form, e.g. `0-3` or `0,1,2`. */
  cpusetCpus?: string;
  /** `shm-size` in bytes. */
  shmSizeBytes?: number;
  tensorParallelSize?: number;
  gpuMemoryUtilization?: number;
  /**
   * vLLM flags that follow the model and `--port 8000 --host 0.0.0.0`, as argv items, in
   * file order: `['--tensor-parallel-size', '1', '--max-model-len', '16384', '--trust-remote-code']`.
   * Never contains secrets (an API key goes to `secretEnv.VLLM_API_KEY`).
   */
  vllmArgs: string[];
  /** Non-secret environment for the container (`HF_HOME`, `VLLM_NO_USAGE_STATS`, user env...). */
  env: Record<string, string>;
  /** Secret environment (`HF_TOKEN`, `VLLM_API_KEY`): never printed, logged or put in labels. */
  secretEnv: Record<string, string>;
  /** Mounts, the HF cache at `/root/.cache/huggingface` first. */
  volumes: VolumeMount[];
  /** The API key vLLM requires on `/v1*` (also in `secretEnv.VLLM_API_KEY`), if any. */
  apiKey?: string;
  /**
   * Stable digest (hex, 16 chars) of the effective spec: image, platform, gpus, cpuset, shm, args,
   * env, volumes, and secrets only as a keyed digest. Equal specs give equal hashes.
   */
  specHash: string;
  /**
   * The Docker host it runs on (`host:`, a name under `hosts:`); `parseConfig` always sets it.
   * For a model serve places (`placementHosts`), the first of those hosts.
   * @default LOCAL_HOST
   */
  host?: string;
  /**
   * The hosts serve may place the replicas of a `gpus: auto` model on, in order of preference:
   * its `host:` (one name, or the default host), the names of a `host: [a, b]` list, or for
   * `host: any` the default host and then every host of `hosts:` with an address, in file order.
   * Set for every `gpus: auto` model and only for those (a GPU list names GPUs of one host). Not
   * part of the hash.
   */
  placementHosts?: string[];
  /** Where the model was defined. */
  source: SourceLocation;
}

/** How inferstack reaches the LiteLLM gateway. */
export interface GatewaySettings {
  /** `managed`: serve runs the LiteLLM container; `external`: a URL; `none`: no gateway sync. */
  mode: 'managed' | 'external' | 'none';
  /** `config`: config-file mode (no DB, restart on change); `api`: admin API (needs a DB). */
  sync: 'config' | 'api';
  /** Base URL as seen from the host, e.g. `http://127.0.0.1:8000`. */
  url: string;
  /** Host port of a managed gateway (`GATEWAY_PORT`, default 8000). */
  port: number;
  /** Host address the managed gateway is published on. @default '127.0.0.1' */
  bindAddress: string;
  image: string;
  containerName: string;
  /** Path of the LiteLLM config file a managed gateway uses (config mode). */
  configFile: string;
  masterKey?: string;
  saltKey?: string;
  /**
   * User name of the admin UI login (`ui-username`, else `LITELLM_USERNAME`; given to LiteLLM as
   * `UI_USERNAME`). Unset: LiteLLM's own default, `admin`.
   */
  uiUsername?: string;
  /**
   * Password of the admin UI login (`LITELLM_PASSWORD`, given as `UI_PASSWORD`). Unset: LiteLLM
   * accepts the master key. A secret.
   */
  uiPassword?: string;
  /** The Postgres a managed gateway in API mode stores its models in (unless `DATABASE_URL` is set). */
  database: {
    /** `gateway.database.image`, else `POSTGRES_IMAGE` / `LITELLM_DB_IMAGE`, else the default. */
    image: string;
    /** `POSTGRES_PASSWORD` (the reference tool's name) or `LITELLM_DB_PASSWORD`. A secret. */
    password?: string;
  };
}

/** Monitoring: a managed Prometheus (and Grafana), an external one, or none. */
export interface MonitoringSettings {
  mode: 'managed' | 'external' | 'none';
  /** Prometheus base URL as seen from the host. */
  prometheusUrl: string;
  prometheusPort: number;
  prometheusImage: string;
  /** Name of the managed Prometheus container. @default 'prometheus' */
  prometheusContainerName: string;
  /** Where file_sd target files are written on the host. */
  targetsDir: string;
  grafana: {
    enabled: boolean;
    port: number;
    image: string;
    containerName: string;
    /** `admin-user`, else `GRAFANA_ADMIN_USER` (given as `GF_SECURITY_ADMIN_USER`). Unset: Grafana's `admin`. */
    adminUser?: string;
    /** `GRAFANA_ADMIN_PASSWORD` (given as `GF_SECURITY_ADMIN_PASSWORD`). A secret. */
    adminPassword?: string;
  };
  /** node-exporter, for the system dashboard. */
  nodeExporter: { enabled: boolean; image: string; containerName: string };
  /**
   * NVIDIA's DCGM exporter for GPU metrics. `enabled` unset: run it where the Docker host has
   * NVIDIA GPUs.
   */
  dcgmExporter: {
    enabled?: boolean;
    image: string;
    containerName: string;
    /**
     * `host:port` of an `nv-hostengine` the exporter connects to instead of starting its own DCGM
     * engine (`remote-hostengine`, else `DCGM_REMOTE_HOSTENGINE_INFO`), e.g.
     * `host.docker.internal:5555` for the host's. Unset: the exporter's embedded engine.
     */
    remoteHostengine?: string;
    /** Which devices it reports (`devices`, else `DCGM_EXPORTER_DEVICES_STR`): `f`, `g[:ids]`, `i[:ids]`. @default 'f' */
    devices: string;
    /** How often it collects, in milliseconds (`interval`, else `DCGM_EXPORTER_INTERVAL`). @default 30000 */
    intervalMs: number;
  };
  /** Extra scrape jobs kept verbatim in the generated Prometheus config. */
  extraScrapeConfigs: unknown[];
}

/** The watcher (idle models sleep and wake on a request): where it runs. */
export interface WatcherSettings {
  /** `managed`: a container of the stack (`serve up` runs it); `none`: `serve watch` run by the user. */
  mode: 'managed' | 'none';
  image: string;
  containerName: string;
}

/** TLS files (absolute paths) of a `tcp://` host endpoint. The key is a secret: never shown. */
export interface HostTlsFiles {
  ca: string;
  cert: string;
  key: string;
}

/**
 * One Docker host of the stack (`hosts:`), or the default one ({@link LOCAL_HOST}): where models
 * run. The gateway and Prometheus run on the default host and reach the models of the others at
 * `address` and the port each publishes there.
 */
export interface HostSpec {
  /** Its name: the key under `hosts:`, or `local`. */
  name: string;
  /** The default host: the daemon `DOCKER_HOST` names, else the local socket (no `endpoint`). */
  local: boolean;
  /** `unix:///path`, `tcp://host:port` or `ssh://user@host[:port]`; unset for the default host. */
  endpoint?: string;
  /** Mutual TLS for a `tcp://` endpoint. */
  tls?: HostTlsFiles;
  /** Login for an `ssh://` endpoint (absolute paths). */
  ssh?: { privateKeyPath?: string; knownHostsPath?: string };
  /**
   * Where the gateway and Prometheus reach the ports this host's models (and exporters) publish:
   * they publish on this address only. Set for every other host that has models.
   */
  address?: string;
  /**
   * `allow-open-models: true`: models of this host may go without an `api-key` although they are
   * published on a non-loopback `address` (the user accepts that whoever reaches it can use them).
   */
  allowOpenModels?: boolean;
  /** Where it was defined (unset for the default host). */
  source?: SourceLocation;
}

/** The whole loaded configuration. */
export interface StackConfig {
  /** Absolute path of the models file. */
  file: string;
  /** The project directory (where `.env` was looked for). */
  projectDir: string;
  /**
   * The stack's name (`name:`, else the project directory's name): it labels everything the
   * stack creates and scopes what it manages.
   */
  name: string;
  /** Models in file order. */
  models: ModelSpec[];
  /**
   * The Docker hosts: the default one ({@link LOCAL_HOST}) first, then those of `hosts:` in file
   * order (all of them, also when models are selected).
   */
  hosts: HostSpec[];
  /** Docker network for every container. @default 'inference_default' */
  network: string;
  gateway: GatewaySettings;
  monitoring: MonitoringSettings;
  watcher: WatcherSettings;
  /** Settings read from `.env` and the environment (secrets included; never print this). */
  settings: Record<string, string>;
}
