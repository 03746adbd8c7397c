import type { HostSpec, StackConfig } from '@inferstack/config';
import type { DockerClient, GpuInfo, PublishAddress, ServiceSpec, StackIdentity } from '@inferstack/docker-ops';
import type { StackEvent } from './events.js';
import type { ServiceFile } from './services/types.js';

/*
 * What every verb works with: the stack's context, as types only. The context is made by
 * stack.ts (stack-context.ts) and resolved once per call before the verb runs (its config then
 * holds the stack's key and home). Nothing here imports code of the stack, and nothing imported
 * here imports this module back.
 */

/**
 * The program the managed watcher runs: a directory (the `serve` CLI's dist) and the file of it
 * that takes `watch` as its command; the directory's files of that file's kind (`.cjs`: the bin
 * and its bundle) go into the watcher's container.
 */
export interface WatcherProgram {
  dir: string;
  main: string;
}

/** A host that could not be reached, or whose part of a call failed: the other hosts went on. */
export interface HostFailure {
  host: string;
  error: Error;
  hint?: string;
}

/** A host reached, with its client. */
export interface ReachedHost {
  host: HostSpec;
  docker: DockerClient;
}

/** Where the Grafana files that the stack mounts live. */
export interface GrafanaAssets {
  /** Folder of dashboard JSON files. */
  dashboards: string;
  /** Folder with `datasources/` and `dashboards/` provisioning files. */
  provisioning: string;
}

/**
 * How the stack's config is loaded, and with what key and home directory (the identity's, once
 * known: see {@link StackContext.resolve}). The files are read once per call: a different key
 * only changes the spec hashes (rehashed in place); they are read again only when the stack's
 * home is not this user's (`~` in models.yaml means the stack's home, e.g. under sudo).
 */
export interface ConfigSource {
  load(identity: { hashKey: string; home: string }): Promise<StackConfig>;
  /** The key and home of this run before the stack's identity is known. */
  provisional: { hashKey: string; home: string };
  /** `INFERSTACK_HASH_KEY` or the `hashKey` option: it wins over the identity's. */
  fixedHashKey?: string;
}

/** Everything a verb needs; made once by `openStack`. */
export interface StackContext {
  /** The config, hashed with the stack's own key once {@link resolve} ran. */
  readonly config: StackConfig;
  /** The stack's name. */
  readonly name: string;
  readonly env: NodeJS.ProcessEnv;
  readonly cwd: string;
  /** Key of the keyed digests of secrets in spec hashes. */
  readonly hashKey: string;
  /** The key is fixed (`INFERSTACK_HASH_KEY`, the `hashKey` option): no identity's key replaces it. */
  readonly fixedHashKey: boolean;
  /** Labels added to everything created: the stack's, and the caller's (a test session, a team). */
  readonly labels: Record<string, string>;
  readonly signal: AbortSignal;
  readonly services: readonly ServiceDefinition[];
  /** Where Grafana's files are, when not those `@inferstack/prometheus-sync` ships. */
  readonly grafanaAssets?: GrafanaAssets;
  /** The daemon runs on this machine: container addresses are reachable from here. */
  readonly local: boolean;
  /** How long to wait for another run's lock (ms). */
  readonly lockWaitMs?: number;
  /** The program the managed watcher container runs (the CLI gives its own bundle). */
  readonly watcherProgram?: WatcherProgram;
  emit(event: StackEvent): void;
  /**
   * The Docker client of a host (`hosts:`; the default host without a name), connected on first
   * use (so verbs that need none never load it).
   */
  docker(host?: string): Promise<DockerClient>;
  /** GPUs of this machine (nvidia-smi), asked once; `unavailable` without a driver or remote. */
  localGpus(): Promise<GpuInfo[] | 'unavailable'>;
  /**
   * Read the stack's identity from Docker and, when it has one, take its key and home directory
   * for the config, so that every user plans the same. Once per stack; `openStack` runs it
   * before every verb that touches Docker, so no verb sees the config change under it.
   */
  resolve(): Promise<void>;
  /** The stack's identity, made now with this run's key and home when it has none (`up`). */
  ensureIdentity(): Promise<StackIdentity>;
  /**
   * Load the config again from its files, with the stack's key and home (a long-running
   * watcher, told that `up` changed it). Returns whether anything changed; a config given as an
   * object (no files) never does. Bad input throws and the config stays as it was.
   */
  reloadConfig(): Promise<boolean>;
  /**
   * What this run has told the gateway and Prometheus so far: containers taken out of traffic
   * (about to stop) and containers seen ready. Every sync of the run builds on it, one at a time,
   * so that two replacements never undo each other's routes.
   */
  readonly routing: { excludedIds: Set<string>; readyIds: Set<string>; last: Promise<unknown> };
  /**
   * The hosts this call found unreachable (or failing), by name: reported once, and not asked
   * again within the call (see hosts.ts).
   */
  readonly hostFailures: Map<string, HostFailure>;
  /**
   * The addresses of this call's hosts that were names, resolved once (see hosts.ts): by host
   * name. {@link config} shows them resolved, so everything that publishes on or connects to a
   * host's address uses the IP address.
   */
  readonly hostAddresses: Map<string, PublishAddress>;
}

/**
 * One infrastructure service of a stack, declared once and read by every verb: `up` starts the
 * wanted ones in dependency order, `down --all` removes the configured ones, `status` lists
 * them with their URL, `exportCompose` writes them into the compose file.
 */
export interface ServiceDefinition {
  /** Stable name, e.g. `gateway`, `prometheus`. */
  readonly id: string;
  /** Whether this config runs it at all. */
  configured(config: StackConfig): boolean;
  /**
   * Whether `up` starts it now, for services that depend on the host (the DCGM exporter runs
   * only where there are GPUs). @default configured
   */
  wanted?(ctx: StackContext): Promise<boolean>;
  /** Its container name. */
  containerName(config: StackConfig): string;
  /** Services that must be up first (and ready, where they say how): when one fails, this one is not started. */
  readonly dependsOn?: readonly string[];
  /** Services started before this one when both run, without depending on them. */
  readonly after?: readonly string[];
  /**
   * The files it mounts (a config, provisioning), as they should be; reads, never writes. `up`
   * writes those that differ before the container is made or kept, and `plan` shows them (and
   * the reload they cause) without writing.
   */
  files?(ctx: StackContext): Promise<ServiceFile[]>;
  /**
   * Other work before its container is made or kept, after its {@link files} are written (a
   * directory it mounts). `changed`: a running container must reload (see {@link reload}).
   * `plan` cannot see what it does: give files through {@link files}.
   */
  prepare?(ctx: StackContext): Promise<{ changed: boolean }>;
  /** Its container: image, command, environment (secrets apart), mounts, ports. */
  spec(ctx: StackContext): ServiceSpec | Promise<ServiceSpec>;
  /** Its container as the compose and Kubernetes exports write it, when not {@link spec}. */
  exportSpec?(ctx: StackContext): ServiceSpec | Promise<ServiceSpec>;
  /** Wait until it serves, after it was created, recreated or started. */
  ready?(ctx: StackContext): Promise<void>;
  /** Make a kept container read the files that changed ({@link files}, {@link prepare}). */
  reload?(ctx: StackContext): Promise<void>;
  /** Where a user reaches it from this machine, if anywhere. */
  url?(config: StackConfig): string | undefined;
  /** Whether a missing container is normal for this config (it runs only where the host has GPUs). */
  absentIsNormal?(config: StackConfig): boolean;
  /**
   * Also run on every other Docker host (`hosts:`) that has an address: the exporters, which
   * Prometheus scrapes on each host (see services/host-services.ts).
   */
  onOtherHosts?: OtherHostService;
}

/** How a service runs on the other Docker hosts of a stack. */
export interface OtherHostService {
  /** The port Prometheus scrapes: published on the host's address, on a port Docker picks. */
  readonly port: number;
  /** Its container there. */
  spec(config: StackConfig, host: HostSpec & { address: string }): ServiceSpec;
  /** Whether it runs on this host, given the host's GPUs (`unavailable`: unknown). @default configured */
  wanted?(config: StackConfig, gpus: GpuInfo[] | 'unavailable'): boolean;
}
