import type { StackConfig } from '@inferstack/config';
import { connectDocker, detectGpusLocally, isLocalDaemon, type DockerClient, type GpuInfo } from '@inferstack/docker-ops';
import type { StackEvent, StackEventHandler } from './events.js';
import type { ServiceDefinition } from './services/registry.js';

/** Where the Grafana files that the stack mounts live. */
export interface GrafanaAssets {
  /** Folder of dashboard JSON files. */
  dashboards: string;
  /** Folder with `datasources/` and `dashboards/` provisioning files. */
  provisioning: string;
}

/** Everything a verb needs; made once by `openStack`. @internal */
export interface StackContext {
  readonly config: StackConfig;
  readonly env: NodeJS.ProcessEnv;
  readonly cwd: string;
  /** Key of the keyed digests of secrets in spec hashes. */
  readonly hashKey: string;
  /** Labels added to everything created (a test session, a team). */
  readonly extraLabels: Record<string, string>;
  readonly signal: AbortSignal;
  readonly services: readonly ServiceDefinition[];
  /** Where Grafana's files are, when not those `@inferstack/prometheus-sync` ships. */
  readonly grafanaAssets?: GrafanaAssets;
  /** The daemon runs on this machine: container addresses are reachable from here. */
  readonly local: boolean;
  /** How long to wait for another run's lock (ms). */
  readonly lockWaitMs?: number;
  emit(event: StackEvent): void;
  /** The Docker client, connected on first use (so verbs that need none never load it). */
  docker(): Promise<DockerClient>;
  /** GPUs of this machine (nvidia-smi), asked once; `unavailable` without a driver or remote. */
  localGpus(): Promise<GpuInfo[] | 'unavailable'>;
}

/** @internal */
export function createContext(options: {
  config: StackConfig;
  env: NodeJS.ProcessEnv;
  cwd: string;
  hashKey: string;
  extraLabels: Record<string, string>;
  signal: AbortSignal;
  services: readonly ServiceDefinition[];
  grafanaAssets?: GrafanaAssets;
  docker?: DockerClient;
  lockWaitMs?: number;
  onEvent?: StackEventHandler;
}): StackContext {
  let client: Promise<DockerClient> | undefined = options.docker ? Promise.resolve(options.docker) : undefined;
  let gpus: Promise<GpuInfo[] | 'unavailable'> | undefined;
  const local = options.docker ? isLocalClient(options.docker) : isLocalDaemon({ env: options.env });
  const listeners = options.onEvent ? [options.onEvent] : [];
  return {
    config: options.config,
    env: options.env,
    cwd: options.cwd,
    hashKey: options.hashKey,
    extraLabels: options.extraLabels,
    signal: options.signal,
    services: options.services,
    ...(options.grafanaAssets ? { grafanaAssets: options.grafanaAssets } : {}),
    local,
    lockWaitMs: options.lockWaitMs,
    emit(event) {
      for (const listener of listeners) listener(event);
    },
    docker() {
      client ??= connectDocker({ env: options.env });
      // A failed connection is not remembered: the next call tries again.
      client.catch(() => {
        client = undefined;
      });
      return client;
    },
    localGpus() {
      gpus ??= local ? detectGpusLocally() : Promise.resolve('unavailable' as const);
      return gpus;
    },
  };
}

/**
 * The context of one call: its own event handler and abort signal on top of the stack's.
 * @internal
 */
export function forCall(ctx: StackContext, options: { onEvent?: StackEventHandler; signal?: AbortSignal } = {}): StackContext {
  if (!options.onEvent && !options.signal) return ctx;
  const signal = options.signal ? AbortSignal.any([ctx.signal, options.signal]) : ctx.signal;
  return {
    ...ctx,
    signal,
    emit(event) {
      ctx.emit(event);
      options.onEvent?.(event);
    },
  };
}

/** Whether an injected client talks to a daemon on this machine (a socket, or loopback TCP). */
function isLocalClient(docker: DockerClient): boolean {
  const modem = (docker as unknown as { modem?: { socketPath?: string; host?: string } }).modem;
  if (modem?.socketPath) return true;
  return modem?.host === undefined || /^(127\.0\.0\.1|localhost|::1)$/.test(modem.host);
}
